"""``python -m rmqlite admin <command> [-n NAMESRV] ...``: mqadmin's commands without a JVM.

Every command of ``rmqlite.admin.commands.COMMANDS`` becomes a sub-command with mqadmin's option
letters and long names; ``-n`` defaults to $NAMESRV_ADDR, else 127.0.0.1:9876. A failure prints
one line on stderr (``rmqlite admin <cmd>: ...``) and exits 1 (2 for a bad command line).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any, TextIO

__all__ = ["register", "run_command"]


def register(subparsers: Any) -> None:
    """Add the ``admin`` command and its sub-commands."""
    from rmqlite.admin.commands import COMMANDS
    admin = subparsers.add_parser("admin", help="mqadmin commands (clusterList, topicList, updateTopic, ...)",
                                  description="RocketMQ mqadmin commands, same names, options and output.")
    sub = admin.add_subparsers(dest="admin_command", required=True, metavar="<command>")
    for name in sorted(COMMANDS, key=str.lower):
        cmd = COMMANDS[name]
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        p.add_argument("-n", "--namesrvAddr", default=None,
                       help="Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'")
        for opt in cmd.options:
            if opt.flag:
                p.add_argument(f"-{opt.short}", f"--{opt.long}", dest=opt.long, action="store_true", help=opt.help)
            else:
                p.add_argument(f"-{opt.short}", f"--{opt.long}", dest=opt.long, required=opt.required,
                               help=opt.help, metavar="<arg>")
    admin.set_defaults(func=_main)


def _namesrv(args: argparse.Namespace) -> str:
    return (args.namesrvAddr or os.environ.get("NAMESRV_ADDR") or "127.0.0.1:9876").strip()


def _main(args: argparse.Namespace) -> int:
    return asyncio.run(run_command(args.admin_command, args, _namesrv(args), sys.stdout, sys.stderr))


async def run_command(name: str, args: argparse.Namespace, namesrv: str, out: TextIO, err: TextIO,
                      timeout_ms: int = 5000) -> int:
    """Run one admin command; returns the exit code (errors go to ``err`` as one line)."""
    from rmqlite.admin.commands import COMMANDS, AdminUsage
    from rmqlite.admin.ops import AdminClient, ClientError
    from rmqlite.remoting.transport import RemotingConnectError, RemotingTimeout
    admin = AdminClient(namesrv, timeout_ms=timeout_ms)
    try:
        await COMMANDS[name].fn(admin, args, out)
        out.flush()
        return 0
    except AdminUsage as exc:
        err.write(f"rmqlite admin {name}: {exc}\n")
        return 2
    except ClientError as exc:
        remark = (exc.remark or "").strip().splitlines()
        err.write(f"rmqlite admin {name}: CODE: {exc.code} DESC: {remark[0] if remark else ''}\n")
        return 1
    except RemotingConnectError as exc:
        err.write(f"rmqlite admin {name}: cannot reach {_where(exc, namesrv)}: {exc}\n")
        return 1
    except RemotingTimeout as exc:
        err.write(f"rmqlite admin {name}: timed out: {exc}\n")
        return 1
    except (ValueError, KeyError) as exc:
        err.write(f"rmqlite admin {name}: {type(exc).__name__}: {exc}\n")
        return 1
    finally:
        out.flush()
        await admin.close()


def _where(exc: Exception, namesrv: str) -> str:
    text = str(exc)
    for addr in namesrv.split(";"):
        if addr.strip() and addr.strip() in text:
            return f"nameserver {addr.strip()}"
    return "broker"
