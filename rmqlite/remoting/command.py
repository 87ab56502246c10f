"""The RemotingCommand: one RocketMQ request or response, independent of any encoding.

How it works:
1. A command is plain data: code, opaque, flag, remark, ext_fields, body, plus the
   language/version of the sender and the header serialize type it arrived in.
2. ``flag`` bit 0 marks a response, bit 1 a oneway request (``RemotingCommand.java``).
3. ``ext_fields`` values are always ``str`` (decoders coerce numbers and booleans).
4. ``response()`` builds the reply to a request: same opaque, response bit set, and the
   same serialize type as the request (RocketMQ 4.9.4 mirrors the request's type).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from rmqlite.remoting.codes import CURRENT_VERSION, ResponseCode, SerializeType

__all__ = ["RemotingCommand", "SerializeType", "FLAG_RESPONSE", "FLAG_ONEWAY"]

FLAG_RESPONSE = 1
FLAG_ONEWAY = 2

_opaque_counter = itertools.count(1)


def next_opaque() -> int:
    """A process-wide request id (wraps within a signed 32-bit int)."""
    return next(_opaque_counter) & 0x7FFFFFFF


@dataclass(slots=True)
class RemotingCommand:
    """One remoting frame's content."""

    code: int
    opaque: int = 0
    flag: int = 0
    remark: str | None = None
    ext_fields: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    language: str = "JAVA"
    version: int = CURRENT_VERSION
    serialize_type: int = SerializeType.JSON

    @classmethod
    def request(
        cls,
        code: int,
        ext_fields: dict[str, str] | None = None,
        body: bytes | None = None,
        oneway: bool = False,
        serialize_type: int = SerializeType.JSON,
    ) -> RemotingCommand:
        """A new request with a fresh opaque."""
        return cls(
            code=int(code),
            opaque=next_opaque(),
            flag=FLAG_ONEWAY if oneway else 0,
            ext_fields=dict(ext_fields or {}),
            body=body,
            serialize_type=serialize_type,
        )

    def response(
        self,
        code: int = ResponseCode.SUCCESS,
        remark: str | None = None,
        ext_fields: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> RemotingCommand:
        """The reply to this request."""
        return RemotingCommand(
            code=int(code),
            opaque=self.opaque,
            flag=FLAG_RESPONSE,
            remark=remark,
            ext_fields=dict(ext_fields or {}),
            body=body,
            serialize_type=self.serialize_type,
        )

    @property
    def is_response(self) -> bool:
        return bool(self.flag & FLAG_RESPONSE)

    @property
    def is_oneway(self) -> bool:
        return bool(self.flag & FLAG_ONEWAY)
