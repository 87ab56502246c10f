"""Handler registry, dispatch and small helpers shared by the handler modules.

How it works:
1. ``HANDLERS`` maps request code -> handler; ``handler(*codes)`` is the registering decorator.
2. ``dispatch(state, cmd, ctx)`` never raises for bad input: unknown codes, header errors and
   body decode errors become error responses (a oneway request gets no response at all).
3. ``json_body`` encodes a body object with ``fastjson`` (UTF-8 bytes); ``parse_json_body``
   decodes a request body and raises ``BodyError`` (-> SYSTEM_ERROR) when it is not JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from rmqlite.broker.long_poll import Hold
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import HeaderError

log = logging.getLogger("rmqlite.broker")

__all__ = ["HANDLERS", "handler", "dispatch", "json_body", "parse_json_body", "BodyError", "FAQ_SUFFIX"]

Result = RemotingCommand | Hold | None
HandlerFn = Callable[[Any, RemotingCommand, Any], Result]
HANDLERS: dict[int, HandlerFn] = {}

FAQ_SUFFIX = "\nSee http://rocketmq.apache.org/docs/faq/ for further details."


class BodyError(ValueError):
    """A request body that cannot be decoded."""


def handler(*codes: int) -> Callable[[HandlerFn], HandlerFn]:
    """Register ``fn`` for the given request codes."""
    def deco(fn: HandlerFn) -> HandlerFn:
        for code in codes:
            HANDLERS[int(code)] = fn
        return fn
    return deco


def dispatch(state: Any, cmd: RemotingCommand, ctx: Any) -> Result:
    """Run the handler of ``cmd.code``; errors become responses (none for oneway requests)."""
    fn = HANDLERS.get(cmd.code)
    if fn is None:
        reply = cmd.response(ResponseCode.REQUEST_CODE_NOT_SUPPORTED, f" request type {cmd.code} not supported")
    else:
        try:
            reply = fn(state, cmd, ctx)
        except HeaderError as exc:
            reply = cmd.response(ResponseCode.SYSTEM_ERROR, str(exc))
        except BodyError as exc:
            reply = cmd.response(ResponseCode.SYSTEM_ERROR, str(exc))
        except Exception as exc:  # never crash the server on one request
            log.exception("handler for request code %s failed", cmd.code)
            reply = cmd.response(ResponseCode.SYSTEM_ERROR, f"{type(exc).__name__}: {exc}")
    if cmd.flag & 2 and isinstance(reply, RemotingCommand):     # a oneway request (FLAG_ONEWAY)
        return None
    return reply


def json_body(obj: Any) -> bytes:
    return fastjson.dumps(obj).encode("utf-8")


def parse_json_body(cmd: RemotingCommand, what: str) -> Any:
    """The request body as JSON (fastjson dialect accepted)."""
    if not cmd.body:
        raise BodyError(f"{what}: request body is empty")
    text = cmd.body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return fastjson.loads(text)
    except ValueError as exc:
        raise BodyError(f"{what}: request body is not valid JSON ({exc})") from None


def status_name(status: Any) -> str:
    """Enum member or string -> its name."""
    return getattr(status, "name", str(status))
