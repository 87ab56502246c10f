"""The pytest plugin, loaded through its entry point in a fresh pytest (pytester)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(180)

EXAMPLE = '''
import asyncio
import os

import pytest

from rmqlite.client.api import Client


async def _send(namesrv, topic, group, body):
    async with Client(namesrv) as client:
        route = await client.route(topic)
        return await client.send(route, group, 0, body)


def test_default_cluster(rmq_cluster, rmq_namesrv_addr):
    assert rmq_namesrv_addr == rmq_cluster.namesrv_addr
    rmq_cluster.create_topic("PluginTopic")
    assert asyncio.run(_send(rmq_namesrv_addr, "PluginTopic", "RaftNode00", b"hi")).queue_offset == 0
    expect_other_process = os.environ.get("EXPECT_PROCESS") == "1"
    assert (rmq_cluster.node("broker-01").pid != os.getpid()) == expect_other_process


@pytest.mark.rmqlite_cluster(groups=2, namesrvs=2)
def test_marker_shapes_the_cluster(rmq_cluster):
    assert rmq_cluster.groups == ["RaftNode00", "RaftNode01"]
    assert rmq_cluster.namesrv_addr.count(";") == 1


def test_factory_starts_more_clusters(rmq_cluster_factory):
    a = rmq_cluster_factory()
    b = rmq_cluster_factory(groups=2)
    assert a.namesrv_addr != b.namesrv_addr
    a.kill("broker-01")
    a.restart("broker-01")
    a.wait_for_master("RaftNode00")
'''


def test_plugin_fixtures_in_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_example=EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=3)


def test_plugin_process_option(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPECT_PROCESS", "1")
    pytester.makepyfile(test_example=EXAMPLE)
    result = pytester.runpytest_subprocess("--rmqlite-process", "-k", "default", "-p", "no:cacheprovider",
                                           "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1, deselected=2)


def test_plugin_registers_marker_and_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["*rmqlite_cluster(groups=1, replicas=1*"])
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--rmqlite-process*"])
