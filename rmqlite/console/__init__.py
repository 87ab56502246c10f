"""Web console for rmqlite and any RocketMQ 4.x cluster (``python -m rmqlite console -n NAMESRV``).

``start_console(namesrv, host, port, control)`` starts it in the running event loop and returns a
``Console`` (``.url``, ``await .close()``). aiohttp is imported only here, lazily: install the
``console`` extra (``pip install 'rmqlite[console]'``).
"""

from __future__ import annotations

from typing import Any

from rmqlite.console.control import ClusterControl, NodeInfo

__all__ = ["start_console", "ConsoleUnavailable", "ClusterControl", "NodeInfo"]


class ConsoleUnavailable(OSError):
    """The console's HTTP library (aiohttp) is not installed."""


async def start_console(namesrv: str, host: str = "127.0.0.1", port: int = 0, control: Any = None) -> Any:
    """Serve the console on ``host:port`` (0 = any free port) for the nameserver(s) ``namesrv``."""
    try:
        from rmqlite.console.server import start
    except ImportError as exc:
        if getattr(exc, "name", "") and str(exc.name).startswith("aiohttp"):
            raise ConsoleUnavailable("the web console needs aiohttp: pip install 'rmqlite[console]'") from None
        raise
    return await start(namesrv, host, port, control)
