"""One test per claim of the Raft paper (Ongaro & Ousterhout 2014), each: init, act, check.

Pre-vote is disabled where a claim is about the plain protocol (§5.2 candidate behaviour).
"""
from __future__ import annotations

import random

import pytest
from raft_harness import Net

from rmqlite.dledger import (
    AppendRequest,
    AppendResponse,
    Entry,
    Heartbeat,
    MemoryLog,
    NotLeader,
    RaftConfig,
    RaftNode,
    Role,
    VoteRequest,
    VoteResponse,
    process_ready,
)
from rmqlite.dledger.log import HardState

PLAIN = dict(pre_vote=False, check_quorum=False)


def lone(node_id: str = "n0", voters: tuple[str, ...] = ("n0", "n1", "n2"), log: MemoryLog | None = None,
         **cfg: object) -> RaftNode:
    conf = RaftConfig(node_id=node_id, voters=voters, **{**PLAIN, **cfg})  # type: ignore[arg-type]
    return RaftNode(conf, log or MemoryLog(), random.Random(7))


def drain(n: RaftNode) -> list:
    """Run the node's Ready loop against its own storage; return the messages it sent."""
    out: list = []
    process_ready(n, n.log.storage, out.append, lambda e: None)
    return out


# §5.1 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["follower", "candidate", "leader"])
def test_5_1_higher_term_turns_any_role_into_follower(role: str) -> None:
    net = Net(3, **PLAIN)
    if role == "leader":
        net.elect("n0")
    n0 = net.node("n0")
    if role == "candidate":
        net.isolate("n0")
        n0.campaign()
        assert n0.role is Role.CANDIDATE
    t = n0.term
    n0.step(Heartbeat(t + 5, "n1", "n0", 0))
    assert (n0.role, n0.term, n0.leader) == (Role.FOLLOWER, t + 5, "n1")


def test_5_1_stale_term_message_is_rejected_and_told_our_term() -> None:
    n = lone()
    n.step(Heartbeat(3, "n1", "n0", 0))
    drain(n)
    n.step(AppendRequest(2, "n2", "n0", 0, 0, (Entry(1, 2, b"x"),), 0))
    out = drain(n)
    assert n.log.last_index() == 0 and n.term == 3
    assert out == [AppendResponse(3, "n0", "n2", 0, reject=True)]


# §5.2 ------------------------------------------------------------------------------------------------
def test_5_2_nodes_start_as_followers() -> None:
    n = lone()
    assert (n.role, n.term, n.leader) == (Role.FOLLOWER, 0, None)


def test_5_2_leader_sends_heartbeats_every_heartbeat_interval() -> None:
    net = Net(3, election_tick=10, heartbeat_tick=3, **PLAIN)
    net.elect("n0")
    net.sent.clear()
    net.tick("n0", 2)
    assert not [m for m in net.sent if isinstance(m, Heartbeat)]
    net.tick("n0", 1)
    hbs = [m for m in net.sent if isinstance(m, Heartbeat)]
    assert sorted(m.dst for m in hbs) == ["n1", "n2"]


def test_5_2_follower_times_out_and_becomes_candidate() -> None:
    n = lone(election_tick=5)
    for _ in range(2 * 5):
        n.tick()
    assert n.role is Role.CANDIDATE and n.term == 1 and n.vote == "n0"
    votes = [m for m in drain(n) if isinstance(m, VoteRequest)]
    assert sorted(m.dst for m in votes) == ["n1", "n2"] and all(m.term == 1 for m in votes)


def test_5_2_election_timeouts_are_randomized_in_range() -> None:
    seen = set()
    for seed in range(50):
        conf = RaftConfig(node_id="n0", voters=("n0", "n1", "n2"), election_tick=10, heartbeat_tick=2)
        n = RaftNode(conf, MemoryLog(), random.Random(seed))
        assert 10 <= n.randomized_timeout < 20
        seen.add(n.randomized_timeout)
    assert len(seen) > 5


@pytest.mark.parametrize("votes,expect", [
    ({"n1": True}, Role.LEADER),
    ({"n1": False, "n2": False}, Role.FOLLOWER),
    ({"n1": False}, Role.CANDIDATE),
])
def test_5_2_candidate_wins_with_a_majority_only(votes: dict, expect: Role) -> None:
    n = lone()
    n.campaign()
    drain(n)
    for src, granted in votes.items():
        n.step(VoteResponse(1, src, "n0", granted))
    assert n.role is expect


