"""``python -m rmqlite cluster``: the original docker-compose cluster with one command.

How it works:
1. ``cluster [options]`` starts the cluster in the foreground (``supervisor.run_cluster``) and
   prints the namesrv address and the node table once ready; Ctrl-C stops it. ``-d`` starts the
   same command in the background, shows its output until ready, and returns.
2. ``cluster status|stop|kill NODE|restart NODE|clean|isolate NODE|heal [NODE]|delay NODE MS`` reach
   the running cluster through its control port (``control.find_running``).
3. Errors are one line on stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["register"]

_ORIGINAL = ("make run -> cluster;  make run-signle -> cluster --groups 1;  make stop -> cluster stop;  "
             "make clean -> cluster clean;  make config -> --advertise-host")


def register(subparsers: Any) -> None:
    """Add ``cluster`` and its subcommands to the ``python -m rmqlite`` parser."""
    from rmqlite.cluster.spec import DEFAULT_BASE_PORT, DEFAULT_REPLICAS
    p = subparsers.add_parser(
        "cluster", help="run a local cluster: 2 nameservers + 2 DLedger groups of 3 brokers",
        description="Start (or manage) a local RocketMQ cluster like the original docker-compose one. "
                    + _ORIGINAL, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--groups", type=int, default=2, help="broker groups (RaftNode00, RaftNode01, ...)")
    p.add_argument("--replicas", type=int, default=DEFAULT_REPLICAS,
                   help="nodes per group; 1 = a plain master, 3 = a DLedger group")
    p.add_argument("--namesrvs", type=int, default=2, help="nameservers")
    p.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT,
                   help="namesrvs at P, P+1..; brokers listen on P+21035+10n (30911..), DLedger P+31035+n "
                        "(40911..); 0 = any free ports")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where nodes keep their conf, store and logs, kept across runs "
                        "(default $RMQLITE_HOME/cluster, $RMQLITE_HOME=~/.rmqlite)")
    p.add_argument("--ephemeral", action="store_true", help="use a temp data dir, deleted at exit")
    p.add_argument("--advertise-host", default=None,
                   help="the broker/namesrv host clients are told (brokerIP1), e.g. this machine's LAN address")
    p.add_argument("--conf-dir", type=Path, default=None,
                   help="start from a folder of <node>/conf/broker.conf files (like the original's broker-01..06)")
    p.add_argument("--cluster-name", default="RaftCluster", help="brokerClusterName")
    p.add_argument("--in-process", action="store_true", help="run every node in this one process")
    p.add_argument("--faults", action="store_true",
                   help="put loopback proxies in front of every node so isolate/heal/delay work")
    p.add_argument("--console-port", type=int, default=8080,
                   help="web console port (when rmqlite.console is installed)")
    p.add_argument("--no-console", action="store_true", help="do not start the web console")
    p.add_argument("-d", "--detach", action="store_true", help="run in the background; manage it with the subcommands")
    p.set_defaults(func=_cmd_start)
    sub = p.add_subparsers(dest="cluster_cmd", metavar="{status,stop,kill,restart,clean,isolate,heal,delay}")
    _sub(sub, "status", _cmd_status, "show every node of the running cluster",
         [("--json", dict(action="store_true", help="machine-readable")),
          ("--namesrv", dict(action="store_true", help="print only the namesrv address string"))])
    _sub(sub, "stop", _cmd_stop, "stop the running cluster (every node)")
    _sub(sub, "kill", _cmd_kill, "crash one node (SIGKILL); NODE is broker-01, RaftNode00/n0 or an address",
         [("node", dict(help="node name"))])
    _sub(sub, "restart", _cmd_restart, "restart one node (start it if it is down)", [("node", dict(help="node name"))])
    _sub(sub, "clean", _cmd_clean, "stop the cluster if it runs and delete its data dir")
    _sub(sub, "isolate", _cmd_isolate, "cut a node off from peers, nameservers and clients (needs --faults)",
         [("node", dict(help="node name"))])
    _sub(sub, "heal", _cmd_heal, "lift every fault, or one node's", [("node", dict(nargs="?", default=None))])
    _sub(sub, "delay", _cmd_delay, "delay every message to and from a node",
         [("node", dict(help="node name")), ("ms", dict(type=float, help="milliseconds, 0 removes"))])


def _sub(sub: Any, name: str, func: Any, help_text: str,
         args: tuple[tuple[str, dict[str, Any]], ...] | list[tuple[str, dict[str, Any]]] = ()) -> None:
    sp = sub.add_parser(name, help=help_text, description=help_text)
    for flag, kw in args:
        sp.add_argument(flag, **kw)
    sp.add_argument("--data-dir", dest="sub_data_dir", type=Path, default=None,
                    help="the cluster's data dir (default: the only running cluster, else $RMQLITE_HOME/cluster)")
    sp.set_defaults(func=func)


def _fail(msg: str, code: int = 1) -> int:
    print(f"rmqlite cluster: {msg}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------- start
def _spec(args: argparse.Namespace) -> Any:
    from rmqlite.cluster.spec import ClusterSpec, default_home
    data_dir = None if args.ephemeral else (args.data_dir or default_home() / "cluster")
    return ClusterSpec(groups=args.groups, replicas=args.replicas, namesrvs=args.namesrvs,
                       cluster_name=args.cluster_name, base_port=args.base_port or None,
                       advertise_host=args.advertise_host, data_dir=data_dir, in_process=args.in_process,
                       faults=args.faults, conf_dir=args.conf_dir)


def _cmd_start(args: argparse.Namespace) -> int:
    from rmqlite.cluster.controller import LocalCluster
    from rmqlite.cluster.supervisor import run_cluster
    if args.ephemeral and args.data_dir:
        return _fail("--ephemeral and --data-dir exclude each other", 2)
    spec = _spec(args)
    try:
        spec.validate()
    except ValueError as exc:
        return _fail(str(exc), 2)
    if args.detach:
        return _detach(args, spec)
    cluster = LocalCluster(spec, log_level=args.log_level)
    port = None if args.no_console else args.console_port
    return asyncio.run(run_cluster(cluster, console_port=port))


def _start_argv(args: argparse.Namespace) -> list[str]:
    argv = ["--log-level", args.log_level, "cluster", "--groups", str(args.groups), "--replicas", str(args.replicas),
            "--namesrvs", str(args.namesrvs), "--base-port", str(args.base_port),
            "--cluster-name", args.cluster_name, "--console-port", str(args.console_port)]
    for flag, value in (("--data-dir", args.data_dir), ("--advertise-host", args.advertise_host),
                        ("--conf-dir", args.conf_dir)):
        if value is not None:
            argv += [flag, str(Path(value).expanduser().resolve()) if isinstance(value, Path) else value]
    for flag, on in (("--ephemeral", args.ephemeral), ("--in-process", args.in_process),
                     ("--faults", args.faults), ("--no-console", args.no_console)):
        if on:
            argv.append(flag)
    return argv


def _detach(args: argparse.Namespace, spec: Any) -> int:
    """Start the foreground command in its own session, show its output until ready, return."""
    from rmqlite.cluster.controller import claim_data_dir
    from rmqlite.cluster.spec import default_home
    from rmqlite.cluster.supervisor import READY_LINE
    if spec.data_dir is not None:
        try:
            log_path = claim_data_dir(Path(spec.data_dir)) / "cluster.log"
        except ValueError as exc:
            return _fail(str(exc))
    else:
        log_path = default_home() / "run" / f"cluster-{int(time.time() * 1000)}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "rmqlite", *_start_argv(args)], stdin=subprocess.DEVNULL,
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + spec.ready_timeout_s + 30
    shown = 0
    while time.monotonic() < deadline:
        done = proc.poll() is not None
        text = log_path.read_text(errors="replace")
        upto = len(text) if done else text.rfind("\n") + 1      # whole lines only while it runs
        print(text[shown:upto], end="", flush=True)
        shown = max(shown, upto)
        if READY_LINE in text[:shown]:
            print(f"(running in the background as pid {proc.pid}; its output goes to {log_path})")
            return 0
        if done:
            return _fail(f"the cluster did not start (status {proc.returncode}); log: {log_path}")
        time.sleep(0.05)
    proc.terminate()
    return _fail(f"the cluster was not ready in time; log: {log_path}")


# ---------------------------------------------------------------------------- running cluster
def _running(args: argparse.Namespace) -> Any:
    from rmqlite.cluster.control import find_running
    return find_running(args.sub_data_dir or args.data_dir)


def _control(args: argparse.Namespace, op: str, **kw: Any) -> dict[str, Any]:
    from rmqlite.cluster.control import call
    return call(_running(args), op, **kw)


def _guard(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from rmqlite.cluster.control import ControlError
        try:
            return int(func(args) or 0)
        except ControlError as exc:
            return _fail(str(exc))
    run.__doc__ = func.__doc__
    return run


@_guard
def _cmd_status(args: argparse.Namespace) -> int:
    from rmqlite.cluster.supervisor import format_table
    reply = _control(args, "status")
    if args.namesrv:
        print(reply["namesrv"])
    elif args.json:
        print(json.dumps({k: v for k, v in reply.items() if k != "ok"}, indent=1))
    else:
        print(f"namesrvAddr: {reply['namesrv']}")
        print(f"data dir: {reply['data_dir']} ({reply['mode']})")
        if reply.get("console"):
            print(f"console: {reply['console']}")
        print()
        print(format_table(reply["nodes"]))
    return 0


@_guard
def _cmd_stop(args: argparse.Namespace) -> int:
    from rmqlite.cluster.control import pid_alive
    info = _running(args)
    from rmqlite.cluster.control import call
    call(info, "stop")
    deadline = time.monotonic() + 60
    while pid_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(info.pid):
        return _fail(f"the supervisor (pid {info.pid}) is still stopping")
    print(f"stopped the cluster of {info.data_dir}")
    return 0


@_guard
def _cmd_kill(args: argparse.Namespace) -> int:
    reply = _control(args, "kill", node=args.node)
    print(f"killed {reply['node']} (pid {reply['pid'] or '-'}, was {reply['role']})")
    if reply["role"] == "MASTER":
        status = _control(args, "status")
        others = [n for n in status["nodes"] if n["group"] == reply["group"] and n["alive"]]
        if others:
            print(f"waiting for {reply['group']} to elect a new master...", flush=True)
            try:
                new = _control(args, "wait_master", group=reply["group"], exclude=reply["node"], timeout=20)
                m = new["master"]
                print(f"new master of {reply['group']}: {m['name']} ({m['addr']})")
            except Exception as exc:
                print(f"no new master yet: {exc}")
    return 0


@_guard
def _cmd_restart(args: argparse.Namespace) -> int:
    reply = _control(args, "restart", node=args.node)
    print(f"restarted {reply['node']} (pid {reply['pid'] or '-'})")
    return 0


@_guard
def _cmd_isolate(args: argparse.Namespace) -> int:
    _control(args, "isolate", node=args.node)
    print(f"isolated {args.node}")
    return 0


@_guard
def _cmd_heal(args: argparse.Namespace) -> int:
    _control(args, "heal", node=args.node)
    print(f"healed {args.node or 'every fault'}")
    return 0


@_guard
def _cmd_delay(args: argparse.Namespace) -> int:
    _control(args, "delay", node=args.node, ms=args.ms)
    print(f"delay of {args.node}: {args.ms:g} ms each way")
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    from rmqlite.cluster.control import ControlError, call, find_running, pid_alive
    from rmqlite.cluster.controller import MARKER
    from rmqlite.cluster.spec import default_home
    data_dir = Path(args.sub_data_dir or args.data_dir or default_home() / "cluster").expanduser()
    try:
        info = find_running(data_dir)
        call(info, "stop")
        deadline = time.monotonic() + 60
        while pid_alive(info.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"stopped the cluster of {data_dir}")
    except ControlError:
        pass
    if not data_dir.exists():
        print(f"nothing to clean: {data_dir} does not exist")
        return 0
    if not (data_dir / MARKER).exists():
        return _fail(f"{data_dir} is not a cluster data dir (no {MARKER} file); not deleting it")
    shutil.rmtree(data_dir)
    print(f"deleted {data_dir}")
    return 0

