"""Side-by-side benchmark report (Markdown + PNG) from a results document.

How it works:
1. Input is the dict that bench/run.py writes as results.json: ``meta`` (machine, versions, settings, mode) and
   ``runs``, one per (system, topology) with ``status`` ok / error / skipped, start-to-ready, peak RSS and the
   load generator's JSON lines in ``steps`` (``kind`` sync / async / batch / fill / consume / e2e).
2. ``rows(results, topology)`` pairs the steps of each system by workload key (kind, size, inflight, batch) and
   ``render_markdown`` prints, per topology, one line per workload: TPS and p50/p99/p999 of each system and
   the rmqlite / RocketMQ ratios (and rmqlite / floor where the floor ran). A "targets" table states each
   target of the issue with its measured ratio and whether it was met.
3. ``render_plot`` draws sync-send TPS and p99 per workload and system (matplotlib, imported lazily; returns
   False when it is not installed, so the report works without it).
Pure functions of the results dict: the tests feed made-up results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["rows", "render_markdown", "render_plot", "targets", "workload_label", "SYSTEMS"]

SYSTEMS = ("rocketmq", "rmqlite", "floor")
TITLES = {"rocketmq": "RocketMQ 4.9.4", "rmqlite": "rmqlite", "floor": "floor"}
TOPOLOGY_TITLES = {"single": "1 namesrv + 1 broker", "dledger": "1 namesrv + one 3-node DLedger group",
                   "cluster": "2 namesrv + 2 DLedger groups x 3 nodes (default 2x3+2 cluster)"}
_KIND_ORDER = {"sync": 0, "async": 1, "batch": 2, "fill": 3, "consume": 4, "e2e": 5}

Key = tuple[str, int, int, int]


def _size(n: int) -> str:
    return f"{n // 1024} KiB" if n >= 1024 and n % 1024 == 0 else f"{n} B"


def workload_key(step: dict) -> Key:
    return (str(step.get("kind")), int(step.get("size", 0) or 0), int(step.get("inflight", 0) or 0),
            int(step.get("batch", 0) or 0))


def workload_label(key: Key) -> str:
    kind, size, inflight, batch = key
    if kind == "sync":
        return f"sync send {_size(size)} x{inflight} in flight"
    if kind == "async":
        return f"async send {_size(size)} x{inflight} in flight"
    if kind == "batch":
        return f"batch send {batch} x {_size(size)}, x{inflight} in flight"
    if kind == "fill":
        return f"backlog fill ({_size(size)}, batches of {batch})"
    if kind == "consume":
        return "consume backlog"
    if kind == "e2e":
        return f"produce-to-consume ({_size(size)})"
    return kind


def _runs(results: dict, topology: str) -> dict[str, dict]:
    return {r["system"]: r for r in results.get("runs", []) if r.get("topology") == topology}


def rows(results: dict, topology: str) -> list[tuple[Key, dict[str, dict]]]:
    """[(workload key, {system: step})] in a stable order; topic steps and warmup-tagged steps left out."""
    table: dict[Key, dict[str, dict]] = {}
    for system, run in _runs(results, topology).items():
        for step in run.get("steps", []):
            if step.get("kind") in (None, "topic") or step.get("tag") == "warmup":
                continue
            table.setdefault(workload_key(step), {})[system] = step
    return sorted(table.items(), key=lambda kv: (_KIND_ORDER.get(kv[0][0], 9), kv[0][1], kv[0][2], kv[0][3]))


def _num(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and v >= 1000:
        return f"{v:,.0f}"
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return f"{v:,}"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ratio(a: Any, b: Any) -> float | None:
    try:
        if a is None or b is None or float(b) == 0:
            return None
        return float(a) / float(b)
    except (TypeError, ValueError):
        return None


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "–"
    return f"{r:.2f}x" if r >= 0.095 else f"1/{1 / r:.0f}" if r > 0 else "0"


def _ok(step: dict | None) -> bool:
    return bool(step) and not step.get("error") and (step.get("count") or 0) > 0


def _tps(step: dict | None) -> float | None:
    if not step or step.get("count") in (None, 0):
        return None
    return step.get("tps_from_first") or step.get("tps") if step.get("kind") == "consume" else step.get("tps")


def _lat(step: dict | None, which: str) -> float | None:
    if not step:
        return None
    prefix = "e2e_" if step.get("kind") == "e2e" else "rt_"
    return step.get(f"{prefix}{which}_ms")


def _lat3(step: dict | None) -> str:
    if not step:
        return "–"
    vals = [_lat(step, w) for w in ("p50", "p99", "p999")]
    if any(v is None for v in vals):
        return "–"
    return " / ".join(f"{v:.1f}" if v >= 10 else f"{v:.2f}" for v in vals)


def _note(step: dict | None) -> str:
    if not step:
        return ""
    bits = []
    if step.get("failed"):
        bits.append(f"{step['failed']} failed")
    if step.get("lost"):
        bits.append(f"{step['lost']} lost")
    if step.get("error") and (bits or not step.get("count")):   # an error seen only in warmup is no news
        bits.append(" ".join(str(step["error"]).split())[:240])
    return "; ".join(bits)


def _mib(n: Any) -> str:
    return "–" if not n else f"{n / 1048576:,.0f}"


def _topology_table(results: dict, topology: str) -> list[str]:
    runs = _runs(results, topology)
    have_floor = "floor" in runs and runs["floor"].get("status") == "ok"
    head = ["workload", "RocketMQ msg/s", "rmqlite msg/s", "rmqlite / RocketMQ",
            "RocketMQ p50/p99/p999 ms", "rmqlite p50/p99/p999 ms", "p99 ratio"]
    if have_floor:
        head += ["floor msg/s", "floor p50/p99/p999 ms", "rmqlite / floor"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes = []
    for key, by in rows(results, topology):
        r, q, f = by.get("rocketmq"), by.get("rmqlite"), by.get("floor")
        label = workload_label(key)
        if key[0] == "consume":
            label = f"consume {_num(int((r or q or {}).get('expected', 0) or 0))}-message backlog"
        if key[0] == "e2e":
            rate = (r or q or {}).get("rate")
            label += f" at {rate:.0f} msg/s" if rate else ""
        cells = [label, _num(_tps(r)), _num(_tps(q)), _fmt_ratio(_ratio(_tps(q), _tps(r))),
                 _lat3(r), _lat3(q), _fmt_ratio(_ratio(_lat(q, "p99"), _lat(r, "p99")))]
        if key[0] in ("fill", "consume"):
            cells[4:7] = ["", "", ""]
        if key[0] == "e2e":
            cells[1:4] = ["", "", ""]
        if have_floor:
            cells += [_num(_tps(f)), _lat3(f), _fmt_ratio(_ratio(_tps(q), _tps(f)))] if f else ["", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
        for system, step in (("RocketMQ", r), ("rmqlite", q), ("floor", f)):
            if _note(step):
                notes.append(f"- {label}, {system}: {_note(step)}")
    extra = [("start-to-ready (s)", "start_to_ready_s", lambda v: f"{v:.2f}" if v else "–"),
             ("peak RSS, all processes (MiB)", "peak_rss_bytes", _mib),
             ("  of which anonymous (MiB)", "peak_anon_bytes", _mib)]
    for label, field, fmt in extra:
        a = runs.get("rocketmq", {}).get(field)
        b = runs.get("rmqlite", {}).get(field)
        cells = [label, fmt(a), fmt(b), _fmt_ratio(_ratio(b, a)), "", "", ""]
        if have_floor:
            c = runs["floor"].get(field)
            cells += [fmt(c), "", _fmt_ratio(_ratio(b, c)) if field != "start_to_ready_s" else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + ([""] + notes if notes else [])


def _find(results: dict, topology: str, system: str, kind: str, size: int, inflight: int) -> dict | None:
    for step in _runs(results, topology).get(system, {}).get("steps", []):
        if step.get("kind") == kind and step.get("size") == size and step.get("inflight") == inflight \
                and step.get("tag") != "warmup":
            return step
    return None


def targets(results: dict) -> list[dict]:
    """The issue's targets with measured ratios: [{target, topology, ratio, goal, met}] (met None = not measured)."""
    out = []
    topologies = [t for t in ("single", "dledger", "cluster") if _runs(results, t)]
    for topo in topologies:
        runs = _runs(results, topo)
        r = _find(results, topo, "rocketmq", "sync", 1024, 64)
        q = _find(results, topo, "rmqlite", "sync", 1024, 64)
        checks = [
            ("send throughput, sync 1 KiB x64 in flight", _ratio(_tps(q), _tps(r)), ">= 1.0", lambda x: x >= 1.0),
            ("p99 latency, sync 1 KiB x64 in flight", _ratio(_lat(q, "p99"), _lat(r, "p99")), "<= 1.0",
             lambda x: x <= 1.0),
            ("start-to-ready", _ratio(runs.get("rmqlite", {}).get("start_to_ready_s"),
                                      runs.get("rocketmq", {}).get("start_to_ready_s")), "<= 1/20",
             lambda x: x <= 0.05),
            ("peak RSS", _ratio(runs.get("rmqlite", {}).get("peak_rss_bytes"),
                                runs.get("rocketmq", {}).get("peak_rss_bytes")), "<= 1/10", lambda x: x <= 0.1),
            ("(for reference) peak RSS without mapped store pages (anonymous memory)",
             _ratio(runs.get("rmqlite", {}).get("peak_anon_bytes"), runs.get("rocketmq", {}).get("peak_anon_bytes")),
             "<= 1/10", lambda x: x <= 0.1),
        ]
        for name, ratio, goal, test in checks:
            out.append({"target": name, "topology": topo, "ratio": ratio, "goal": goal,
                        "met": None if ratio is None else bool(test(ratio))})
    return out


