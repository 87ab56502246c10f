"""The YAML subset RocketMQ's ``plain_acl.yml`` files use, read as SnakeYAML 1.30 (YAML 1.1) reads them.

How it works:
1. Block structure only: mappings (``key: value``), sequences (``- item``, also ``- key: value`` items and
   ``key:`` followed by a sequence at the same indentation), nested by indentation; ``#`` comments, blank
   lines and ``---`` / ``...`` document markers are ignored. Flow collections are accepted when they hold
   plain or quoted scalars (``[a, b]``, ``{}``). Anything else raises ``YamlError`` naming the line.
2. Plain scalars are resolved like SnakeYAML's implicit resolvers: null (``~``, ``null``, empty), booleans
   (``yes/no/on/off/true/false`` in three casings), integers (decimal, ``0b``, ``0x``, leading-zero octal,
   ``_`` separators, base-60 ``1:30``) and floats (``1.5``, ``1e5``, ``.inf``, ``.nan``). Quoted scalars are
   strings (``''`` and backslash escapes handled).
3. ``java_text(value)`` turns a scalar into the String fastjson would give a String field of
   ``PlainAccessConfig`` (``12345678`` -> ``"12345678"``, octal ``0123`` -> ``"83"``, ``1.5e3`` -> ``"1500.0"``).
"""

from __future__ import annotations

import re
from typing import Any

from rmqlite.broker.sql92 import java_double_str

__all__ = ["YamlError", "java_text", "parse_yaml"]


class YamlError(ValueError):
    """The text is not YAML this parser understands."""


_BOOL = re.compile(r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF")
_INT = re.compile(r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
                  r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9_]+(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_NULL = {"", "~", "null", "Null", "NULL"}


def _sexagesimal(text: str, cast: type) -> Any:
    value: Any = cast(0)
    for part in text.split(":"):
        value = value * 60 + cast(part)
    return value


def _resolve(text: str) -> Any:
    if text in _NULL:
        return None
    if _BOOL.fullmatch(text):
        return text.lower() in ("yes", "true", "on")
    if _INT.fullmatch(text):
        t = text.replace("_", "")
        sign = -1 if t.startswith("-") else 1
        t = t.lstrip("+-")
        if t == "0":
            return 0
        if t.startswith("0b"):
            return sign * int(t[2:], 2)
        if t.startswith("0x"):
            return sign * int(t[2:], 16)
        if t.startswith("0"):
            return sign * int(t, 8)
        if ":" in t:
            return sign * _sexagesimal(t, int)
        return sign * int(t)
    if _FLOAT.fullmatch(text):
        t = text.replace("_", "").lower()
        sign = -1.0 if t.startswith("-") else 1.0
        t = t.lstrip("+-")
        if t == ".inf":
            return sign * float("inf")
        if t == ".nan":
            return float("nan")
        if ":" in t:
            return sign * _sexagesimal(t, float)
        return sign * float(t)
    return text


def java_text(value: Any) -> str | None:
    """A parsed scalar as a Java String field (fastjson conversion); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double_str(value)
    return str(value)


# ---------------------------------------------------------------------------------------------- lines
def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"" and (i == 0 or line[i - 1] in " \t[{,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(line number, indent, content) of meaningful lines."""
    out = []
    for no, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip(" \t"))]:
            raise YamlError(f"line {no}: tabs cannot be used for indentation")
        line = _strip_comment(raw).rstrip()
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        out.append((no, len(line) - len(line.lstrip(" ")), line.strip()))
    return out


def _split_key(content: str, no: int) -> tuple[str, str] | None:
    """``key: rest`` -> (key, rest); None if the content is not a mapping entry."""
    if content[:1] in "'\"":
        end = content.find(content[0], 1)
        while content[0] == "'" and end != -1 and content[end + 1:end + 2] == "'":
            end = content.find("'", end + 2)
        if end == -1:
            raise YamlError(f"line {no}: unterminated quoted key")
        rest = content[end + 1:]
        if rest.startswith(":") and (len(rest) == 1 or rest[1] == " "):
            return _scalar(content[: end + 1], no), rest[1:].strip()
        return None
    m = re.match(r"([^#]*?):(?:\s+(.*))?$", content)
    if m is None or m.group(1).startswith(("[", "{")):
        return None
    return m.group(1).strip(), (m.group(2) or "").strip()


