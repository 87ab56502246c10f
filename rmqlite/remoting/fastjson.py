"""JSON as Alibaba fastjson (used by RocketMQ 4.x) writes and reads it.

How it works:
1. ``dumps`` writes compact JSON. Dict keys that are ``int`` are written unquoted
   (``{0:"127.0.0.1:10911"}``), as fastjson does for ``Map<Long, String>``; keys that
   are ``ObjKey`` are written as JSON objects (``TopicStatsTable``, ``ConsumeStats``).
   Key order is the dict's own order: callers pass bean fields alphabetically.
2. ``dumps(obj, pretty=True)`` writes the tab-indented form of Java's config files.
3. ``loads`` accepts standard JSON plus unquoted numeric keys (-> ``int``) and object
   keys (-> ``ObjKey``); standard JSON takes the fast ``json.loads`` path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ObjKey", "dumps", "loads", "JSONDecodeError"]

JSONDecodeError = json.JSONDecodeError


@dataclass(frozen=True, slots=True)
class ObjKey:
    """A map key that is itself a JSON object (e.g. a MessageQueue)."""

    items: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, mapping: dict[str, Any]) -> ObjKey:
        return cls(tuple(sorted(mapping.items())))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.items)

    def get(self, key: str, default: Any = None) -> Any:
        return self.as_dict().get(key, default)


def _str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def dumps(obj: Any, pretty: bool = False) -> str:
    """Serialize ``obj`` the way fastjson would."""
    out: list[str] = []
    _write(obj, out, 0 if pretty else -1)
    return "".join(out)


def _write(obj: Any, out: list[str], indent: int) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(_str(obj))
    elif isinstance(obj, int):
        out.append(str(int(obj)))
    elif isinstance(obj, float):
        out.append(repr(obj))
    elif isinstance(obj, dict):
        _write_dict(obj, out, indent)
    elif isinstance(obj, ObjKey):
        _write_dict(obj.as_dict(), out, indent)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        _write_list(list(obj), out, indent)
    else:
        raise TypeError(f"cannot serialize {type(obj).__name__}")


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return _str("true" if key else "false")
    if isinstance(key, int):
        return str(int(key))
    if isinstance(key, ObjKey):
        return dumps(key)
    return _str(str(key))


def _write_dict(obj: dict, out: list[str], indent: int) -> None:
    if not obj:
        out.append("{}")
        return
    out.append("{")
    first = True
    for key, value in obj.items():
        if not first:
            out.append(",")
        first = False
        if indent >= 0:
            out.append("\n" + "\t" * (indent + 1))
        out.append(_key(key))
        out.append(":")
        _write(value, out, indent + 1 if indent >= 0 else -1)
    if indent >= 0:
        out.append("\n" + "\t" * indent)
    out.append("}")


def _write_list(items: list, out: list[str], indent: int) -> None:
    if not items:
        out.append("[]")
        return
    out.append("[")
    for i, value in enumerate(items):
        if i:
            out.append(",")
        if indent >= 0:
            out.append("\n" + "\t" * (indent + 1))
        _write(value, out, indent + 1 if indent >= 0 else -1)
    if indent >= 0:
        out.append("\n" + "\t" * indent)
    out.append("]")


# ---------------------------------------------------------------- decoding

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_BARE = re.compile(r"[A-Za-z_$][\w$]*")
_decoder = json.JSONDecoder()


def loads(text: str | bytes) -> Any:
    """Parse fastjson output (a superset of JSON)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    parser = _Parser(text)
    value = parser.value()
    parser.skip_ws()
    if parser.pos != len(text):
        raise JSONDecodeError("trailing data", text, parser.pos)
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def fail(self, what: str) -> JSONDecodeError:
        return JSONDecodeError(what, self.text, self.pos)

    def value(self) -> Any:
        self.skip_ws()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end")
        ch = self.text[self.pos]
        if ch == "{":
            return self.obj()
        if ch == "[":
            return self.arr()
        if ch == '"':
            value, self.pos = _decoder.raw_decode(self.text, self.pos)
            return value
        if ch == "'":
            return self.single_quoted()
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return float(m.group()) if (m.group(1) or m.group(2)) else int(m.group())
        m = _BARE.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            word = m.group()
            return {"true": True, "false": False, "null": None}.get(word, word)
        raise self.fail("unexpected character")

    def single_quoted(self) -> str:
        end = self.text.find("'", self.pos + 1)
        if end < 0:
            raise self.fail("unterminated string")
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def key(self) -> Any:
        self.skip_ws()
        ch = self.text[self.pos : self.pos + 1]
        if ch == "{":
            return ObjKey.of(self.obj())
        value = self.value()
        if isinstance(value, float):
            raise self.fail("float key")
        return value

    def obj(self) -> dict:
        self.pos += 1
        result: dict = {}
        self.skip_ws()
        if self.text[self.pos : self.pos + 1] == "}":
            self.pos += 1
            return result
        while True:
            key = self.key()
            self.skip_ws()
            if self.text[self.pos : self.pos + 1] != ":":
                raise self.fail("expected ':'")
            self.pos += 1
            result[key] = self.value()
            self.skip_ws()
            ch = self.text[self.pos : self.pos + 1]
            self.pos += 1
            if ch == "}":
                return result
            if ch != ",":
                raise self.fail("expected ',' or '}'")

    def arr(self) -> list:
        self.pos += 1
        result: list = []
        self.skip_ws()
        if self.text[self.pos : self.pos + 1] == "]":
            self.pos += 1
            return result
        while True:
            result.append(self.value())
            self.skip_ws()
            ch = self.text[self.pos : self.pos + 1]
            self.pos += 1
            if ch == "]":
                return result
            if ch != ",":
                raise self.fail("expected ',' or ']'")