def test_5_2_one_vote_per_term_first_come_first_served() -> None:
    n = lone()
    n.step(VoteRequest(1, "n1", "n0", 0, 0))
    n.step(VoteRequest(1, "n2", "n0", 0, 0))
    n.step(VoteRequest(1, "n1", "n0", 0, 0))  # a retry of the one we voted for is granted again
    out = [m for m in drain(n) if isinstance(m, VoteResponse)]
    assert [(m.dst, m.granted) for m in out] == [("n1", True), ("n2", False), ("n1", True)]


def test_5_2_candidate_steps_down_for_leader_of_same_term() -> None:
    n = lone()
    n.campaign()
    n.step(Heartbeat(1, "n2", "n0", 0))
    assert (n.role, n.term, n.leader) == (Role.FOLLOWER, 1, "n2")


def test_5_2_split_vote_is_resolved_by_a_new_election() -> None:
    net = Net(3, **PLAIN)
    for i in net.ids:
        net.node(i).campaign()  # everyone votes for itself: nobody can win term 1
    net.stabilize()
    assert not net.leaders()
    for _ in range(100):
        net.tick()
        if net.leaders():
            break
    assert len(net.leaders()) == 1 and net.node(net.leader()).term >= 2


# §5.3 ------------------------------------------------------------------------------------------------
def test_5_3_leader_appends_and_replicates_proposals() -> None:
    net = Net(3, **PLAIN)
    net.elect()
    net.sent.clear()
    res = net.propose("n0", b"a")
    apps = [m for m in net.sent if isinstance(m, AppendRequest)]
    assert {m.dst for m in apps} == {"n1", "n2"}
    assert all(m.entries == (Entry(res.first_index, 1, b"a"),) for m in apps)


def test_5_3_entry_commits_once_on_a_majority_and_is_applied_in_order() -> None:
    net = Net(3, **PLAIN)
    net.elect()
    net.crash("n2")
    net.propose("n0", b"a", b"b")
    net.stabilize()
    assert net.data("n0") == [b"a", b"b"]  # n0 + n1 are a majority
    net.isolate("n0")
    net.propose("n0", b"c")
    net.stabilize()
    assert net.data("n0") == [b"a", b"b"]  # no majority: not committed
    assert net.node("n0").log.last_index() == 4


def test_5_3_follower_rejects_append_whose_prev_does_not_match() -> None:
    n = lone(log=MemoryLog([Entry(1, 1, b"a")], HardState(2)))
    n.step(AppendRequest(2, "n1", "n0", 1, 2, (Entry(2, 2, b"b"),), 0))
    (resp,) = drain(n)
    assert resp.reject and resp.index == 1 and (resp.hint_index, resp.hint_term) == (1, 1)
    assert n.log.last_index() == 1


def test_5_3_follower_truncates_divergent_uncommitted_suffix() -> None:
    n = lone(log=MemoryLog([Entry(1, 1, b"a"), Entry(2, 1, b"x"), Entry(3, 1, b"y")], HardState(2)))
    n.step(AppendRequest(2, "n1", "n0", 1, 1, (Entry(2, 2, b"b"),), 2))
    (resp,) = drain(n)
    assert not resp.reject and resp.index == 2
    assert [e.data for e in n.log.storage.entries(1, 3)] == [b"a", b"b"] and n.log.last_index() == 2
    assert n.commit_index == 2


def test_5_3_follower_ignores_entries_it_already_has() -> None:
    log = MemoryLog([Entry(1, 1, b"a"), Entry(2, 1, b"b"), Entry(3, 1, b"c")], HardState(1))
    n = lone(log=log)
    writes = log.writes
    n.step(AppendRequest(1, "n1", "n0", 0, 0, (Entry(1, 1, b"a"),), 0))  # stale, shorter duplicate
    drain(n)
    assert n.log.last_index() == 3 and log.writes == writes  # nothing truncated, nothing rewritten