def _scalar(text: str, no: int) -> Any:
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise YamlError(f"line {no}: unterminated single-quoted scalar")
        return text[1:-1].replace("''", "'")
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise YamlError(f"line {no}: unterminated double-quoted scalar")
        try:
            return bytes(text[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
        except (UnicodeDecodeError, UnicodeEncodeError):
            return text[1:-1]
    if text.startswith(("[", "{")):
        return _flow(text, no)
    if text[:1] in "&*!|>%@`":
        raise YamlError(f"line {no}: unsupported YAML construct {text[:1]!r}")
    return _resolve(text)


def _flow(text: str, no: int) -> Any:
    close = "]" if text[0] == "[" else "}"
    if not text.endswith(close):
        raise YamlError(f"line {no}: unterminated flow collection")
    inner = text[1:-1].strip()
    items = [p.strip() for p in inner.split(",")] if inner else []
    if close == "]":
        return [_scalar(p, no) for p in items if p]
    out: dict[Any, Any] = {}
    for p in items:
        kv = _split_key(p, no)
        if kv is None:
            raise YamlError(f"line {no}: bad flow mapping entry {p!r}")
        out[kv[0]] = _scalar(kv[1], no) if kv[1] else None
    return out


# ---------------------------------------------------------------------------------------------- blocks
class _Parser:
    def __init__(self, lines: list[tuple[int, int, str]]) -> None:
        self.lines = lines
        self.i = 0

    def block(self, indent: int) -> Any:
        no, ind, content = self.lines[self.i]
        if ind != indent:
            raise YamlError(f"line {no}: bad indentation")
        if content == "-" or content.startswith("- "):
            return self.sequence(indent)
        if _split_key(content, no) is None:
            self.i += 1
            return _scalar(content, no)
        return self.mapping(indent)

    def _child(self, indent: int, allow_same_seq: bool) -> Any:
        if self.i >= len(self.lines):
            return None
        _, ind, content = self.lines[self.i]
        if ind > indent:
            return self.block(ind)
        if allow_same_seq and ind == indent and (content == "-" or content.startswith("- ")):
            return self.sequence(indent)
        return None

    def mapping(self, indent: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        while self.i < len(self.lines):
            no, ind, content = self.lines[self.i]
            if ind < indent or content == "-" or content.startswith("- "):
                break
            if ind > indent:
                raise YamlError(f"line {no}: bad indentation")
            kv = _split_key(content, no)
            if kv is None:
                raise YamlError(f"line {no}: expected 'key: value'")
            key, rest = kv
            self.i += 1
            out[key] = _scalar(rest, no) if rest else self._child(indent, True)
        return out

    def sequence(self, indent: int) -> list[Any]:
        out: list[Any] = []
        while self.i < len(self.lines):
            no, ind, content = self.lines[self.i]
            if ind != indent or not (content == "-" or content.startswith("- ")):
                if ind > indent:
                    raise YamlError(f"line {no}: bad indentation")
                break
            item = content[1:].lstrip()
            if not item:
                self.i += 1
                out.append(self._child(indent, False))
            elif item.startswith("- ") or _split_key(item, no) is not None:
                self.lines[self.i] = (no, indent + len(content) - len(item), item)
                out.append(self.block(indent + len(content) - len(item)))
            else:
                self.i += 1
                out.append(_scalar(item, no))
        return out


def parse_yaml(text: str) -> Any:
    """The document as Python values (dict / list / str / int / float / bool / None)."""
    lines = _lines(text)
    if not lines:
        return None
    p = _Parser(lines)
    value = p.block(lines[0][1])
    if p.i != len(lines):
        raise YamlError(f"line {lines[p.i][0]}: unexpected content")
    return value
