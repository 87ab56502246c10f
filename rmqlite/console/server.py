"""The console's HTTP shell (aiohttp): JSON API under /api/ and the static single-page front end.

How it works:
1. ``build_app(service)`` maps each /api/ route to one ``ConsoleService`` coroutine; results are JSON,
   failures ``{"error": "..."}`` with 400 (bad input), 404 (not found), 502 (cluster unreachable).
2. ``/`` serves static/index.html; /static/ the JS and CSS (no build step).
3. ``Console`` owns the runner, the site and the service; ``start_console`` binds, starts the TPS
   sampler and returns it with ``.url`` set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import web

from rmqlite.admin.ops import ClientError
from rmqlite.console.service import ConsoleService
from rmqlite.remoting.codes import ResponseCode
from rmqlite.remoting.transport import RemotingError

__all__ = ["Console", "build_app", "start"]

STATIC = Path(__file__).with_name("static")
Handler = Callable[[web.Request], Awaitable[Any]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def api(fn: Callable[[ConsoleService, web.Request], Awaitable[Any]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wrap a service call: JSON result, errors as one JSON line."""
    async def handler(request: web.Request) -> web.Response:
        service: ConsoleService = request.app["service"]
        try:
            return _json(await fn(service, request))
        except ClientError as exc:
            status = 404 if exc.code in (ResponseCode.TOPIC_NOT_EXIST, ResponseCode.QUERY_NOT_FOUND) else 400
            remark = (exc.remark or "").strip().splitlines()
            return _json({"error": f"CODE {exc.code}: {remark[0] if remark else ''}"}, status)
        except (ValueError, KeyError) as exc:
            return _json({"error": str(exc)}, 400)
        except (RemotingError, OSError) as exc:
            return _json({"error": f"cluster unreachable: {exc}"}, 502)
        except web.HTTPException:
            raise
        except Exception as exc:  # never a bare 500 page: one JSON line saying what failed
            return _json({"error": f"{type(exc).__name__}: {exc}"}, 500)
    return handler


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("request body must be JSON") from None
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


def _int(value: Any, name: str, default: int | None = None) -> int:
    if value in (None, ""):
        if default is None:
            raise ValueError(f"{name} is required")
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number") from None


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def build_app(service: ConsoleService) -> web.Application:
    app = web.Application()
    app["service"] = service
    q = lambda r, k: r.query.get(k) or None  # noqa: E731
    routes = [
        web.get("/api/cluster", api(lambda s, r: s.cluster())),
        web.get("/api/tps", api(lambda s, r: _tps(s))),
        web.post("/api/nodes/{node}/kill", api(lambda s, r: _done(s.kill(r.match_info["node"])))),
        web.post("/api/nodes/{node}/restart", api(lambda s, r: _done(s.restart(r.match_info["node"])))),
        web.get("/api/topics", api(lambda s, r: s.topics(r.query.get("kind", "all")))),
        web.post("/api/topics", api(_save_topic)),
        web.get("/api/topics/{topic}", api(lambda s, r: s.topic(r.match_info["topic"]))),
        web.delete("/api/topics/{topic}", api(lambda s, r: _deleted(s, r))),
        web.post("/api/topics/{topic}/send", api(_send)),
        web.get("/api/groups", api(lambda s, r: s.groups())),
        web.get("/api/groups/{group}", api(lambda s, r: s.group(r.match_info["group"]))),
        web.post("/api/groups/{group}/reset", api(_reset)),
        web.get("/api/messages", api(lambda s, r: s.search(q(r, "topic") or "", key=q(r, "key"), msg_id=q(r, "id"),
                                                          begin=_opt_int(q(r, "begin")), end=_opt_int(q(r, "end")),
                                                          limit=_int(q(r, "limit"), "limit", 50)))),
        web.get("/api/message", api(lambda s, r: s.message(_need(q(r, "id"), "id"), q(r, "topic")))),
        web.post("/api/message/resend", api(_resend)),
        web.get("/", _index),
        web.static("/static", STATIC),
    ]
    app.add_routes(routes)
    return app


def _opt_int(value: str | None) -> int | None:
    return None if value in (None, "") else _int(value, "time")


def _need(value: str | None, name: str) -> str:
    if not value:
        raise ValueError(f"{name} is required")
    return value


async def _tps(s: ConsoleService) -> dict[str, Any]:
    return {"interval": s.sampler.interval_s, "series": s.sampler.series()}


async def _done(coro: Awaitable[Any]) -> dict[str, Any]:
    await coro
    return {"ok": True}


async def _deleted(s: ConsoleService, r: web.Request) -> dict[str, Any]:
    addrs = await s.delete_topic(r.match_info["topic"], r.query.get("cluster") or None)
    return {"ok": True, "brokers": addrs}


async def _save_topic(s: ConsoleService, r: web.Request) -> dict[str, Any]:
    b = await _body(r)
    addrs = await s.save_topic(_need(str(b.get("topic", "")).strip(), "topic"), _int(b.get("readQueues"), "readQueues", 4),
                               _int(b.get("writeQueues"), "writeQueues", 4), _int(b.get("perm"), "perm", 6),
                               bool(b.get("order", False)), b.get("cluster") or None, b.get("broker") or None)
    return {"ok": True, "brokers": addrs}


async def _send(s: ConsoleService, r: web.Request) -> dict[str, Any]:
    b = await _body(r)
    return await s.send(r.match_info["topic"], str(b.get("body", "")), b.get("tags"), b.get("keys"))


async def _reset(s: ConsoleService, r: web.Request) -> dict[str, Any]:
    b = await _body(r)
    return await s.reset_offset(r.match_info["group"], _need(b.get("topic"), "topic"),
                                _int(b.get("timestamp"), "timestamp"), bool(b.get("force", True)))


async def _resend(s: ConsoleService, r: web.Request) -> dict[str, Any]:
    b = await _body(r)
    return await s.resend(_need(b.get("id"), "id"), _need(b.get("group"), "group"), b.get("topic") or None,
                          b.get("clientId") or None)


class Console:
    """A running console: ``url``, ``service``, ``await close()``."""

    def __init__(self, service: ConsoleService, runner: web.AppRunner, url: str) -> None:
        self.service = service
        self.runner = runner
        self.url = url

    async def close(self) -> None:
        await self.runner.cleanup()
        await self.service.close()


async def start(namesrv: str, host: str = "127.0.0.1", port: int = 0, control: Any = None,
                sample_interval_s: float = 2.0) -> Console:
    service = ConsoleService(namesrv, control)
    service.sampler.interval_s = sample_interval_s
    runner = web.AppRunner(build_app(service), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        await service.close()
        raise
    server = getattr(site, "_server", None)
    bound = server.sockets[0].getsockname()[1] if server and server.sockets else port
    service.sampler.start()
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return Console(service, runner, f"http://{shown}:{bound}/")
