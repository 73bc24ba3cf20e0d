"""Scheduled sweeps: the 48-hour detector and the roll-call completeness sweep. Silence is found
by sweeping stored state, never by counting ticks: a late or skipped pass still finds everything
overdue, and the database's claims make each announcement once across replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from attendance.usecases.completeness import sweep
from attendance.usecases.detector import detect_overdue
from shared import metrics
from shared.service import Runtime
from shared.uow import UnitOfWork
from shared.waiting import wait_or_stop

log = structlog.get_logger("baoxue.detector")


async def _every(runtime: Runtime, stop: asyncio.Event, interval_s: float, job: str,
                 step: Callable[[UnitOfWork], Awaitable[object]]) -> None:
    # One interval before the first pass: a replica starting does not race the requests it is
    # about to serve, and a restart loses nothing (the sweep finds whatever came due meanwhile).
    while not await wait_or_stop(stop, interval_s):
        try:
            async with runtime.uow() as uow:
                await step(uow)
            metrics.JOB_RUNS.labels(runtime.settings.service_name, job, "ok").inc()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.JOB_RUNS.labels(runtime.settings.service_name, job, "error").inc()
            log.warning(f"{job}.failed", error=exc)


async def run_detector(runtime: Runtime, stop: asyncio.Event) -> None:
    async def step(uow: UnitOfWork) -> None:
        if fired := await detect_overdue(uow, runtime.settings):
            log.info("detector.fired", episodes=fired)

    await _every(runtime, stop, runtime.settings.detector_interval_s, "absence_detector", step)


async def run_roll_call_sweep(runtime: Runtime, stop: asyncio.Event) -> None:
    """Roll calls never taken (动态监测): store and announce the class-sessions that became
    missing and escalate runs of missed days."""
    async def step(uow: UnitOfWork) -> None:
        swept = await sweep(uow, runtime.settings)
        if swept.missing or swept.escalated:
            log.info("roll_calls.missing", sessions=swept.missing, escalated=swept.escalated)

    await _every(runtime, stop, runtime.settings.roll_call_sweep_interval_s, "roll_call_sweep", step)

