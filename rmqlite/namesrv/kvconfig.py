"""KV config of the nameserver (Java ``KVConfigManager``): namespace -> key -> value.

How it works:
1. The table lives in memory as nested ``JavaHashMap`` so listings come out in Java order.
2. ``put`` / ``delete`` only change memory and set ``dirty``; the shell calls ``save()``
   right after the handler (before the reply is sent), as Java persists inside the call.
3. The file is Java's ``kvConfig.json``: fastjson ``{"configTable":{ns:{k:v}}}``. ``save``
   writes ``<path>.tmp``, copies the previous file to ``<path>.bak``, then renames the tmp
   file over ``<path>`` (``MixAll.string2File``).
4. ``load`` reads ``<path>``, falling back to ``<path>.bak`` when ``<path>`` is missing (a
   crash between delete and rename); a file that is not valid JSON raises ``ValueError``
   naming the file instead of being silently overwritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rmqlite.namesrv.bodies import dumps_compact, encode_kv_table
from rmqlite.namesrv.javamap import JavaHashMap
from rmqlite.remoting import fastjson

__all__ = ["KVConfigStore", "NAMESPACE_ORDER_TOPIC_CONFIG", "default_kv_config_path"]

NAMESPACE_ORDER_TOPIC_CONFIG = "ORDER_TOPIC_CONFIG"


def default_kv_config_path(home: str | os.PathLike[str] | None = None) -> str:
    """Java default: ``<user.home>/namesrv/kvConfig.json``."""
    return str(Path(home or Path.home()) / "namesrv" / "kvConfig.json")


class KVConfigStore:
    """Namespaced key/value table with Java's file format."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.table: JavaHashMap = JavaHashMap()
        self.dirty = False

    # ------------------------------------------------------------ memory

    def put(self, namespace: str, key: str, value: str) -> None:
        """PUT_KV_CONFIG."""
        self.table.setdefault(namespace, JavaHashMap())[key] = value
        self.dirty = True

    def get(self, namespace: str, key: str) -> str | None:
        """GET_KV_CONFIG: the value or None."""
        kv = self.table.get(namespace)
        return kv.get(key) if kv is not None else None

    def delete(self, namespace: str, key: str) -> None:
        """DELETE_KV_CONFIG (the namespace stays, possibly empty, as in Java)."""
        kv = self.table.get(namespace)
        if kv is not None:
            kv.pop(key, None)
        self.dirty = True

    def list_namespace(self, namespace: str) -> bytes | None:
        """GET_KVLIST_BY_NAMESPACE body: KVTable JSON, or None if the namespace is unknown."""
        kv = self.table.get(namespace)
        if kv is None:
            return None
        return encode_kv_table(list(kv.java_items()))

    def to_json(self) -> str:
        """The kvConfig.json text (KVConfigSerializeWrapper, compact fastjson)."""
        return dumps_compact({"configTable": {ns: dict(kv.java_items())
                                              for ns, kv in self.table.java_items()}}).decode()

    # ------------------------------------------------------------ file

    def load(self) -> None:
        """Read the file (or its .bak) into memory; a missing file means an empty table."""
        if self.path is None:
            return
        for candidate in (self.path, self.path + ".bak"):
            try:
                text = Path(candidate).read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            self._load_text(text, candidate)
            return

    def _load_text(self, text: str, where: str) -> None:
        if not text.strip():
            return
        try:
            root = fastjson.loads(text)
        except (json.JSONDecodeError, ValueError, IndexError) as e:
            raise ValueError(f"kv config file {where} is not valid JSON: {e}") from None
        table = root.get("configTable") if isinstance(root, dict) else None
        if table is None:
            return
        if not isinstance(table, dict):
            raise ValueError(f"kv config file {where}: configTable is not an object")
        for ns, kv in table.items():
            if not isinstance(kv, dict):
                raise ValueError(f"kv config file {where}: namespace {ns!r} is not an object")
            target = self.table.setdefault(str(ns), JavaHashMap())
            for key, value in kv.items():
                target[str(key)] = value if isinstance(value, str) else json.dumps(value)

    def save(self) -> None:
        """Persist like ``MixAll.string2File`` (tmp, .bak of previous, rename). Clears dirty."""
        if self.path is None:
            self.dirty = False
            return
        content = self.to_json()
        target = Path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(self.path + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        try:
            previous = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            previous = None
        if previous is not None:
            Path(self.path + ".bak").write_text(previous, encoding="utf-8")
        os.replace(tmp, target)
        self.dirty = False
