"""Store test fixtures."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest
from store_helpers import small_config

from rmqlite.store import MessageStore


@pytest.fixture
def open_store(tmp_path) -> Iterator[Callable[..., MessageStore]]:
    """``open_store(now_ms=..., **config)`` opens a store on ``tmp_path/store``; all closed at the end."""
    opened: list[MessageStore] = []

    def factory(now_ms: int = 1_000_000, **kw: object) -> MessageStore:
        s = MessageStore(small_config(str(tmp_path / "store"), **kw))
        s.open(now_ms)
        opened.append(s)
        return s

    yield factory
    for s in opened:
        if s.is_open:
            s.close()
