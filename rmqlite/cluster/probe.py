"""What the nameservers say: readiness, masters and topic routes, asked of every nameserver.

How it works:
1. ``ClusterView`` is one nameserver's GET_BROKER_CLUSTER_INFO answer: brokerName -> {brokerId:
   address}. A nameserver that does not answer gives ``None``.
2. Ready (rule of ``python -m rmqlite cluster``): every group has a master (brokerId 0) in the
   view of every nameserver. ``missing()`` says what is still lacking, for error messages.
3. A topic is routable when GET_ROUTEINFO_BY_TOPIC on every nameserver lists queues on every
   group asked for and a master for each (so no client sees "No route info of this topic").
4. Waiting is polling with a short pause, bounded by a deadline; requests go straight to the
   nodes' own addresses (never through fault-injection proxies).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import RemotingClient, RemotingError

__all__ = ["ClusterView", "Prober", "poll_until"]

POLL_S = 0.02


@dataclass(slots=True)
class ClusterView:
    """One nameserver's idea of the cluster."""

    brokers: dict[str, dict[int, str]] = field(default_factory=dict)   # brokerName -> {id: addr}
    clusters: dict[str, list[str]] = field(default_factory=dict)       # cluster -> brokerNames

    @classmethod
    def parse(cls, body: bytes | None) -> ClusterView:
        data = fastjson.loads(body or b"{}")
        brokers = {name: {int(k): str(v) for k, v in (entry.get("brokerAddrs") or {}).items()}
                   for name, entry in (data.get("brokerAddrTable") or {}).items()}
        clusters = {name: list(v) for name, v in (data.get("clusterAddrTable") or {}).items()}
        return cls(brokers, clusters)

    def master(self, group: str) -> str | None:
        return self.brokers.get(group, {}).get(0)

    def role_of(self, addr: str) -> tuple[str, int] | None:
        """(brokerName, brokerId) registered at ``addr``."""
        for name, ids in self.brokers.items():
            for bid, a in ids.items():
                if a == addr:
                    return name, bid
        return None


def missing(views: dict[str, ClusterView | None], groups: Iterable[str]) -> list[str]:
    """Why the cluster is not ready yet (empty = ready)."""
    out = []
    for ns, view in views.items():
        if view is None:
            out.append(f"nameserver {ns} does not answer")
            continue
        out += [f"{g} has no master on {ns}" for g in groups if view.master(g) is None]
    return out


async def poll_until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: Callable[[], str]) -> None:
    """Call ``check`` until it is true; ``TimeoutError`` naming ``what()`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s:g}s: {what()}")
        await asyncio.sleep(POLL_S)


class Prober:
    """Asks the nameservers (by their own addresses) about brokers and routes."""

    def __init__(self, namesrvs: list[str], timeout_ms: int = 1000) -> None:
        self.namesrvs = namesrvs
        self.timeout_ms = timeout_ms
        self.client = RemotingClient(name="cluster-probe", connect_timeout_ms=timeout_ms)
        self.last: dict[str, ClusterView | None] = {}

    async def close(self) -> None:
        await self.client.close()

    async def _ask(self, addr: str, code: int, ext: dict[str, str] | None = None) -> RemotingCommand | None:
        try:
            return await self.client.invoke(addr, RemotingCommand.request(code, ext), self.timeout_ms)
        except (RemotingError, OSError):
            return None

    async def view(self, addr: str) -> ClusterView | None:
        resp = await self._ask(addr, RequestCode.GET_BROKER_CLUSTER_INFO)
        if resp is None or resp.code != ResponseCode.SUCCESS:
            return None
        return ClusterView.parse(resp.body)

    async def views(self, addrs: list[str] | None = None) -> dict[str, ClusterView | None]:
        addrs = addrs if addrs is not None else self.namesrvs
        got = await asyncio.gather(*(self.view(a) for a in addrs))
        self.last = dict(zip(addrs, got))
        return self.last

    async def route(self, addr: str, topic: str) -> dict | None:
        resp = await self._ask(addr, RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": topic})
        if resp is None or resp.code != ResponseCode.SUCCESS:
            return None
        return fastjson.loads(resp.body or b"{}")

    async def routable(self, topic: str, groups: Iterable[str], addrs: list[str] | None = None) -> bool:
        """Whether every nameserver routes ``topic`` to a master of every group in ``groups``."""
        wanted = set(groups)
        routes = await asyncio.gather(*(self.route(a, topic) for a in (addrs or self.namesrvs)))
        for route in routes:
            if route is None:
                return False
            queued = {q.get("brokerName") for q in route.get("queueDatas", [])}
            mastered = {b.get("brokerName") for b in route.get("brokerDatas", [])
                        if 0 in {int(k) for k in (b.get("brokerAddrs") or {})}}
            if not wanted <= queued or not wanted <= mastered:
                return False
        return True