def test_5_3_leader_brings_divergent_follower_in_line_with_fast_backtracking() -> None:
    net = Net(3, **PLAIN)
    # n2 holds a long divergent tail of term 1 that never committed
    net.logs["n2"].append([Entry(i, 1, b"old%d" % i) for i in range(1, 51)])
    net.logs["n2"].set_hard_state(HardState(1))
    net.logs["n0"].append([Entry(1, 1, b"old1")])
    net.logs["n0"].set_hard_state(HardState(1))
    net.logs["n1"].append([Entry(1, 1, b"old1")])
    net.logs["n1"].set_hard_state(HardState(1))
    for i in net.ids:
        net.restart(i, salt=int(i[1:]))
    net.cut("n0", "n2")
    net.elect("n0")  # n1 votes: n0's log is as long as n1's
    net.propose("n0", b"new")
    net.stabilize()
    net.heal()
    net.sent.clear()
    net.tick("n0", 2)  # heartbeat -> probe
    rejects = [m for m in net.sent if isinstance(m, AppendResponse) and m.src == "n2" and m.reject]
    assert len(rejects) <= 2  # one hint jumps over the whole divergent term
    assert [e.data for e in net.logs["n2"].all_entries()] == [b"old1", b"", b"new"]


# §5.4 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("last_index,last_term,granted", [
    (2, 1, True), (3, 1, True), (1, 1, False), (1, 2, True), (5, 0, False),
])
def test_5_4_1_vote_only_for_logs_at_least_as_up_to_date(last_index: int, last_term: int,
                                                         granted: bool) -> None:
    n = lone(log=MemoryLog([Entry(1, 1, b"a"), Entry(2, 1, b"b")], HardState(1)))
    n.step(VoteRequest(2, "n1", "n0", last_index, last_term))
    (resp,) = drain(n)
    assert resp.granted is granted


def test_5_4_2_leader_commits_older_term_entries_only_via_a_current_term_entry() -> None:
    """Figure 8: an entry of an older term on a majority is not committed by counting replicas."""
    n = lone(log=MemoryLog([Entry(1, 1, b"a"), Entry(2, 2, b"old")], HardState(3)))
    n.campaign()
    drain(n)
    n.step(VoteResponse(4, "n1", "n0", True))
    assert n.role is Role.LEADER and n.term == 4
    drain(n)
    n.step(AppendResponse(4, "n1", "n0", 2))  # n1 holds index 2 (term 2) but not our no-op yet
    drain(n)
    assert n.commit_index == 0
    n.step(AppendResponse(4, "n1", "n0", 3))  # our no-op (term 4) reaches a majority
    drain(n)
    assert n.commit_index == 3 and n.leader_ready


def test_5_4_leader_completeness_new_leader_has_all_committed_entries() -> None:
    net = Net(5, **PLAIN)
    net.elect("n0")
    net.propose("n0", b"a", b"b")
    net.stabilize()
    net.crash("n0")
    for _ in range(200):
        net.tick()
        if net.leaders():
            break
    ld = net.leader()
    assert net.data(ld) == [b"a", b"b"]


# §5.6 / durability ------------------------------------------------------------------------------------
def test_vote_and_term_are_in_the_ready_before_the_vote_message() -> None:
    n = lone()
    n.step(VoteRequest(1, "n1", "n0", 0, 0))
    rd = n.ready()
    assert rd.hard_state == HardState(1, "n1", 0) and rd.must_sync
    assert rd.messages == (VoteResponse(1, "n0", "n1", True),)


def test_durable_vote_survives_restart_no_second_vote_in_same_term() -> None:
    log = MemoryLog()
    n = lone(log=log)
    n.step(VoteRequest(1, "n1", "n0", 0, 0))
    drain(n)
    n2 = lone(log=log)  # restart from the same durable log
    assert (n2.term, n2.vote) == (1, "n1")
    n2.step(VoteRequest(1, "n2", "n0", 5, 1))
    (resp,) = drain(n2)
    assert not resp.granted


def test_follower_acks_only_what_it_persisted() -> None:
    n = lone()
    n.step(AppendRequest(1, "n1", "n0", 0, 0, (Entry(1, 1, b"a"),), 0))
    rd = n.ready()
    assert rd.entries == (Entry(1, 1, b"a"),) and rd.messages == (AppendResponse(1, "n0", "n1", 1),)


def test_proposal_to_follower_names_the_leader() -> None:
    net = Net(3, **PLAIN)
    net.elect("n1")
    assert net.node("n2").propose(b"x") == NotLeader("n1")
    assert lone().propose(b"x") == NotLeader(None)
