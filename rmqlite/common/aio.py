"""Small asyncio helpers shared by the shells (never imported by pure cores).

How it works: ``asyncio.wait_for`` on Python 3.11 can swallow a cancellation that
lands just as the awaited thing completes, so a periodic loop built on it may never stop.
1. ``wait_event`` uses ``asyncio.timeout`` instead, which re-raises the cancellation.
2. ``stop_tasks`` keeps close paths bounded: it cancels tasks and waits for them at most
   ``timeout_s``; a task that swallowed its cancellation is logged and left behind.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("rmqlite")


async def wait_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until ``event`` is set or ``timeout_s`` passes; True if it was set."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def stop_tasks(tasks: list[asyncio.Task[None]], timeout_s: float, what: str) -> None:
    """Cancel ``tasks`` and wait for them at most ``timeout_s`` (see rule 2)."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        log.warning("%s: task %s did not stop within %.1fs after cancel", what, task.get_name(), timeout_s)
