"""Java ``HashMap`` / ``HashSet`` iteration order, so our JSON lists and maps come out in
the same order as the Java nameserver's (fastjson writes maps and sets in iteration order).

How it works:
1. A Java ``HashMap`` stores a key in bucket ``spread(hashCode) & (capacity - 1)`` where
   ``spread(h) = h ^ (h >>> 16)``; iteration walks buckets in index order and each bucket's
   chain in insertion order (new nodes go to the tail; a resize splits chains keeping order).
2. Capacity starts at ``tableSizeFor(initialCapacity)`` (16 by default) and doubles whenever
   the size exceeds 0.75 x capacity; it never shrinks. ``JavaHashMap`` is an insertion-ordered
   ``dict`` that tracks that capacity, so Java's order is a stable sort of the dict's order by
   bucket index. (Tree bins, used only for >= 8 colliding keys, are not modelled.)
3. Removing a key and putting it again moves it to the chain's tail in Java and to the dict's
   end in Python, so the two stay in step.
4. Hash codes: ``String.hashCode`` over UTF-16 code units (signed 32-bit), ``Long.hashCode``
   ``(int)(v ^ (v >>> 32))``, ``Integer.hashCode`` = value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["java_hash", "java_string_hash", "table_size_for", "JavaHashMap", "java_set_order"]

K = TypeVar("K")
V = TypeVar("V")

_MAX_CAPACITY = 1 << 30


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def java_string_hash(text: str) -> int:
    """``String.hashCode()``: s[0]*31^(n-1) + ... over UTF-16 code units, signed 32-bit."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return _to_int32(h)


def java_hash(key: Any) -> int:
    """``key.hashCode()`` for the key types we store (str -> String, int -> Long)."""
    if isinstance(key, str):
        return java_string_hash(key)
    if isinstance(key, bool):
        return 1231 if key else 1237
    if isinstance(key, int):
        v = key & 0xFFFFFFFFFFFFFFFF
        return _to_int32(v ^ (v >> 32))
    raise TypeError(f"no Java hashCode for {type(key).__name__}")


def _spread(h: int) -> int:
    h &= 0xFFFFFFFF
    return h ^ (h >> 16)


def table_size_for(cap: int) -> int:
    """``HashMap.tableSizeFor``: the smallest power of two >= cap (at least 1)."""
    n = 1
    while n < cap and n < _MAX_CAPACITY:
        n <<= 1
    return n


def _java_order(keys: Iterable[K], capacity: int) -> list[K]:
    mask = capacity - 1
    return sorted(keys, key=lambda k: _spread(java_hash(k)) & mask)


class JavaHashMap(dict):  # type: ignore[type-arg]
    """An insertion-ordered dict that also iterates like ``java.util.HashMap`` on demand.

    Plain dict iteration keeps Python's insertion order; ``java_keys()`` /
    ``java_items()`` / ``java_values()`` give the Java order. Only ``m[k] = v``,
    ``setdefault`` and ``update`` grow the modelled capacity, as ``put`` does in Java.
    """

    __slots__ = ("capacity",)

    def __init__(self, initial_capacity: int = 16) -> None:
        super().__init__()
        self.capacity = table_size_for(max(1, initial_capacity))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.capacity * 3 // 4 and self.capacity < _MAX_CAPACITY:
            self.capacity <<= 1

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def java_keys(self) -> list[Any]:
        """Keys in ``HashMap`` iteration order."""
        return _java_order(self.keys(), self.capacity)

    def java_items(self) -> Iterator[tuple[Any, Any]]:
        """(key, value) pairs in ``HashMap`` iteration order."""
        return ((k, self[k]) for k in self.java_keys())

    def java_values(self) -> Iterator[Any]:
        """Values in ``HashMap`` iteration order."""
        return (self[k] for k in self.java_keys())

    def java_clone(self) -> JavaHashMap:
        """``(HashMap) this.clone()``: entries re-put in Java order into a table sized for them."""
        clone = JavaHashMap()
        for key in self.java_keys():
            dict.__setitem__(clone, key, self[key])
        size = len(self)
        clone.capacity = table_size_for(int(size / 0.75 + 1.0)) if size else 16
        return clone


def java_set_order(items: Iterable[K], initial_capacity: int = 16) -> list[K]:
    """Iteration order of a ``new HashSet<>()`` after ``add``-ing ``items`` in this order."""
    seen: JavaHashMap = JavaHashMap(initial_capacity)
    for item in items:
        if item not in seen:
            seen[item] = True
    return seen.java_keys()
