"""docs/testing.md's complete pytest example runs as written (plugin loaded by its entry point)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rmqlite.cluster.spec import broker_runs_dledger

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(300)

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def example_source() -> str:
    text = DOC.read_text()
    block = text.split("<!-- example:begin -->", 1)[1].split("<!-- example:end -->", 1)[0]
    match = re.search(r"```python\n(.*?)```", block, re.DOTALL)
    assert match, "no python block between the example markers"
    return match.group(1)


def test_the_documented_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_orders=example_source())
    args = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
    if not broker_runs_dledger():
        args += ["-k", "not failover"]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=5 if broker_runs_dledger() else 4, deselected=0 if broker_runs_dledger() else 1)
