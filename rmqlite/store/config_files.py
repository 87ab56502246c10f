"""JSON config files with .tmp/.bak safety, as Java ``ConfigManager`` + ``MixAll.string2File``.

How it works:
1. ``save_json_config`` (``save_text_config`` for any text) writes fastjson pretty text (tab indented, unquoted int keys) to
   ``<path>.tmp`` and fsyncs it, copies the current ``<path>`` content to ``<path>.bak``, then
   atomically replaces ``<path>`` with the tmp file (Java deletes and renames; replace is safer).
2. ``load_json_config`` reads ``<path>``; if it is missing, empty or unparsable it falls back to
   ``<path>.bak``. Neither present (or main unparsable and no bak) -> None, like Java's empty load.
   A bak that exists but cannot be parsed raises ``ConfigFileError`` (Java refuses to start).
"""

from __future__ import annotations

import os
from typing import Any

from rmqlite.remoting import fastjson


class ConfigFileError(ValueError):
    """A config file and its backup are both unreadable."""


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def save_json_config(path: str, obj: Any) -> None:
    """Persist ``obj`` as Java's ConfigManager would (rule 1)."""
    save_text_config(path, fastjson.dumps(obj, pretty=True))


def save_text_config(path: str, text: str) -> None:
    """Write ``text`` with rule 1's .tmp/.bak safety (``MixAll.string2File``)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    _write_text(path + ".tmp", text)
    prev = _read_text(path)
    if prev is not None:
        _write_text(path + ".bak", prev)
    os.replace(path + ".tmp", path)


def load_json_config(path: str) -> Any | None:
    """Load a config written by us or by Java (rule 2)."""
    text = _read_text(path)
    if text:
        try:
            return fastjson.loads(text)
        except ValueError:
            pass
    bak = _read_text(path + ".bak")
    if not bak:
        return None
    try:
        return fastjson.loads(bak)
    except ValueError as e:
        raise ConfigFileError(f"{path} and {path}.bak are both unreadable: {e}") from e
