"""Report generation from made-up results: tables, ratios, targets, plot file; stats helpers; run plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmqlite.bench import report
from rmqlite.bench.stats import Meter, Window, format_line, percentile


def _sync(size: int, inflight: int, tps: float, p99: float) -> dict:
    return {"kind": "sync", "size": size, "inflight": inflight, "batch": 1, "count": int(tps * 3), "failed": 0,
            "tps": tps, "rt_avg_ms": p99 / 4, "rt_p50_ms": p99 / 5, "rt_p99_ms": p99, "rt_p999_ms": p99 * 2,
            "rt_max_ms": p99 * 3}


def _results() -> dict:
    def run(system: str, topo: str, scale: float, ready: float, rss: int) -> dict:
        steps = [{"kind": "topic", "topic": "BenchSend"},
                 dict(_sync(1024, 8, 100.0, 1.0), tag="warmup"),
                 _sync(1024, 64, 1000.0 * scale, 10.0 / scale), _sync(128, 1, 500.0 * scale, 2.0),
                 {"kind": "consume", "count": 1000, "expected": 1000, "tps": 900.0 * scale,
                  "tps_from_first": 1000.0 * scale},
                 {"kind": "e2e", "size": 1024, "rate": 100.0, "count": 100, "lost": 0, "e2e_p50_ms": 1.0,
                  "e2e_p99_ms": 5.0, "e2e_p999_ms": 9.0}]
        return {"system": system, "topology": topo, "status": "ok", "describe": "x", "start_to_ready_s": ready,
                "peak_rss_bytes": rss, "peak_anon_bytes": rss // 2, "steps": steps}

    return {"meta": {"mode": "quick", "started": "now", "total_seconds": 1.0, "versions": {"rmqlite": "0"},
                     "machine": {"cpu": "cpu", "cores": 2}},
            "runs": [run("rocketmq", "single", 1.0, 8.0, 1000 << 20), run("rmqlite", "single", 0.5, 0.5, 100 << 20),
                     run("floor", "single", 2.0, 0.3, 20 << 20),
                     run("rocketmq", "dledger", 1.0, 12.0, 3000 << 20),
                     {"system": "rmqlite", "topology": "dledger", "status": "skipped", "reason": "no DLedger"}]}


def test_rows_pair_systems_and_drop_warmup() -> None:
    rows = report.rows(_results(), "single")
    keys = [k for k, _ in rows]
    assert ("sync", 1024, 8, 1) not in keys               # the warmup step
    assert keys[0] == ("sync", 128, 1, 1) and keys[1] == ("sync", 1024, 64, 1)
    by = dict(rows)[("sync", 1024, 64, 1)]
    assert set(by) == {"rocketmq", "rmqlite", "floor"}


def test_targets_ratios() -> None:
    tg = {(t["target"].split(",")[0], t["topology"]): t for t in report.targets(_results())}
    send = tg[("send throughput", "single")]
    assert send["ratio"] == pytest.approx(0.5) and send["met"] is False
    assert tg[("p99 latency", "single")]["ratio"] == pytest.approx(2.0)
    assert tg[("start-to-ready", "single")]["ratio"] == pytest.approx(0.5 / 8) and not tg[("start-to-ready",
                                                                                          "single")]["met"]
    assert tg[("peak RSS", "single")]["met"] is True
    assert tg[("send throughput", "dledger")]["met"] is None   # rmqlite skipped: not measured


def test_markdown_has_tables_ratios_and_skips() -> None:
    md = report.render_markdown(_results(), "report.png")
    assert "| sync send 1 KiB x64 in flight | 1,000 | 500.0 | 0.50x |" in md
    assert "consume 1,000-message backlog" in md
    assert "rmqlite / floor" in md and "![sync send throughput and p99](report.png)" in md
    assert "**rmqlite**: skipped: no DLedger" in md
    assert "| start-to-ready | single | <= 1/20 | 1/16 | **no** |" in md


def test_plot_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "report.png"
    assert report.render_plot(_results(), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_window_and_meter() -> None:
    assert percentile([], 0.99) == 0
    assert percentile(list(range(1, 101)), 0.99) == 99 and percentile(list(range(1, 101)), 0.5) == 50
    w = Window()
    for ns in (1_000_000, 2_000_000, 3_000_000):
        w.add(ns)
    w.fail()
    s = w.summary(1.0)
    assert s["count"] == 3 and s["failed"] == 1 and s["rt_max_ms"] == 3.0 and s["tps"] == 3.0
    meter = Meter(0)
    meter.add(5_000_000, units=10)
    assert meter.tick(500_000_000) is None
    line = meter.tick(1_000_000_000)
    assert line is not None and line["count"] == 10 and line["t"] == 1.0
    assert "TPS" in format_line(line) and "failed 0" in format_line(line)
    assert meter.summary(2_000_000_000)["tps"] == 5.0


def test_plans_and_topologies(tmp_path: Path) -> None:
    import run as bench_run
    import topology

    full = bench_run.plan_steps("full", "rmqlite")
    assert any(s.startswith("fill:") and "count=1000000" in s for s in full)
    assert sum(s.startswith("sync:") and "tag=warmup" not in s for s in full) == 9
    assert not any(s.startswith(("topic:", "fill:", "consume:", "e2e:")) for s in bench_run.plan_steps("quick",
                                                                                                       "floor"))
    ports = topology.PortAllocator()
    single = topology.plan("single", tmp_path / "s", ports)
    dl = topology.plan("dledger", tmp_path / "d", ports)
    cl = topology.plan("cluster", tmp_path / "c", ports)
    assert len(single.brokers) == 1 and len(dl.brokers) == 3 and len(cl.brokers) == 6 and len(cl.namesrv_ports) == 2
    peers = {n.conf["dLegerPeers"] for n in dl.brokers}
    assert len(peers) == 1 and [n.conf["dLegerSelfId"] for n in dl.brokers] == ["n0", "n1", "n2"]
    assert all(n.conf["enableDLegerCommitLog"] == "true" and n.conf["dLegerGroup"] == "broker-a" for n in dl.brokers)
    assert {n.conf["brokerName"] for n in cl.brokers} == {"broker-a", "broker-b"}
    assert cl.brokers[0].conf["namesrvAddr"] == cl.namesrv_addr
    used = [int(n.conf["listenPort"]) for t in (single, dl, cl) for n in t.brokers]
    assert len(used) == len(set(used))
    cmd = topology.RmqliteSystem().broker_cmd(single, single.brokers[0], tmp_path / "b.conf")
    assert cmd.argv[1:4] == ["-m", "rmqlite", "broker"] and cmd.ready_text == "boot success"
