"""Project-wide pytest options (registered here so they work from the repository root)."""

from __future__ import annotations

import pytest

def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("rmqlite-sim")
    g.addoption("--sim-seeds", type=int, default=None, help="number of simulation seeds (default 500; env RMQLITE_SIM_SEEDS)")
    g.addoption("--sim-seed-start", type=int, default=None, help="first simulation seed")
    g.addoption("--sim-seed", type=int, default=None, help="run only this simulation seed")
