"""Scheduled jobs: one pass of a sweep, repeated until the service stops.

A pass must find all its work from stored state (a late or skipped pass still finds everything
due) and be safe when every replica runs it at once (claims in the database, not in memory)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from shared import metrics
from shared.waiting import wait_or_stop

if TYPE_CHECKING:
    from shared.service import Job, Runtime

log = structlog.get_logger("baoxue.jobs")


def periodic(name: str, one_pass: Callable[[Runtime], Awaitable[int]], interval_s: Callable[[Runtime], float]) -> Job:
    """A job for ``create_app(jobs=[...])`` running ``one_pass(runtime)`` every ``interval_s(runtime)``
    seconds; a failed pass is logged and counted, and the next one retries."""

    async def job(runtime: Runtime, stop: asyncio.Event) -> None:
        service = runtime.settings.service_name
        while not stop.is_set():
            try:
                done = await one_pass(runtime)
                metrics.JOB_RUNS.labels(service, name, "ok").inc()
                if done:
                    log.info("job.done", job=name, count=done)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                metrics.JOB_RUNS.labels(service, name, "error").inc()
                log.warning("job.failed", job=name, error=exc)
            await wait_or_stop(stop, interval_s(runtime))

    job.__name__ = name
    return job