def render_markdown(results: dict, plot_name: str | None = None) -> str:
    """The whole report as Markdown."""
    meta = results.get("meta", {})
    lines = [f"# rmqlite vs Apache RocketMQ 4.9.4 — benchmark report ({meta.get('mode', '?')} run)", ""]
    lines += [f"- **when**: {meta.get('started', '?')} (total {meta.get('total_seconds', 0):.0f} s)"]
    mach = meta.get("machine", {})
    if mach:
        lines.append(f"- **machine**: {mach.get('cpu', '?')}, {mach.get('cores', '?')} cores, "
                     f"{mach.get('memory', '?')} RAM, {mach.get('os', '?')}, kernel {mach.get('kernel', '?')}")
        if mach.get("load average before / after"):
            lines.append(f"- **load average (1, 5, 15 min) before / after the run**: "
                         f"{mach['load average before / after']} (other work on the machine shares the cores)")
    for name, v in meta.get("versions", {}).items():
        lines.append(f"- **{name}**: {v}")
    for name, v in meta.get("settings", {}).items():
        lines.append(f"- **{name}**: {v}")
    lines.append("")
    tgs = targets(results)
    if tgs:
        lines += ["## Targets (ratio = rmqlite / RocketMQ, same run, same machine)", "",
                  "| target | topology | goal | measured | met |", "|---|---|---|---|---|"]
        for t in tgs:
            met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
            lines.append(f"| {t['target']} | {t['topology']} | {t['goal']} | {_fmt_ratio(t['ratio'])} | {met} |")
        lines.append("")
    if plot_name:
        lines += [f"![sync send throughput and p99]({plot_name})", ""]
    for topo in ("single", "dledger", "cluster"):
        runs = _runs(results, topo)
        if not runs:
            continue
        lines += [f"## {topo}: {TOPOLOGY_TITLES.get(topo, topo)}", ""]
        for system in SYSTEMS:
            run = runs.get(system)
            if run and run.get("status") != "ok":
                lines.append(f"- **{TITLES[system]}**: {run.get('status')}: {run.get('reason', '')}")
            elif run and run.get("describe"):
                lines.append(f"- {TITLES[system]}: {run['describe']}")
        lines.append("")
        lines += _topology_table(results, topo)
        lines.append("")
        py = {s: run.get("pytool") for s, run in runs.items() if run.get("pytool")}
        if py:
            lines += ["Python protocol tool (`python -m rmqlite bench produce`), same server, for reference:", "",
                      "| system | workload | msg/s | p50/p99/p999 ms |", "|---|---|---|---|"]
            for s, p in py.items():
                if p.get("error"):
                    lines.append(f"| {TITLES.get(s, s)} | – | – | {p['error'][:80]} |")
                    continue
                lines.append(f"| {TITLES.get(s, s)} | produce {_size(p.get('size', 0))} x{p.get('inflight')} | "
                             f"{_num(p.get('tps'))} | {_lat3(p)} |")
            lines.append("")
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines).rstrip() + "\n"


