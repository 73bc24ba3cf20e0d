"""The 48-hour detector: set-based, fires once per episode with several detectors at once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from attendance.usecases.detector import detect_overdue
from shared.clock import FixedClock
from shared.db import make_engine, make_sessionmaker
from shared.envelope import Event
from shared.uow import UnitOfWork, UnitsOfWork
from tests.conftest import migrate, running, settings_for
from tests.factories import RETURNED, THRESHOLD, emitted_events

# Monday 16 Nov 2026, 12:00 in Beijing.
MONDAY_NOON = datetime(2026, 11, 16, 4, 0, tzinfo=UTC)
CLASS = "class-1"
# These tests pin the detector's mechanics on the wall clock without a grace period; the school
# clock has its own tests (test_school_clock.py and below).
WALL_CLOCK = {"absence_counting": "wall_clock", "absence_roll_call_grace_minutes": 0}


def _uow(sm, clock) -> UnitOfWork:
    return UnitsOfWork(sm, source="/baoxue/attendance", clock=clock)()


async def _enroll(attendance, clock, n: int) -> list[str]:
    """Enrolment events applied as the service's consumer applies them."""
    runtime = attendance.app.state.runtime
    ids = [str(uuid.uuid4()) for _ in range(n)]
    for sid in ids:
        async with _uow(runtime.sessionmaker, clock) as uow:
            await runtime.consumers[0].routes.deliver(uow, Event(
                type="baoxue.registry.student.enrolled", source="/baoxue/registry", subject=sid,
                data={"student_id": sid, "school_code": "S1", "class_id": CLASS, "grade": 7,
                      "org_path": ["410000", "S1"], "org_chain": []}))
            await uow.commit()
    return ids


async def _roll_call(attendance, student: str, day: str, session: str, status: str) -> None:
    r = await attendance.post("/v1/roll-calls", json={"school_code": "S1", "class_id": CLASS, "date": day,
                                                      "session": session,
                                                      "marks": [{"student_id": student, "status": status}]})
    assert r.status_code == 200, r.text


async def test_two_detectors_on_one_database_fire_each_episode_exactly_once(databases):
    url = databases.url("attendance")
    await asyncio.to_thread(migrate, "attendance", url)
    clock = FixedClock(MONDAY_NOON)
    settings = settings_for("attendance", database_url=url, environment="test", **WALL_CLOCK)
    # Two replicas: two engines, two connection pools, one database.
    engines = [make_engine(url), make_engine(url)]
    sms = [make_sessionmaker(e) for e in engines]
    try:
        async with running("attendance", url, "127.0.0.1:1", clock=clock, migrated=True,
                           detector_interval_s=3600, **WALL_CLOCK) as attendance:
            students = await _enroll(attendance, clock, 30)
            # Absent since Saturday morning 08:00 local (52 h before Monday noon) for 20 students;
            # 10 were seen on Monday morning.
            for day, session in [("2026-11-14", "am"), ("2026-11-14", "pm"), ("2026-11-15", "am"),
                                 ("2026-11-16", "am")]:
                marks = [{"student_id": s, "status": "absent" if (i < 20 or day != "2026-11-16") else "present"}
                         for i, s in enumerate(students)]
                r = await attendance.post("/v1/roll-calls", json={"school_code": "S1", "class_id": CLASS,
                                                                  "date": day, "session": session, "marks": marks})
                assert r.status_code == 200, r.text

        async def passes(sm, n):
            fired = 0
            for _ in range(n):
                async with _uow(sm, clock) as uow:
                    fired += await detect_overdue(uow, settings)
            return fired

        counts = await asyncio.gather(*(passes(sm, 5) for sm in sms), passes(sms[0], 5), passes(sms[1], 5))
        assert sum(counts) == 20
        emitted = await emitted_events(sms[0], THRESHOLD)
        assert sorted(e["subject"] for e in emitted) == sorted(students[:20])
        assert len({e["id"] for e in emitted}) == 20
        one = emitted[0]
        assert one["hours"] == 52.0 and one["absent_sessions"] >= 3 and one["class_id"] == CLASS
        assert one["episode_started_at"] == "2026-11-14T00:00:00+00:00"  # Saturday 08:00 in Beijing

        # A restart (a new detector, a later pass) finds nothing more to fire.
        clock.advance(hours=24)
        assert await passes(sms[1], 2) == 0
    finally:
        for e in engines:
            await e.dispose()


