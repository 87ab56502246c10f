"""The broker's JSON config files (``<root>/config/*.json``): one seam over the store's helper.

How it works:
1. ``load_json(path)`` returns the parsed content (fastjson dialect: unquoted int keys), falling
   back to ``path.bak``; None when neither exists. ``save_json(path, obj)`` writes it pretty-printed
   like Java's ConfigManager (``.tmp`` then replace, previous content kept as ``.bak``).
2. Both delegate to ``rmqlite.store.config_files``; broker tables only call these two functions.
"""

from __future__ import annotations

from typing import Any

from rmqlite.store.config_files import load_json_config, save_json_config

__all__ = ["load_json", "save_json"]


def load_json(path: str) -> Any | None:
    """Parsed JSON of ``path`` (or its backup), or None."""
    return load_json_config(path)


def save_json(path: str, obj: Any) -> None:
    """Persist ``obj`` at ``path`` (pretty fastjson, .tmp/.bak safety)."""
    save_json_config(path, obj)
