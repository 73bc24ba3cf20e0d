"""The one stop-aware wait of every loop that runs until the service stops (the relay, the
consumer's retries, the scheduled jobs): wait this long, but no longer than until ``stop`` is
set, or until ``wake`` is (the relay, told a commit emitted). Awaiting an event never blocks
the event loop, and a stop is heard at once, not at the end of an interval."""

from __future__ import annotations

import asyncio


async def wait_or_stop(stop: asyncio.Event, seconds: float, *, wake: asyncio.Event | None = None) -> bool:
    """Wait up to ``seconds``; return True when ``stop`` is set (now or during the wait).

    With ``wake``, the wait also ends when ``wake`` is set, and ``wake`` is cleared before
    returning, so the next wait sleeps again until the next wake."""
    if stop.is_set():
        return True
    events = [stop] if wake is None else [stop, wake]
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=max(0.0, seconds), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        if wake is not None:
            wake.clear()
    return stop.is_set()
