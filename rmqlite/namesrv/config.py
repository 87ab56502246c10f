"""Nameserver configuration as Java exposes it (NamesrvConfig + NettyServerConfig properties).

How it works:
1. ``NamesrvConfig`` holds every property Java's ``Configuration`` reports for a nameserver,
   with Java's defaults, as typed values (int / bool / str; None = unset, not reported).
2. ``format_properties`` renders GET_NAMESRV_CONFIG's body: ``key=value\\n`` lines
   (``MixAll.properties2String``; we sort the keys, Java uses hash order, and mqadmin
   re-parses the text so order does not matter).
3. ``update_from_properties`` applies UPDATE_NAMESRV_CONFIG: only known keys change, values
   parse like ``MixAll.properties2Object`` (bad numbers are ignored); it sets ``dirty`` so the
   shell persists the file to ``configStorePath``.
4. ``parse_properties`` reads java.util.Properties text (comments, ``=``/``:``/space
   separators, backslash escapes and line continuations).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["NamesrvConfig", "parse_properties", "format_properties"]

_DEFAULTS: dict[str, int | bool | str | None] = {
    # NamesrvConfig
    "rocketmqHome": None,
    "kvConfigPath": "",
    "configStorePath": "",
    "productEnvName": "center",
    "clusterTest": False,
    "orderMessageEnable": False,
    # NettyServerConfig
    "listenPort": 9876,
    "serverWorkerThreads": 8,
    "serverCallbackExecutorThreads": 0,
    "serverSelectorThreads": 3,
    "serverOnewaySemaphoreValue": 256,
    "serverAsyncSemaphoreValue": 64,
    "serverChannelMaxIdleTimeSeconds": 120,
    "serverSocketSndBufSize": 0,
    "serverSocketRcvBufSize": 0,
    "writeBufferHighWaterMark": 0,
    "writeBufferLowWaterMark": 0,
    "serverSocketBacklog": 1024,
    "serverPooledByteBufAllocatorEnable": True,
    "useEpollNativeSelector": False,
}
_STR_KEYS = {"rocketmqHome", "kvConfigPath", "configStorePath", "productEnvName"}


class NamesrvConfig:
    """Typed property bag with Java's keys and defaults."""

    def __init__(self, kv_config_path: str, config_store_path: str, listen_port: int = 9876,
                 rocketmq_home: str | None = None, order_message_enable: bool = False) -> None:
        self.values: dict[str, int | bool | str | None] = dict(_DEFAULTS)
        self.values.update(kvConfigPath=kv_config_path, configStorePath=config_store_path,
                           listenPort=listen_port, rocketmqHome=rocketmq_home,
                           orderMessageEnable=order_message_enable)
        self.dirty = False

    @property
    def order_message_enable(self) -> bool:
        return bool(self.values["orderMessageEnable"])

    @property
    def config_store_path(self) -> str:
        return str(self.values["configStorePath"])

    def format_properties(self) -> str:
        """GET_NAMESRV_CONFIG body text."""
        return format_properties(self.values)

    def update_from_properties(self, props: dict[str, str]) -> None:
        """Apply known keys; unknown keys and unparsable values are ignored (as in Java)."""
        for key, text in props.items():
            if key not in self.values:
                continue
            parsed = _parse_value(key, text)
            if parsed is not None:
                self.values[key] = parsed
        self.dirty = True

    def save(self) -> None:
        """Persist all properties to configStorePath (``Configuration.persist``)."""
        path = self.config_store_path
        if not path:
            self.dirty = False
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self.format_properties())
        if os.path.exists(path):
            Path(path + ".bak").write_bytes(Path(path).read_bytes())
        os.replace(tmp, path)
        self.dirty = False


def _parse_value(key: str, text: str) -> int | bool | str | None:
    default = _DEFAULTS[key]
    if key in _STR_KEYS:
        return text
    if isinstance(default, bool):
        return text.strip().lower() == "true"
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if -(2**31) <= value < 2**31 else None


def format_properties(values: dict[str, int | bool | str | None]) -> str:
    """``key=value\\n`` lines, nulls skipped, booleans as true/false."""
    lines = []
    for key in sorted(values):
        value = values[key]
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        lines.append(f"{key}={text}\n")
    return "".join(lines)


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and i + 6 <= len(text):
                try:
                    out.append(chr(int(text[i + 2:i + 6], 16)))
                    i += 6
                    continue
                except ValueError:
                    pass
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _logical_lines(text: str) -> list[str]:
    lines, pending = [], ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f")
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def parse_properties(text: str) -> dict[str, str]:
    """Parse java.util.Properties text into a dict (later keys win)."""
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        i, key_end = 0, len(line)
        while i < len(line):
            ch = line[i]
            if ch == "\\":
                i += 2
                continue
            if ch in "=: \t\f":
                key_end = i
                break
            i += 1
        key = line[:key_end]
        rest = line[key_end:].lstrip(" \t\f")
        if rest[:1] in ("=", ":") and key_end < len(line) and line[key_end] in " \t\f":
            rest = rest[1:].lstrip(" \t\f")
        elif key_end < len(line) and line[key_end] in "=:":
            rest = line[key_end + 1:].lstrip(" \t\f")
        result[_unescape(key)] = _unescape(rest)
    return result