def render_plot(results: dict, path: Path) -> bool:
    """PNG of sync-send TPS and p99 per topology and system; False if matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    topologies = [t for t in ("single", "dledger", "cluster") if _runs(results, t)]
    if not topologies:
        return False
    fig, axes = plt.subplots(2, len(topologies), figsize=(6.5 * len(topologies), 8), squeeze=False)
    colors = {"rocketmq": "#d9534f", "rmqlite": "#337ab7", "floor": "#999999"}
    for col, topo in enumerate(topologies):
        keyed = [(k, by) for k, by in rows(results, topo) if k[0] in ("sync", "async", "batch")]
        labels = [workload_label(k).replace(" send", "").replace(" in flight", "") for k, _ in keyed]
        systems = [s for s in SYSTEMS if any(s in by for _, by in keyed)]
        width = 0.8 / max(1, len(systems))
        for row, (metric, title) in enumerate((("tps", "messages/s (log)"), ("p99", "p99 latency ms (log)"))):
            ax = axes[row][col]
            for i, s in enumerate(systems):
                vals = [(_tps(by.get(s)) if metric == "tps" else _lat(by.get(s), "p99")) or 0 for _, by in keyed]
                xs = [x + (i - (len(systems) - 1) / 2) * width for x in range(len(keyed))]
                ax.bar(xs, vals, width, label=TITLES[s], color=colors[s])
            ax.set_yscale("log")
            ax.set_xticks(range(len(keyed)))
            ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
            ax.set_ylabel(title)
            ax.set_title(f"{topo}: {title.split(' (')[0]}")
            ax.grid(axis="y", alpha=0.3)
            if row == 0 and col == 0:
                ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True
