"""Options for the deterministic Raft simulation tests.

  --sim-seeds=N        run N seeds (default 500; env RMQLITE_SIM_SEEDS)
  --sim-seed-start=S   first seed of the range (default 0; env RMQLITE_SIM_SEED_START)
  --sim-seed=S         run only seed S (env RMQLITE_SIM_SEED) - the reproduce switch printed on failure

The options are registered in tests/conftest.py, so they work from the repository root
(``pytest --sim-seeds=100000``); the environment variables work too.
"""
from __future__ import annotations

import os

import pytest

DEFAULT_SEEDS = 500


def _opt(config: pytest.Config, name: str, env: str) -> int | None:
    try:
        val = config.getoption(name)
    except ValueError:  # conftest not loaded early enough to register the option
        val = None
    if val is None and os.environ.get(env):
        val = int(os.environ[env])
    return val  # type: ignore[no-any-return]


def sim_seed_list(config: pytest.Config) -> list[int]:
    one = _opt(config, "sim_seed", "RMQLITE_SIM_SEED")
    if one is not None:
        return [one]
    n = _opt(config, "sim_seeds", "RMQLITE_SIM_SEEDS")
    start = _opt(config, "sim_seed_start", "RMQLITE_SIM_SEED_START") or 0
    return list(range(start, start + (DEFAULT_SEEDS if n is None else n)))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sim_seed" in metafunc.fixturenames:
        metafunc.parametrize("sim_seed", sim_seed_list(metafunc.config))
