"""The scheduled 48-hour detector. Silence is found by sweeping stored episodes, never by
counting ticks: a late or skipped pass still finds everything overdue."""

from __future__ import annotations

import asyncio

import structlog

from shared import metrics
from shared.service import Runtime

from attendance.handlers import detect_overdue

log = structlog.get_logger("baoxue.detector")


async def run_detector(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    # One interval before the first pass: a replica starting does not race the requests it is
    # about to serve, and a restart loses nothing (the sweep finds whatever came due meanwhile).
    while not await _stopped_within(stop, settings.detector_interval_s):
        try:
            async with runtime.uow() as uow:
                fired = await detect_overdue(uow, settings)
            metrics.JOB_RUNS.labels(settings.service_name, "absence_detector", "ok").inc()
            if fired:
                log.info("detector.fired", episodes=fired)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the next pass retries; the DB may be restarting
            metrics.JOB_RUNS.labels(settings.service_name, "absence_detector", "error").inc()
            log.warning("detector.failed", error=exc)


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        return False
    return True
