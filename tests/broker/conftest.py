"""Fixtures for broker handler tests (the harness lives in broker_harness.py)."""

from __future__ import annotations

from typing import Any

import pytest
from broker_harness import Harness


@pytest.fixture
def h(tmp_path: Any) -> Any:
    harness = Harness(str(tmp_path / "store"))
    yield harness
    harness.close()


@pytest.fixture
def make_harness(tmp_path: Any) -> Any:
    made: list[Harness] = []

    def make(sub: str = "store", **overrides: Any) -> Harness:
        harness = Harness(str(tmp_path / sub), **overrides)
        made.append(harness)
        return harness
    yield make
    for harness in made:
        try:
            harness.close()
        except Exception:
            pass
