"""SimNetwork: determinism, fault rates, partition shapes."""
from __future__ import annotations

from rmqlite.dledger.messages import HeartbeatResponse
from rmqlite.sim.network import SimNetwork

IDS5 = ("n0", "n1", "n2", "n3", "n4")


def deliveries(seed: int) -> list:
    net = SimNetwork(seed, IDS5)
    net.set_faults(drop=0.2, dup=0.2, spike=0.3)
    for k in range(200):
        net.send(HeartbeatResponse(k, IDS5[k % 5], IDS5[(k + 1) % 5]), now=k)
    out = []
    while net.next_time() is not None:
        out.append(net.pop())
    return out


def test_deterministic_and_faulty() -> None:
    a, b = deliveries(5), deliveries(5)
    assert a == b and a != deliveries(6)
    terms = [m.term for _, m in a if m is not None]
    assert len(terms) != len(set(terms))  # duplicates
    assert len(set(terms)) < 200  # drops
    assert terms != sorted(terms)  # reordering


def reach(net: SimNetwork, a: str) -> set[str]:
    return {b for b in net.nodes if b != a and (a, b) not in net.blocked}


def test_partition_shapes() -> None:
    net = SimNetwork(1, IDS5)
    groups = net.partition("halves")
    assert sorted(map(len, groups)) == [2, 3]
    net.heal()
    (alone,), _ = net.partition("isolate")
    assert reach(net, alone) == set()
    net.heal()
    net.partition("ring")
    assert all(len(reach(net, a)) == 2 for a in IDS5)  # each sees a different majority of 3
    assert len({frozenset(reach(net, a) | {a}) for a in IDS5}) == 5
    net.heal()
    left, (bridge,), right = net.partition("bridge")
    assert reach(net, bridge) == set(IDS5) - {bridge}
    assert all(reach(net, a) == set(left) - {a} | {bridge} for a in left)


def test_asymmetric_cut_blocks_one_direction() -> None:
    net = SimNetwork(3, IDS5)
    net.partition("halves", asymmetric=True)
    assert net.blocked and all((b, a) not in net.blocked for a, b in net.blocked)
