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
   Resolvers only apply to scalars whose first character SnakeYAML registered for them (``_`` is a string);
   timestamps (``2001-12-14``) stay strings. Plain keys are resolved like values.
3. ``java_text(value)`` turns a scalar into the String fastjson would give a String field of
   ``PlainAccessConfig`` (``12345678`` -> ``"12345678"``, octal ``0123`` -> ``"83"``, ``1.5e3`` -> ``"1500.0"``).
4. ``dump_yaml(mapping)`` writes what SnakeYAML 1.30 ``new Yaml().dumpAsMap(map)`` writes (Java's
   ``AclUtils.writeDataObject``): block style, indent 2, sequences in mappings not indented, empty collections
   as ``[]`` / ``{}``, ``null`` / ``true`` / ``false`` / numbers plain (doubles as Java's ``Double.toString``),
   strings plain unless they would read back as another type or hold YAML indicators, then single-quoted
   (``'12345678'``, ``''``), or double-quoted with escapes when they hold line breaks or unprintable
   characters. Unlike SnakeYAML it never folds a long line at a space (value and reader's result are the same;
   only bytes of values with spaces past column 80 differ), multi-line strings are double-quoted instead
   of literal blocks and unprintable ones escaped instead of ``!!binary``. ``parse_yaml(dump_yaml(m)) == m`` for everything ``parse_yaml`` returns.
"""

from __future__ import annotations

import re
from typing import Any

from rmqlite.broker.sql92 import java_double_str

__all__ = ["YamlError", "dump_yaml", "java_text", "parse_yaml"]


class YamlError(ValueError):
    """The text is not YAML this parser understands."""


_BOOL = re.compile(r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF")
_INT = re.compile(r"[-+]?0b_*[0-1][0-1_]*|[-+]?0_*[0-7][0-7_]*|[-+]?(?:0|[1-9][0-9_]*)"
                  r"|[-+]?0x_*[0-9a-fA-F][0-9a-fA-F_]*|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+")
_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
                    r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_NULL = {"", "~", "null", "Null", "NULL"}


def _sexagesimal(text: str, cast: type) -> Any:
    value: Any = cast(0)
    for part in text.split(":"):
        value = value * 60 + cast(part)
    return value


_TIMESTAMP = re.compile(r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
                        r"(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
                        r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?")
_NUM_START = "-+0123456789"


def implicit_tag(text: str) -> str:
    """The tag SnakeYAML's resolver gives a plain scalar: null, bool, int, float, merge, timestamp or str."""
    first = text[:1]
    if text in _NULL or text == " ":
        return "null"
    if first in "yYnNtTfFoO" and _BOOL.fullmatch(text):
        return "bool"
    if first in _NUM_START and _INT.fullmatch(text):
        return "int"
    if first in _NUM_START + "." and _FLOAT.fullmatch(text):
        return "float"
    if text == "<<":
        return "merge"
    if first in "0123456789" and _TIMESTAMP.fullmatch(text):
        return "timestamp"
    return "str"


def _resolve(text: str) -> Any:
    tag = implicit_tag(text)
    if tag == "null":
        return None
    if tag == "bool":
        return text.lower() in ("yes", "true", "on")
    if tag in ("int", "float"):
        try:
            return _number(text, tag)
        except ValueError:
            raise YamlError(f"cannot read {text!r} as an {tag}") from None
    return text


def _number(text: str, tag: str) -> int | float:
    if tag == "int":
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
    quote, escaped = None, False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif quote:
            if ch == quote:
                quote = None
            escaped = quote == '"' and ch == "\\"
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
        line = _strip_comment(raw).rstrip(" \t\r")
        if not line.strip(" \t") or line.strip(" \t") in ("---", "..."):
            continue
        out.append((no, len(line) - len(line.lstrip(" ")), line.strip(" \t")))
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
            return _scalar(content[: end + 1], no), rest[1:].strip(" \t")
        return None
    m = re.match(r"([^#]*?):(?:[ \t]+(.*))?$", content)
    if m is None or m.group(1).startswith(("[", "{")):
        return None
    return _resolve(m.group(1).strip(" \t")), (m.group(2) or "").strip(" \t")


def _scalar(text: str, no: int) -> Any:
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise YamlError(f"line {no}: unterminated single-quoted scalar")
        return text[1:-1].replace("''", "'")
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise YamlError(f"line {no}: unterminated double-quoted scalar")
        return _unescape(text[1:-1], no)
    if text.startswith(("[", "{")):
        return _flow(text, no)
    if text[:1] in "&*!|>%@`":
        raise YamlError(f"line {no}: unsupported YAML construct {text[:1]!r}")
    return _resolve(text)


_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
            "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
            "L": "\u2028", "P": "\u2029"}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}


