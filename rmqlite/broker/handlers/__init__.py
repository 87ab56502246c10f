"""Broker request handlers: one function per request code, over ``BrokerState``.

How it works:
1. ``@handler(RequestCode.X)`` registers ``fn(state, cmd, ctx) -> RemotingCommand | Hold | None``
   in ``HANDLERS``. Handlers are plain functions: no sockets, no asyncio, no clock.
2. ``dispatch`` looks the code up (unknown -> REQUEST_CODE_NOT_SUPPORTED, as a Java broker) and
   turns a ``HeaderError`` into SYSTEM_ERROR naming the field. A ``Hold`` means "long-poll me".
3. Importing this package imports every area module so that all codes are registered.
"""

from __future__ import annotations

from rmqlite.broker.handlers.base import HANDLERS, dispatch, handler

from rmqlite.broker.handlers import admin, client, consumer, pull, query, reply, send, transaction  # noqa: E402,F401
from rmqlite.broker.handlers import acl_admin  # noqa: E402,F401

__all__ = ["HANDLERS", "dispatch", "handler"]
