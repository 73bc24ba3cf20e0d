"""Scheduled sweeps: one loop shape for every service's periodic job.

A sweep finds its work in stored state (never by counting ticks), so a late or skipped pass
still finds everything due; each pass runs in its own unit of work, and a failed pass (the
database restarting) is logged and retried at the next interval.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import structlog

from shared import metrics
from shared.uow import UnitOfWork

log = structlog.get_logger("baoxue.jobs")


def periodic(name: str, interval_setting: str, sweep: Callable[[UnitOfWork, object], Awaitable[int]]):
    """A job for ``create_app(jobs=[...])``: ``sweep(uow, settings)`` every
    ``settings.<interval_setting>`` seconds; it returns how many things it handled."""

    async def job(runtime, stop: asyncio.Event) -> None:
        settings = runtime.settings
        while not stop.is_set():
            try:
                async with runtime.uow() as uow:
                    handled = await sweep(uow, settings)
                metrics.JOB_RUNS.labels(settings.service_name, name, "ok").inc()
                if handled:
                    log.info("job.handled", job=name, count=handled)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next pass retries; the DB may be restarting
                metrics.JOB_RUNS.labels(settings.service_name, name, "error").inc()
                log.warning("job.failed", job=name, error=repr(exc))
            try:
                await asyncio.wait_for(stop.wait(), getattr(settings, interval_setting))
            except asyncio.TimeoutError:
                pass

    job.__name__ = name
    return job
