"""Small asyncio helpers shared by the shells (never imported by pure cores).

How it works: ``asyncio.wait_for`` on Python 3.11 can swallow a cancellation that
lands just as the awaited event is set, so a periodic loop built on it may never stop.
``wait_event`` uses ``asyncio.timeout`` instead, which re-raises the cancellation.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until ``event`` is set or ``timeout_s`` passes; True if it was set."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True
