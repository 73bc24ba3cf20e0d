"""The one stop-aware wait (shared/waiting.py): a stop ends it at once, a wake ends it and is
cleared, and otherwise it lasts its time."""

from __future__ import annotations

import asyncio
import time

from shared.waiting import wait_or_stop


async def test_a_stop_ends_the_wait_at_once_and_says_so():
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, stop.set)
    started = time.monotonic()
    assert await wait_or_stop(stop, 60) is True
    assert time.monotonic() - started < 5
    assert await wait_or_stop(stop, 60) is True  # already stopped: no wait at all


async def test_a_wake_ends_the_wait_and_is_cleared_for_the_next_one():
    stop, wake = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, wake.set)
    assert await wait_or_stop(stop, 60, wake=wake) is False
    assert not wake.is_set()
    started = time.monotonic()
    assert await wait_or_stop(stop, 0.05, wake=wake) is False  # nothing set: it lasts its time
    assert time.monotonic() - started >= 0.04
