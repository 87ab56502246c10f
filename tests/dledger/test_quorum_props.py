"""quorum.py against deliberately naive versions (etcd quorum/quick_test.go style)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rmqlite.dledger.quorum import VoteResult, committed_index, has_quorum, quorum_size, vote_result

voter_sets = st.integers(1, 9).map(lambda n: tuple(f"n{i}" for i in range(n)))


def naive_committed(voters: tuple[str, ...], match: dict[str, int]) -> int:
    best = 0
    for cand in {0, *match.values()}:
        if sum(1 for v in voters if match.get(v, 0) >= cand) > len(voters) / 2:
            best = max(best, cand)
    return best


def naive_vote(voters: tuple[str, ...], votes: dict[str, bool]) -> VoteResult:
    yes = sum(1 for v in voters if votes.get(v) is True)
    missing = sum(1 for v in voters if v not in votes)
    if yes * 2 > len(voters):
        return VoteResult.WON
    if (yes + missing) * 2 <= len(voters):
        return VoteResult.LOST
    return VoteResult.PENDING


@given(voter_sets.flatmap(lambda vs: st.tuples(
    st.just(vs), st.dictionaries(st.sampled_from(vs + ("stranger",)), st.integers(0, 50)))))
def test_committed_index_matches_naive(case: tuple) -> None:
    voters, match = case
    assert committed_index(voters, match) == naive_committed(voters, match)


@given(voter_sets.flatmap(lambda vs: st.tuples(
    st.just(vs), st.dictionaries(st.sampled_from(vs + ("stranger",)), st.booleans()))))
def test_vote_result_matches_naive(case: tuple) -> None:
    voters, votes = case
    assert vote_result(voters, votes) is naive_vote(voters, votes)


@given(voter_sets, st.data())
def test_has_quorum_and_quorum_intersection(voters: tuple[str, ...], data: st.DataObject) -> None:
    a = data.draw(st.sets(st.sampled_from(voters)))
    b = data.draw(st.sets(st.sampled_from(voters)))
    assert has_quorum(voters, a) == (len(a) >= quorum_size(len(voters)))
    if has_quorum(voters, a) and has_quorum(voters, b):
        assert a & b  # any two quorums intersect


def test_quorum_sizes() -> None:
    assert [quorum_size(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]