async def test_not_yet_48_hours_does_not_fire_and_a_return_is_announced_once(databases):
    url = databases.url("attendance")
    clock = FixedClock(MONDAY_NOON)
    async with running("attendance", url, "127.0.0.1:1", clock=clock, detector_interval_s=3600, **WALL_CLOCK) as attendance:
        sm = attendance.app.state.runtime.sessionmaker
        settings = attendance.app.state.runtime.settings
        (student,) = await _enroll(attendance, clock, 1)

        async def roll_call(day, session, status):
            await _roll_call(attendance, student, day, session, status)

        await roll_call("2026-11-14", "pm", "absent")  # Saturday 14:00 local: 46 h before Monday noon
        absence = (await attendance.get(f"/v1/students/{student}/absence")).json()
        assert absence["hours"] == 46.0 and absence["threshold_reached"] is False
        async with _uow(sm, clock) as uow:
            assert await detect_overdue(uow, settings) == 0
        # Monday 14:00: 48 hours, but no roll call has said the child is still away. Silence is
        # no observation: nothing fires until one does.
        clock.advance(hours=2)
        assert (await attendance.get(f"/v1/students/{student}/absence")).json()["hours"] == 48.0
        async with _uow(sm, clock) as uow:
            assert await detect_overdue(uow, settings) == 0
        await roll_call("2026-11-16", "pm", "absent")  # the 14:00 session, exactly at 48 h: observed
        absence = (await attendance.get(f"/v1/students/{student}/absence")).json()
        assert absence["threshold_reached"] is True and absence["observed_at"] == "2026-11-16T06:00:00Z"
        async with _uow(sm, clock) as uow:
            assert await detect_overdue(uow, settings) == 1
        (fired,) = await emitted_events(sm, THRESHOLD)
        assert fired["detected_late"] is False and fired["due_at"] == fired["observed_at"] == "2026-11-16T06:00:00+00:00"

        clock.set(datetime(2026, 11, 17, 1, 0, tzinfo=UTC))  # Tuesday 09:00 local
        await roll_call("2026-11-17", "am", "present")
        await roll_call("2026-11-17", "am", "present")  # re-posted: replaces, no second return
        assert len(await emitted_events(sm, RETURNED)) == 1
        assert (await attendance.get(f"/v1/students/{student}/absence")).json()["since"] is None

        # A new absence after the return is a new episode with its own 48 hours.
        clock.set(datetime(2026, 11, 17, 7, 0, tzinfo=UTC))  # Tuesday 15:00 local
        await roll_call("2026-11-17", "pm", "absent")
        clock.set(datetime(2026, 11, 19, 7, 0, tzinfo=UTC))  # Thursday 15:00 local
        async with _uow(sm, clock) as uow:
            assert await detect_overdue(uow, settings) == 0
        await roll_call("2026-11-19", "pm", "absent")
        async with _uow(sm, clock) as uow:
            assert await detect_overdue(uow, settings) == 1
        assert len(await emitted_events(sm, THRESHOLD)) == 2


async def test_roll_call_naming_a_student_not_in_the_class_is_refused_whole(databases):
    url = databases.url("attendance")
    clock = FixedClock(MONDAY_NOON)
    async with running("attendance", url, "127.0.0.1:1", clock=clock, detector_interval_s=3600, **WALL_CLOCK) as attendance:
        (student,) = await _enroll(attendance, clock, 1)
        r = await attendance.post("/v1/roll-calls", json={
            "school_code": "S1", "class_id": CLASS, "date": "2026-11-16", "session": "am",
            "marks": [{"student_id": student, "status": "absent"}, {"student_id": "stranger", "status": "absent"}]})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["pointer"] == "/marks/1/student_id" and "stranger" in r.json()["detail"]
        assert (await attendance.get(f"/v1/students/{student}/absence")).json()["since"] is None


async def test_absences_posted_late_extend_a_fired_episode_instead_of_firing_again(databases):
    """A teacher catches up on Wednesday's and Thursday's roll calls after the streak fired."""
    url = databases.url("attendance")
    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))  # Friday 10:00 local
    async with running("attendance", url, "127.0.0.1:1", clock=clock, detector_interval_s=3600, **WALL_CLOCK) as attendance:
        sm = attendance.app.state.runtime.sessionmaker
        settings = attendance.app.state.runtime.settings
        (student,) = await _enroll(attendance, clock, 1)

        async def roll_call(day, session, status):
            await _roll_call(attendance, student, day, session, status)

        await roll_call("2026-11-16", "pm", "present")
        # Tuesday 08:00 local onwards: 48 h on Thursday 08:00, and Thursday's roll call shows it.
        for day, session in [("2026-11-17", "am"), ("2026-11-17", "pm"), ("2026-11-18", "am"), ("2026-11-19", "am")]:
            await roll_call(day, session, "absent")
        async with _uow(sm, clock) as uow:
            assert await detect_overdue(uow, settings) == 1
        # Monday afternoon turns out to have been an absence too: the same episode, started earlier.
        await roll_call("2026-11-16", "pm", "absent")
        await roll_call("2026-11-18", "pm", "absent")
        async with _uow(sm, clock) as uow:
            assert await detect_overdue(uow, settings) == 0
        assert len(await emitted_events(sm, THRESHOLD)) == 1
        absence = (await attendance.get(f"/v1/students/{student}/absence")).json()
        assert absence["since"] == "2026-11-16T06:00:00Z" and absence["absent_sessions"] == 6
        # Due Wednesday 14:00 now: the Wednesday afternoon mark posted late is the observation.
        assert absence["due_at"] == absence["observed_at"] == "2026-11-18T06:00:00Z"
        assert await emitted_events(sm, RETURNED) == []

        future = await attendance.post("/v1/roll-calls", json={"school_code": "S1", "class_id": CLASS,
                                                                "date": "2026-11-21", "session": "am",
                                                                "marks": [{"student_id": student, "status": "present"}]})
        assert future.status_code == 422 and future.json()["errors"][0]["field"] == "date"
