"""rmqlite.dledger: DLedger-compatible Raft replication.

Pure core (no I/O, no clock, no global randomness): ``RaftNode`` driven through the Ready/advance contract
(``process_ready``), storage behind the ``RaftLog`` protocol (``MemoryLog`` in memory), DLedger 0.2.6
entry codec in ``rmqlite.dledger.entry``. See docs/dledger-raft.md.
"""
from rmqlite.dledger.config import Accepted, Busy, NotLeader, ProposeResult, RaftConfig, Role, SoftState
from rmqlite.dledger.log import HardState, MemoryLog, RaftLog
from rmqlite.dledger.messages import (
    AppendRequest,
    AppendResponse,
    Entry,
    Heartbeat,
    HeartbeatResponse,
    Index,
    Message,
    NodeId,
    Term,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from rmqlite.dledger.node import RaftNode
from rmqlite.dledger.ready import Ready, process_ready

__all__ = [
    "Accepted", "Busy", "NotLeader", "ProposeResult", "RaftConfig", "Role", "SoftState",
    "HardState", "MemoryLog", "RaftLog",
    "AppendRequest", "AppendResponse", "Entry", "Heartbeat", "HeartbeatResponse", "Index", "Message",
    "NodeId", "Term", "TimeoutNow", "VoteRequest", "VoteResponse",
    "RaftNode", "Ready", "process_ready",
]