def _unescape(body: str, no: int) -> str:
    """The value of a one-line double-quoted scalar (YAML escapes)."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = body[i + 1:i + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in _HEX_LEN:
            digits = body[i + 2:i + 2 + _HEX_LEN[code]]
            if len(digits) != _HEX_LEN[code] or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise YamlError(f"line {no}: bad escape \\{code}{digits}")
            out.append(chr(int(digits, 16)))
            i += 2 + len(digits)
        else:
            raise YamlError(f"line {no}: unknown escape \\{code}")
    return "".join(out)


def _flow(text: str, no: int) -> Any:
    close = "]" if text[0] == "[" else "}"
    if not text.endswith(close):
        raise YamlError(f"line {no}: unterminated flow collection")
    inner = text[1:-1].strip(" \t")
    items = [p.strip(" \t") for p in inner.split(",")] if inner else []
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
            item = content[1:].lstrip(" \t")
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


# ---------------------------------------------------------------------------------------------- writer
_BREAKS = "\n\x85\u2028\u2029"
_WS = "\0 \t\r" + _BREAKS
_DQ_ESCAPES = {"\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
               "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P"}


def _printable(ch: str) -> bool:
    c = ord(ch)
    return (ch == "\n" or 0x20 <= c <= 0x7E or c == 0x85 or 0xA0 <= c <= 0xD7FF
            or 0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF)


def _plain_and_single_ok(text: str) -> tuple[bool, bool]:
    """SnakeYAML ``Emitter.analyzeScalar``: (block plain allowed, single-quoted allowed)."""
    block_ind = text.startswith(("---", "..."))
    space_break = special = breaks = False
    prev_space = prev_break = False
    for i, ch in enumerate(text):
        followed = i + 1 >= len(text) or text[i + 1] in _WS
        if i == 0:
            block_ind |= ch in "#,[]{}&*!|>'\"%@`" or (ch in "?:-" and followed)
        else:
            block_ind |= (ch == ":" and followed) or (ch == "#" and text[i - 1] in _WS)
        special |= not _printable(ch)
        if ch in _BREAKS:
            breaks = True
            space_break |= prev_space
            prev_space, prev_break = False, True
        else:
            prev_space, prev_break = ch == " ", False
    edge = text[:1] in " " + _BREAKS or text[-1:] in " " + _BREAKS
    plain = not (block_ind or edge or breaks or special or space_break)
    return plain, not (space_break or special or breaks)


def _quote_double(text: str) -> str:
    out = []
    for ch in text:
        if ch in _DQ_ESCAPES:
            out.append("\\" + _DQ_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02X}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(f"\\U{ord(ch):08X}")
    return '"' + "".join(out) + '"'


def _scalar_text(value: Any) -> str:
    """One scalar as SnakeYAML's representer + emitter write it (no folding)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".NaN"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        return java_double_str(value)
    text = str(value)
    plain, single = _plain_and_single_ok(text)
    if text and plain and implicit_tag(text) == "str":
        return text
    if single:
        return "'" + text.replace("'", "''") + "'"
    return _quote_double(text)


def _emit_value(value: Any, indent: int, out: list[str]) -> None:
    """A mapping value after ``key:``."""
    if isinstance(value, dict) and value:
        out.append("\n")
        _emit_map(value, indent + 2, out, inline=False)
    elif isinstance(value, list) and value:
        out.append("\n")
        _emit_seq(value, indent, out, inline=False)        # indentless sequence (indicatorIndent 0)
    else:
        out.append(" " + _flow_text(value) + "\n")


def _flow_text(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar_text(value)


def _emit_map(data: dict[Any, Any], indent: int, out: list[str], inline: bool) -> None:
    for i, (key, value) in enumerate(data.items()):
        if not (inline and i == 0):
            out.append(" " * indent)
        out.append(_scalar_text(key) + ":")
        _emit_value(value, indent, out)


def _emit_seq(items: list[Any], indent: int, out: list[str], inline: bool) -> None:
    for i, item in enumerate(items):
        if not (inline and i == 0):
            out.append(" " * indent)
        out.append("- ")
        if isinstance(item, dict) and item:
            _emit_map(item, indent + 2, out, inline=True)
        elif isinstance(item, list) and item:
            _emit_seq(item, indent + 2, out, inline=True)
        else:
            out.append(_flow_text(item) + "\n")


def dump_yaml(data: dict[Any, Any]) -> str:
    """``new Yaml().dumpAsMap(data)`` of SnakeYAML 1.30 (see rule 4)."""
    if not data:
        return "{}\n"
    out: list[str] = []
    _emit_map(data, 0, out, inline=False)
    return "".join(out)
