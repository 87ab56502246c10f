"""Typed access to a command's ext fields, with errors that name the field.

How it works: RocketMQ flattens each request header object into ``extFields``
(string -> string). These helpers read one field as str/int/bool; a missing required
field or a malformed value raises ``HeaderError(field, why)``, which the server turns
into a SYSTEM_ERROR response whose remark names the field.
"""

from __future__ import annotations

from typing import TypeVar

from rmqlite.remoting.command import RemotingCommand

T = TypeVar("T")

_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1


class HeaderError(ValueError):
    """A request header field is missing or malformed."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"bad header field '{field}': {why}")
        self.field = field
        self.why = why


def ext_str(cmd: RemotingCommand, key: str) -> str:
    """A required string field."""
    value = cmd.ext_fields.get(key)
    if value is None:
        raise HeaderError(key, "the custom field <%s> is null" % key)
    return value


def ext_int(cmd: RemotingCommand, key: str) -> int:
    """A required integer field (Java int or long)."""
    return _parse_int(key, ext_str(cmd, key))


def ext_bool(cmd: RemotingCommand, key: str) -> bool:
    """A required boolean (Java ``Boolean.parseBoolean``: only "true" is true)."""
    return ext_str(cmd, key).strip().lower() == "true"


def ext_opt_str(cmd: RemotingCommand, key: str, default: T = None) -> str | T:  # type: ignore[assignment]
    value = cmd.ext_fields.get(key)
    return default if value is None else value


def ext_opt_int(cmd: RemotingCommand, key: str, default: T = None) -> int | T:  # type: ignore[assignment]
    value = cmd.ext_fields.get(key)
    if value is None or value == "":
        return default
    return _parse_int(key, value)


def ext_opt_bool(cmd: RemotingCommand, key: str, default: bool = False) -> bool:
    value = cmd.ext_fields.get(key)
    if value is None or value == "":
        return default
    return value.strip().lower() == "true"


def _parse_int(key: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise HeaderError(key, f"not an integer: {text[:40]!r}") from None
    if not _INT_MIN <= value <= _INT_MAX:
        raise HeaderError(key, f"out of range: {text[:40]!r}")
    return value
