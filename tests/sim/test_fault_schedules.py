"""Hypothesis-driven fault schedules: hypothesis builds the action list (and shrinks a failing one).

Derandomized and database-free: the same examples every run, never flaky.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmqlite.sim.group import GroupConfig
from rmqlite.sim.network import PARTITION_MODES
from rmqlite.sim.scenario import FAULT_KINDS, Scenario, SimFailure, run_scenario

node = st.integers(0, 4)
action = st.one_of(
    st.tuples(st.just("partition"), st.sampled_from(PARTITION_MODES), st.booleans()),
    st.just(("heal",)),
    st.tuples(st.just("crash"), node, st.booleans()),
    st.tuples(st.just("restart"), node),
    st.tuples(st.just("bounce"), st.integers(-1, 4), st.booleans()),
    st.tuples(st.just("net"), st.sampled_from([0.0, 0.05, 0.2, 0.4]), st.sampled_from([0.0, 0.1, 0.3]),
              st.sampled_from([0.0, 0.1, 0.3])),
    st.tuples(st.just("transfer"), node),
    st.tuples(st.just("prefer"), st.integers(-1, 4)),
)
CHAOS = 120
schedule = st.lists(st.tuples(st.integers(0, CHAOS - 1), action), max_size=25)
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def play(n: int, seed: int, actions: list, window: int, batch: int, load: float) -> None:
    sc = Scenario(seed=seed, group=GroupConfig(n_nodes=n, max_inflight=window, max_batch_entries=batch),
                  chaos_ticks=CHAOS, actions=tuple(actions), load=load, kinds=frozenset(FAULT_KINDS))
    try:
        run_scenario(sc)
    except SimFailure as exc:
        pytest.fail(f"schedule={actions}\n{exc}", pytrace=False)


@SETTINGS
@given(seed=st.integers(0, 2**32), actions=schedule, window=st.sampled_from([1, 4, 64]),
       batch=st.sampled_from([1, 8, 256]), load=st.sampled_from([0.2, 1.0]))
def test_three_nodes_survive_any_schedule(seed: int, actions: list, window: int, batch: int,
                                          load: float) -> None:
    play(3, seed, actions, window, batch, load)


@SETTINGS
@given(seed=st.integers(0, 2**32), actions=schedule, window=st.sampled_from([1, 4, 64]),
       batch=st.sampled_from([1, 8, 256]), load=st.sampled_from([0.2, 1.0]))
def test_five_nodes_survive_any_schedule(seed: int, actions: list, window: int, batch: int, load: float) -> None:
    play(5, seed, actions, window, batch, load)
