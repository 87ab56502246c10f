"""Beyond the paper: pre-vote, check-quorum, lease, leadership transfer, preferred leader, pipelining,
batching, flow control, restart catch-up, and the Ready contract."""
from __future__ import annotations

import random

import pytest
from raft_harness import Net

from rmqlite.dledger import (
    Accepted,
    AppendRequest,
    AppendResponse,
    Busy,
    Entry,
    Heartbeat,
    MemoryLog,
    RaftConfig,
    RaftNode,
    Role,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from rmqlite.dledger.log import HardState


def run_until_leader(net: Net, limit: int = 300) -> str:
    for _ in range(limit):
        if len(net.leaders()) == 1:
            return net.leader()
        net.tick()
    raise AssertionError("no leader")


# pre-vote --------------------------------------------------------------------------------------------
def test_prevote_partitioned_node_does_not_inflate_its_term() -> None:
    net = Net(3)
    net.elect("n0")
    net.isolate("n2")
    net.tick(n=100)
    n2 = net.node("n2")
    assert n2.term == 1 and n2.role is Role.PRE_CANDIDATE


def test_prevote_returning_node_does_not_depose_healthy_leader() -> None:
    net = Net(3)
    net.elect("n0")
    net.isolate("n2")
    net.tick(n=60)
    net.heal()
    net.tick(n=60)
    assert net.leaders() == ["n0"] and net.node("n0").term == 1
    assert net.node("n2").leader == "n0" and net.node("n2").role is Role.FOLLOWER


def test_without_prevote_returning_node_does_depose_the_leader() -> None:
    net = Net(3, pre_vote=False, check_quorum=False)
    net.elect("n0")
    net.isolate("n2")
    net.tick(n=60)
    assert net.node("n2").term > 5
    net.heal()
    net.tick(n=60)
    assert net.node(run_until_leader(net)).term > 5  # the disruption pre-vote prevents


def test_prevote_does_not_change_voters_term_or_vote() -> None:
    conf = RaftConfig(node_id="n0", voters=("n0", "n1", "n2"))
    n = RaftNode(conf, MemoryLog(), random.Random(1))
    n.step(VoteRequest(5, "n1", "n0", 0, 0, pre_vote=True))
    rd = n.ready()
    assert rd.messages == (VoteResponse(5, "n0", "n1", True, True),)
    assert (n.term, n.vote) == (0, None) and rd.hard_state is None


def test_prevote_tie_break_between_simultaneous_pre_candidates() -> None:
    net = Net(3)
    net.elect("n2")
    net.crash("n2")
    for i in ("n0", "n1"):  # both time out at the same moment
        net.node(i).campaign()
    for i in ("n0", "n1"):
        net.drive(i)
    net.stabilize()
    assert net.leaders() == ["n0"] and net.node("n0").term == 2  # no split vote, no extra term


# check-quorum and lease ------------------------------------------------------------------------------
def test_check_quorum_isolated_leader_steps_down_within_an_election_timeout() -> None:
    net = Net(3, election_tick=6, heartbeat_tick=2)
    net.elect("n0")
    net.isolate("n0")
    n0 = net.node("n0")
    for k in range(1, 2 * 6 + 1):
        net.tick("n0")
        if n0.role is not Role.LEADER:
            break
    assert n0.role is Role.FOLLOWER and k <= 2 * 6  # the check runs every election timeout
    assert n0.propose(b"x").leader is None


def test_check_quorum_leader_with_quorum_stays() -> None:
    net = Net(3)
    net.elect("n0")
    net.crash("n2")
    net.tick(n=100)
    assert net.leaders() == ["n0"] and net.node("n0").term == 1


def test_lease_follower_ignores_higher_term_vote_while_leader_is_alive() -> None:
    net = Net(3, pre_vote=False)
    net.elect("n0")
    n1 = net.node("n1")
    n1.step(VoteRequest(9, "n2", "n1", 100, 9))
    assert n1.term == 1 and not n1.has_ready()


def test_stale_leader_learns_new_term_from_append_reply() -> None:
    net = Net(3)
    net.elect("n0")
    net.isolate("n0")
    net.tick("n1", 30, settle=False)
    net.tick(n=30)
    new = [i for i in net.leaders() if i != "n0"]
    assert new, "majority side elected a leader"
    net.heal()
    net.tick(n=10)
    assert net.leaders() == new and net.node("n0").leader == new[0]


# leadership transfer ---------------------------------------------------------------------------------
def test_transfer_to_caught_up_follower() -> None:
    net = Net(3)
    net.elect("n0")
    net.propose("n0", b"a")
    net.stabilize()
    net.sent.clear()
    assert net.node("n0").transfer_leadership("n2")
    net.drive("n0")
    net.stabilize()
    assert [m for m in net.sent if isinstance(m, TimeoutNow)]
    assert net.leaders() == ["n2"] and net.data("n2") == [b"a"]


def test_transfer_waits_for_lagging_target_and_refuses_proposals_meanwhile() -> None:
    net = Net(3)
    net.elect("n0")
    net.cut("n0", "n2")
    net.propose("n0", b"a", b"b")
    net.stabilize()
    assert net.node("n0").transfer_leadership("n2")
    assert net.node("n0").propose(b"c") == Busy("LEADER_TRANSFERRING", "n0")
    net.heal()
    net.tick(n=3)
    assert net.leaders() == ["n2"] and net.data("n2") == [b"a", b"b"]


def test_transfer_is_abandoned_after_an_election_timeout() -> None:
    net = Net(3, election_tick=6)
    net.elect("n0")
    net.crash("n2")
    net.node("n0").transfer_leadership("n2")
    net.tick(n=6)
    assert net.leaders() == ["n0"] and isinstance(net.propose("n0", b"x"), Accepted)


def test_transfer_rejects_bad_targets() -> None:
    net = Net(3)
    net.elect("n0")
    n0 = net.node("n0")
    assert not n0.transfer_leadership("n0") and not n0.transfer_leadership("zz")
    assert not net.node("n1").transfer_leadership("n2")


# preferred leader ------------------------------------------------------------------------------------
def test_preferred_leader_takes_over_once_caught_up() -> None:
    net = Net(3, preferred_leader="n2")
    net.cut("n0", "n2")
    net.elect("n0")
    net.propose("n0", b"a")
    net.tick(n=10)
    assert net.leaders() == ["n0"]  # n2 cannot catch up: no transfer
    net.heal()
    net.tick(n=10)
    assert net.leaders() == ["n2"] and net.data("n2") == [b"a"]


def test_preferred_leader_set_at_runtime_and_cleared() -> None:
    net = Net(3)
    net.elect("n0")
    for i in net.ids:
        net.node(i).set_preferred_leader("n1")
    net.tick(n=4)
    assert net.leaders() == ["n1"]
    with pytest.raises(ValueError):
        net.node("n1").set_preferred_leader("zz")


def test_dead_preferred_leader_does_not_block_the_group() -> None:
    net = Net(3, preferred_leader="n2")
    net.crash("n2")
    net.elect("n0")
    net.tick(n=50)
    assert net.leaders() == ["n0"] and isinstance(net.propose("n0", b"x"), Accepted)


# replication: pipelining, batching, flow control -----------------------------------------------------
def test_pipelining_keeps_up_to_window_appends_in_flight() -> None:
    net = Net(3, max_inflight=3, max_batch_entries=1)
    net.elect("n0")
    net.tick(n=2)
    net.sent.clear()
    net.propose("n0", *[b"x%d" % i for i in range(10)])
    to_n1 = [m for m in net.sent if isinstance(m, AppendRequest) and m.dst == "n1"]
    assert len(to_n1) == 3 and [m.entries[0].index for m in to_n1] == [2, 3, 4]  # window, not one
    net.stabilize()
    assert net.data("n1") == [b"x%d" % i for i in range(10)]


def test_batching_many_entries_per_message() -> None:
    net = Net(3, max_batch_entries=64)
    net.elect("n0")
    net.tick(n=2)
    net.sent.clear()
    for i in range(50):
        net.node("n0").propose(b"m%d" % i)  # proposals between two Ready calls share one message
    net.drive("n0")
    to_n1 = [m for m in net.sent if isinstance(m, AppendRequest) and m.dst == "n1"]
    assert len(to_n1) == 1 and len(to_n1[0].entries) == 50


def test_batch_size_limits() -> None:
    net = Net(3, max_batch_entries=4, max_batch_bytes=10, max_inflight=100)
    net.elect("n0")
    net.tick(n=2)
    net.sent.clear()
    net.propose("n0", *[b"12345"] * 8, b"x" * 50)
    sizes = [len(m.entries) for m in net.sent if isinstance(m, AppendRequest) and m.dst == "n1"]
    assert sizes == [2, 2, 2, 2, 1]  # 10 bytes per message, and an oversize entry still goes alone


def test_pending_full() -> None:
    net = Net(3, max_uncommitted=5)
    net.elect("n0")
    net.isolate("n0")
    assert isinstance(net.propose("n0", *[b"a"] * 5), Accepted)  # 5 uncommitted
    assert net.propose("n0", b"b") == Busy("LEADER_PENDING_FULL", "n0")


def test_lost_appends_are_detected_and_resent() -> None:
    net = Net(3, max_inflight=8)
    net.elect("n0")
    net.tick(n=2)
    net.drop = lambda m: isinstance(m, AppendRequest) and m.dst == "n1"
    net.propose("n0", b"a", b"b")
    net.stabilize()
    net.drop = None
    net.tick(n=4)
    assert net.data("n1") == [b"a", b"b"]


# lifecycle -------------------------------------------------------------------------------------------
def test_single_node_group_commits_alone() -> None:
    net = Net(1)
    net.campaign("n0")
    assert net.leaders() == ["n0"]
    net.propose("n0", b"solo")
    assert net.data("n0") == [b"solo"]


def test_new_leader_appends_noop_and_becomes_ready_when_it_commits() -> None:
    net = Net(3)
    n0 = net.node("n0")
    n0.campaign()
    net.drive("n0")
    net.stabilize()
    assert n0.leader_ready and net.applied["n0"][0].data == b""


def test_restarted_follower_catches_up_from_durable_log() -> None:
    net = Net(3)
    net.elect("n0")
    net.propose("n0", b"a")
    net.stabilize()
    net.crash("n2")
    for i in range(20):
        net.propose("n0", b"b%d" % i)
    net.stabilize()
    n2 = net.restart("n2")
    assert n2.last_index == 2  # its own durable log: no-op + a
    net.tick(n=4)
    assert net.data("n2") == [b"a"] + [b"b%d" % i for i in range(20)]


def test_restarted_leader_group_keeps_committed_entries() -> None:
    net = Net(3)
    net.elect("n0")
    net.propose("n0", b"a", b"b")
    net.stabilize()
    for i in net.ids:
        net.crash(i)
    for i in net.ids:
        net.restart(i, salt=int(i[1:]))
    ld = run_until_leader(net)
    net.stabilize()
    assert net.data(ld)[:2] == [b"a", b"b"]


def test_empty_proposals_are_reserved_for_noops() -> None:
    net = Net(3)
    net.elect("n0")
    with pytest.raises(ValueError):
        net.node("n0").propose(b"")


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        RaftConfig(node_id="x", voters=("n0",))
    with pytest.raises(ValueError):
        RaftConfig(node_id="n0", voters=("n0",), election_tick=2, heartbeat_tick=2)
    with pytest.raises(ValueError):
        RaftConfig(node_id="n0", voters=("n0",), preferred_leader="n9")


def test_messages_for_other_nodes_or_strangers_are_ignored() -> None:
    conf = RaftConfig(node_id="n0", voters=("n0", "n1", "n2"))
    n = RaftNode(conf, MemoryLog(), random.Random(1))
    n.step(Heartbeat(3, "n1", "n9", 0))
    n.step(Heartbeat(3, "zz", "n0", 0))
    assert n.term == 0 and not n.has_ready()


# bad input from peers / restart edge cases -------------------------------------------------------------
@pytest.mark.parametrize("entries", [
    (Entry(3, 1, b"gap"),),                     # does not follow prev_index
    (Entry(1, 5, b"future"),),                  # entry term above the message term
    (Entry(1, 1, b"a"), Entry(3, 1, b"c")),     # not consecutive
])
def test_malformed_appends_are_dropped(entries: tuple) -> None:
    conf = RaftConfig(node_id="n0", voters=("n0", "n1", "n2"))
    n = RaftNode(conf, MemoryLog(), random.Random(1))
    n.step(AppendRequest(1, "n1", "n0", 0, 0, entries, 0))
    rd = n.ready()
    assert rd.entries == () and rd.messages == ()


def test_ack_beyond_leader_log_is_ignored() -> None:
    net = Net(3)
    net.elect("n0")
    n0 = net.node("n0")
    n0.step(AppendResponse(n0.term, "n1", "n0", 999))
    assert n0.progress["n1"].match <= n0.last_index and n0.commit_index <= n0.last_index


def test_restart_trusts_applied_index_over_stale_hard_state_commit() -> None:
    log = MemoryLog([Entry(1, 1, b""), Entry(2, 1, b"a"), Entry(3, 1, b"b")], HardState(1, "n0", 1))
    conf = RaftConfig(node_id="n0", voters=("n0", "n1", "n2"), applied=3)
    n = RaftNode(conf, log, random.Random(1))
    assert n.commit_index == 3 and not n.ready().committed


def test_empty_batch_is_an_error() -> None:
    net = Net(3)
    net.elect("n0")
    with pytest.raises(ValueError):
        net.node("n0").propose_batch([])
