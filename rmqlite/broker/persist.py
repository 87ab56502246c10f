"""The broker's JSON config files (``<root>/config/*.json``): one seam over the store's helper.

How it works:
1. ``load_json(path)`` returns the parsed content (fastjson dialect: unquoted int keys), falling
   back to ``path.bak``; None when neither exists. ``save_json(path, obj)`` writes it pretty-printed
   like Java's ConfigManager (``.tmp`` then replace, previous content kept as ``.bak``).
2. Both delegate to ``rmqlite.store.config_files``; broker tables only call these two functions.
3. ``VersionedTable`` is the shape Java's ``*SerializeWrapper`` files share (topics.json,
   subscriptionGroup.json): ``{"dataVersion": {...}, "<TABLE_KEY>": {name: entry}}``; a table class names its
   key and turns one JSON entry into its config object.
"""

from __future__ import annotations

from typing import Any

from rmqlite.store.config_files import load_json_config, save_json_config

__all__ = ["VersionedTable", "load_json", "save_json"]


def load_json(path: str) -> Any | None:
    """Parsed JSON of ``path`` (or its backup), or None."""
    return load_json_config(path)


def save_json(path: str, obj: Any) -> None:
    """Persist ``obj`` at ``path`` (pretty fastjson, .tmp/.bak safety)."""
    save_json_config(path, obj)


class VersionedTable:
    """Mixin: ``path``, ``table`` and ``data_version`` persisted as ``{"dataVersion":..., TABLE_KEY: {...}}``."""

    TABLE_KEY = ""
    path: str | None
    table: dict[str, Any]
    data_version: Any

    def entry_from_json(self, name: str, raw: dict[str, Any]) -> Any:
        """The config object of one table entry (its name filled in from the key when missing)."""
        raise NotImplementedError

    def load(self) -> None:
        """Merge the file (or its backup) over what the table holds."""
        if not self.path:
            return
        data = load_json(self.path)
        if not isinstance(data, dict):
            return
        for name, raw in (data.get(self.TABLE_KEY) or {}).items():
            if isinstance(raw, dict):
                self.table[str(name)] = self.entry_from_json(str(name), raw)
        if data.get("dataVersion"):
            self.data_version = type(self.data_version).from_json(data["dataVersion"])

    def persist(self) -> None:
        if self.path:
            save_json(self.path, self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {"dataVersion": self.data_version.to_json(),
                self.TABLE_KEY: {name: cfg.to_json() for name, cfg in self.table.items()}}
