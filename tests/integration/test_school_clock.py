"""The 48-hour rule end to end over HTTP with an injected clock, on SQLite and PostgreSQL:
school hours (default) across weekends, calendar holidays and make-up days set per county and
school, leave requested and approved after the fact, roll calls posted late and out of order,
children taken off the roll, chronic absence, and the reads."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

from sqlalchemy import select

from attendance.adapters.tables import roster
from attendance.usecases.detector import detect_overdue
from shared.clock import FixedClock
from shared.envelope import TOPIC_REGISTRY, Event
from shared.uow import UnitsOfWork
from tests.conftest import bearer, running
from tests.factories import CLASS, RETURNED, SCHOOL, THRESHOLD, School, a_school, emitted_events, local
from tests.kafka_helpers import eventually, publish

COUNTY = "410122"
CHRONIC = "baoxue.attendance.chronic_absence.flagged"


async def test_absent_from_thursday_0800_reaches_48_school_hours_on_monday_0800(databases):
    clock = FixedClock(local(19, 8, 5))
    async with a_school(databases, clock) as school:
        away, back = await school.enroll(2)
        for day, session in [(19, "am"), (19, "pm"), (20, "am"), (20, "pm")]:
            clock.set(local(day, 8 if session == "am" else 14, 5).astimezone(UTC))
            await school.roll_call(day, session, {away: "absent", back: "absent"})
        absence = await school.absence(away)
        assert absence["since"] == "2026-11-19T00:00:00Z" and absence["counting"] == "school_hours"
        assert absence["due_at"] == "2026-11-23T00:00:00Z"  # Monday 08:00 Beijing
        # Wall clock would fire on Saturday 08:00; school time stands still over the weekend.
        assert await school.detect(local(21, 8)) == 0
        clock.set(local(22, 23, 59).astimezone(UTC))
        assert (await school.absence(away))["hours"] == 40.0
        # Monday 08:00: 48 h, but only Monday's roll call can say the child is still away. Until
        # it is taken nothing fires, however late (the old rule fired at 10:00 on silence).
        clock.set(local(23, 8, 0).astimezone(UTC))
        absence = await school.absence(away)
        assert absence["hours"] == 48.0 and absence["threshold_reached"] is False and absence["observed_at"] is None
        assert await school.detect(local(23, 12)) == 0
        clock.set(local(23, 8, 10).astimezone(UTC))
        await school.roll_call(23, "am", {away: "absent", back: "present"})
        assert (await school.absence(away))["observed_at"] == "2026-11-23T00:00:00Z"
        # The 120-minute window after the observed session leaves the roll call time to be corrected.
        assert await school.detect(local(23, 9, 59)) == 0
        assert await school.detect(local(23, 10, 0)) == 1
        fired = await school.emitted(THRESHOLD)
        assert [e["subject"] for e in fired] == [away]
        assert fired[0]["hours"] == 50.0 and fired[0]["counting"] == "school_hours" and fired[0]["absent_sessions"] == 5
        # The one present at Monday's 08:00 roll call was away exactly 48 counted hours: no alarm, no return.
        assert (await school.absence(back))["since"] is None and await school.emitted(RETURNED) == []


async def test_no_roll_call_at_the_due_session_raises_nothing_and_a_corrected_absence_is_withdrawn(databases):
    """Monday's roll call is not in by 10:00: nothing fires (silence is no observation). When it
    arrives at 11:00 saying present, there is nothing to undo. Another child marked absent at 08:00
    by mistake fires at 10:00; the correction at 11:00 withdraws it."""
    clock = FixedClock(local(23, 10))
    async with a_school(databases, clock) as school:
        student, mistaken = await school.enroll(2)
        for day, session in [(19, "am"), (19, "pm"), (20, "am"), (20, "pm")]:
            await school.roll_call(day, session, {student: "absent", mistaken: "absent"})
        assert await school.detect() == 0
        clock.set(local(23, 8, 5).astimezone(UTC))
        await school.roll_call(23, "am", {mistaken: "absent"})
        assert await school.detect(local(23, 10)) == 1
        clock.set(local(23, 11).astimezone(UTC))
        await school.roll_call(23, "am", {student: "present", mistaken: "present"})
        (ended,) = await school.emitted(RETURNED)
        (fired,) = await school.emitted(THRESHOLD)
        assert fired["subject"] == mistaken and fired["observed_at"] == "2026-11-23T00:00:00+00:00"
        assert ended["reason"] == "withdrawn" and ended["episode_id"] == fired["episode_id"]
        assert (await school.absence(student))["since"] is None and (await school.absence(mistaken))["since"] is None
        assert await school.detect(local(30, 12)) == 0


async def test_county_holidays_school_make_up_day_and_csv_import_move_the_due_instant(databases):
    clock = FixedClock(local(19, 9))
    async with a_school(databases, clock) as school:
        client = school.client
        (student,) = await school.enroll()
        await school.roll_call(19, "am", {student: "absent"})
        assert (await school.absence(student))["due_at"] == "2026-11-23T00:00:00Z"
        # The county closes every school on Friday: due Tuesday 08:00. The open episode is recomputed.
        r = await client.put(f"/v1/calendars/{COUNTY}", json={"holidays": ["2026-11-20"]})
        assert r.status_code == 200 and r.json()["recomputed_students"] == 1, r.text
        assert (await school.absence(student))["due_at"] == "2026-11-24T00:00:00Z"
        # This school makes it up on Saturday (调休), imported as CSV: due Monday 08:00 again.
        r = await client.post(f"/v1/calendars/{SCHOOL}/entries", content="date,kind,note\n2026-11-21,make_up_day,调休\n",
                              headers={**bearer(), "Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        effective = (await client.get(f"/v1/calendars/{SCHOOL}")).json()["effective"]
        assert effective["holidays"] == ["2026-11-20"] and effective["make_up_days"] == ["2026-11-21"]
        assert (await school.absence(student))["due_at"] == "2026-11-23T00:00:00Z"
        # A bad line rejects the whole upload, naming it; nothing changes.
        r = await client.post(f"/v1/calendars/{SCHOOL}/entries", content="date,kind\n2026-11-22,school_day\nnope,holiday\n",
                              headers={**bearer(), "Content-Type": "text/csv"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/entries/1/date", r.text
        assert (await client.get(f"/v1/calendars/{SCHOOL}")).json()["layer"]["make_up_days"] == ["2026-11-21"]
        # A term ending on Friday: no due instant until the next term is set.
        r = await client.put(f"/v1/calendars/{COUNTY}", json={
            "holidays": ["2026-11-20"], "terms": [{"name": "2026 autumn", "start": "2026-09-01", "end": "2026-11-20"}]})
        assert r.status_code == 200
        assert (await school.absence(student))["due_at"] is None
        assert await school.detect(local(30, 12)) == 0
        bad = await client.put(f"/v1/calendars/{SCHOOL}", json={"weekdays": [0], "sessions": {"am": "25:00"}})
        assert bad.status_code == 422
        assert (await client.put("/v1/calendars/999999", json={})).status_code == 404


async def test_session_times_per_school_set_the_marks_time(databases):
    clock = FixedClock(local(19, 9))
    async with a_school(databases, clock) as school:
        client = school.client
        (student,) = await school.enroll()
        assert (await client.put(f"/v1/calendars/{SCHOOL}", json={"sessions": {"am": "07:30"}})).status_code == 200
        await school.roll_call(19, "am", {student: "absent"})
        assert (await school.absence(student))["since"] == "2026-11-18T23:30:00Z"


async def test_leave_approved_after_the_alarm_withdraws_it_and_the_rest_fires_again(databases):
    clock = FixedClock(local(23, 10))
    async with a_school(databases, clock) as school:
        client = school.client
        (student,) = await school.enroll()
        for day, session in [(19, "am"), (19, "pm"), (20, "am"), (20, "pm"), (23, "am")]:
            await school.roll_call(day, session, {student: "absent"})
        assert await school.detect() == 1
        # The parent's sick note for Thursday and Friday arrives on Monday: a request, then approval.
        staff = bearer("school_staff", SCHOOL)
        r = await client.post("/v1/leaves", headers=bearer("head_teacher", SCHOOL, [CLASS]), json={
            "student_id": student, "start": local(19).isoformat(), "end": local(21).isoformat(), "reason": "病假"})
        assert r.status_code == 201 and r.json()["status"] == "requested", r.text
        leave = r.json()["id"]
        assert await school.emitted(RETURNED) == []  # a request excuses nothing
        assert (await client.post(f"/v1/leaves/{leave}/approve", headers=bearer("head_teacher", SCHOOL, [CLASS]))
                ).status_code == 403
        r = await client.post(f"/v1/leaves/{leave}/approve", headers=staff, json={"note": "医院证明"})
        assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["decided_by"], r.text
        assert (await client.post(f"/v1/leaves/{leave}/reject", headers=staff)).status_code == 409
        (withdrawn,) = await school.emitted(RETURNED)
        assert withdrawn["reason"] == "withdrawn"
        # What is left is Monday's absence: a new episode, its own clock (Mon 16 h + Tue 24 h + Wed 8 h).
        absence = await school.absence(student)
        assert absence["since"] == "2026-11-23T00:00:00Z" and absence["due_at"] == "2026-11-25T00:00:00Z"
        assert absence["episode_id"] != withdrawn["episode_id"] and absence["threshold_fired_at"] is None
        clock.set(local(25, 8).astimezone(UTC))
        await school.roll_call(24, "am", {student: "absent"})
        assert await school.detect(local(25, 12)) == 0  # due Wednesday 08:00, but nobody has looked yet
        clock.set(local(25, 8, 5).astimezone(UTC))
        await school.roll_call(25, "am", {student: "absent"})
        assert await school.detect(local(25, 9, 59)) == 0
        assert await school.detect(local(25, 10)) == 1
        fired = await school.emitted(THRESHOLD)
        assert len(fired) == 2 and fired[1]["episode_id"] == absence["episode_id"]


async def test_rejected_leave_excuses_nothing(databases):
    clock = FixedClock(local(23, 10))
    async with a_school(databases, clock) as school:
        client = school.client
        (student,) = await school.enroll()
        for day, session in [(19, "am"), (20, "am"), (23, "am")]:
            await school.roll_call(day, session, {student: "absent"})
        r = await client.post("/v1/leaves", json={"student_id": student, "start": local(19).isoformat(),
                                                  "end": local(21).isoformat(), "reason": "事假"},
                              headers=bearer("school_staff", SCHOOL))
        waiting = (await client.get(f"/v1/leaves?school_code={SCHOOL}&status=requested",
                                    headers=bearer("school_staff", SCHOOL))).json()
        assert [item["id"] for item in waiting["items"]] == [r.json()["id"]]
        r = await client.post(f"/v1/leaves/{r.json()['id']}/reject", headers=bearer("school_staff", SCHOOL))
        assert r.status_code == 200 and r.json()["status"] == "rejected"
        assert (await client.get("/v1/leaves?status=requested", headers=bearer("school_staff", SCHOOL))
                ).json()["total"] == 0
        assert await school.detect() == 1
        assert (await client.post(f"/v1/leaves/{uuid.uuid4()}/approve", headers=bearer("school_staff", SCHOOL))
                ).status_code == 404


async def test_roll_calls_posted_late_and_out_of_order_give_the_same_clock(databases):
    """A teacher catches up on a week's roll calls on Thursday evening, in no particular order;
    another class's marks are replaced in the reverse order. Both give the same episode."""
    clock = FixedClock(local(26, 18))
    async with a_school(databases, clock) as school:
        a, b = await school.enroll(2)
        sessions = [(23, "am", "present"), (24, "pm", "absent"), (23, "pm", "absent"), (26, "am", "absent"),
                    (25, "am", "absent"), (24, "am", "absent"), (25, "pm", "absent")]
        for day, session, status in sessions:
            await school.roll_call(day, session, {a: status, b: "present"})
        for day, session, status in reversed(sessions):  # b's marks replaced, in the other order
            await school.roll_call(day, session, {a: status, b: status})
        for student in (a, b):  # Monday 14:00: 10 h + Tuesday 24 h + Wednesday 14 h
            absence = await school.absence(student)
            assert absence["since"] == "2026-11-23T06:00:00Z" and absence["due_at"] == "2026-11-25T06:00:00Z"
            assert absence["absent_sessions"] == 6 and absence["hours"] == 76.0
        assert await school.detect() == 2
        fired = await school.emitted(THRESHOLD)
        assert {e["episode_started_at"] for e in fired} == {"2026-11-23T06:00:00+00:00"}
        await school.roll_call(26, "pm", {a: "present", b: "late"})
        returned = await school.emitted(RETURNED)
        assert sorted(e["subject"] for e in returned) == sorted([a, b])
        assert {(e["reason"], e["returned_at"]) for e in returned} == {("returned", "2026-11-26T06:00:00+00:00")}


async def test_a_child_taken_off_the_roll_is_not_absent_and_cases_hears_of_it(databases, broker):
    clock = FixedClock(local(23, 10))
    async with a_school(databases, clock, broker=broker.bootstrap) as school:
        client = school.client
        fired, quiet = await school.enroll(2)
        for day, session in [(19, "am"), (20, "am")]:
            await school.roll_call(day, session, {fired: "absent", quiet: "absent"})
        clock.set(local(20, 10).astimezone(UTC))
        async with school.uow() as uow:  # quiet's episode is younger; only `fired` passes 48 h on Monday
            await school.deliver(uow, Event(
                type="baoxue.registry.student.status_changed", source="/baoxue/registry", subject=quiet,
                data={"student_id": quiet, "status": "suspended", "previous_status": "enrolled",
                      "effective_on": "2026-11-20", "actor": "test", "reason": None}))
            await uow.commit()
        clock.set(local(23, 8, 5).astimezone(UTC))
        await school.roll_call(23, "am", {fired: "absent"})  # Monday's roll call: still away at 48 h
        assert await school.detect(local(23, 10)) == 1
        # Taken off the roll from Tuesday (after the observation on Monday): the alarm stands, the
        # episode ends as of that day.
        clock.set(local(24, 9).astimezone(UTC))
        for status, effective in [("home_teaching", "2026-11-24"), ("enrolled", "2026-11-30")]:
            await publish(broker.bootstrap, TOPIC_REGISTRY, Event(
                type="baoxue.registry.student.status_changed", source="/baoxue/registry", subject=fired,
                data={"student_id": fired, "status": status, "previous_status": "enrolled",
                      "effective_on": effective, "actor": "registry", "reason": "送教上门"}))
            if status == "home_teaching":
                (ended,) = await eventually(lambda: school.emitted(RETURNED), timeout=60)
                assert ended["reason"] == "not_attending" and ended["subject"] == fired
                assert ended["returned_at"] == "2026-11-23T16:00:00+00:00"  # Tuesday 00:00 Beijing
                assert (await school.absence(fired))["since"] is None
        # Back on the roll a week later: the old absences never count again.
        async def back_on_the_roll():
            r = await client.get(f"/v1/students/{fired}/attendance")
            return r.status_code == 200 and (await school.absence(fired))["since"] is None and await _active(school, fired)
        await eventually(back_on_the_roll, timeout=60)
        clock.set(local(30, 9).astimezone(UTC))
        await school.roll_call(30, "am", {fired: "absent"})
        assert (await school.absence(fired))["since"] == "2026-11-30T00:00:00Z"
        refused = await client.post("/v1/roll-calls", json={
            "school_code": SCHOOL, "class_id": CLASS, "date": "2026-11-30", "session": "am",
            "marks": [{"student_id": quiet, "status": "absent"}]})
        assert refused.status_code == 422 and quiet in refused.json()["detail"]
        assert await school.detect(local(30, 12)) == 0 and len(await school.emitted(RETURNED)) == 1


async def _active(school: School, student: str) -> bool:
    async with school.uow() as uow:
        return (await uow.session.execute(select(roster.c.active).where(roster.c.student_id == student))).scalar()


async def test_chronic_absence_is_flagged_once_per_term_and_queryable(databases):
    clock = FixedClock(local(27, 18))
    async with a_school(databases, clock, chronic_absence_min_sessions=10) as school:
        client = school.client
        often, rarely = await school.enroll(2)
        days = [16, 17, 18, 19, 20, 23, 24]
        for i, day in enumerate(days):
            for session in ("am", "pm"):
                await school.roll_call(day, session, {often: "absent" if (day, session) in {(16, "am"), (18, "pm")}
                                                      else "present", rarely: "present"})
        flagged = await school.emitted(CHRONIC)
        assert [e["subject"] for e in flagged] == [often]
        assert flagged[0]["term"] == "2026-autumn" and flagged[0]["sessions"] == 10 and flagged[0]["missed"] == 2
        await school.roll_call(25, "am", {often: "leave", rarely: "present"})  # more missed: no second event
        assert len(await school.emitted(CHRONIC)) == 1
        mine = (await client.get(f"/v1/students/{often}/attendance")).json()
        assert mine["flagged"] is True and mine["sessions"] == 15 and mine["missed"] == 3 and mine["rate"] == 0.2
        other = (await client.get(f"/v1/students/{rarely}/attendance")).json()
        assert other["flagged"] is False and other["rate"] == 0.0

        history = (await client.get(f"/v1/classes/{CLASS}/roll-calls?limit=2")).json()
        assert history["total"] == 15 and history["next_offset"] == 2
        assert history["items"][0]["date"] == "2026-11-25" and history["items"][0]["counts"]["leave"] == 1
        rate = (await client.get(f"/v1/schools/{SCHOOL}/attendance?from=2026-11-16&to=2026-11-17")).json()
        assert [(d["date"], d["marks"], d["rate"]) for d in rate["days"]] == [("2026-11-16", 4, 0.75),
                                                                              ("2026-11-17", 4, 1.0)]


async def test_two_detectors_on_one_database_fire_each_school_hours_episode_exactly_once(databases):
    import asyncio

    from shared.db import make_engine, make_sessionmaker
    from tests.conftest import migrate, settings_for

    url = databases.url("attendance")
    await asyncio.to_thread(migrate, "attendance", url)
    clock = FixedClock(local(23, 9))
    settings = settings_for("attendance", database_url=url, environment="test")
    engines = [make_engine(url), make_engine(url)]
    sms = [make_sessionmaker(e) for e in engines]
    try:
        async with running("attendance", url, "127.0.0.1:1", clock=clock, migrated=True,
                           detector_interval_s=3600) as client:
            school = School(client, clock)
            students = await school.enroll(30)
            # Monday's 08:00 roll call is the observation the alarm needs.
            for day, session in [(19, "am"), (19, "pm"), (20, "am"), (20, "pm"), (23, "am")]:
                await school.roll_call(day, session, {s: "absent" if i < 20 else "present" for i, s in enumerate(students)})

        async def passes(sm, n, at):
            fired = 0
            for _ in range(n):
                async with UnitsOfWork(sm, source="/baoxue/attendance", clock=FixedClock(at))() as uow:
                    fired += await detect_overdue(uow, settings)
            return fired

        saturday = local(21, 12).astimezone(UTC)  # 52 wall-clock hours, 40 school hours: nothing
        assert sum(await asyncio.gather(*(passes(sm, 3, saturday) for sm in sms))) == 0
        monday = local(23, 10).astimezone(UTC)
        counts = await asyncio.gather(*(passes(sm, 5, monday) for sm in sms), passes(sms[0], 5, monday),
                                      passes(sms[1], 5, monday))
        assert sum(counts) == 20
        emitted = await emitted_events(sms[0], THRESHOLD)
        assert sorted(e["subject"] for e in emitted) == sorted(students[:20]) and len({e["id"] for e in emitted}) == 20
        assert {e["hours"] for e in emitted} == {50.0}
        # A restart a day later: nothing more to fire.
        assert await passes(sms[1], 2, monday + timedelta(days=1)) == 0
    finally:
        for e in engines:
            await e.dispose()


async def test_one_live_episode_per_student_and_start_withdrawn_ones_are_history(databases):
    """Two recomputations racing for one child cannot both insert its new episode (it would fire
    twice); a withdrawn row may share the start of the episode recomputed after it."""
    import pytest
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from attendance.adapters.tables import episodes

    start = local(19, 8)
    row = {"student_id": "s", "started_at": start, "last_absent_at": start, "absent_sessions": 1}
    async with a_school(databases, FixedClock(local(23, 10))) as school:
        async with school.uow() as uow:
            await uow.session.execute(insert(episodes).values(id="withdrawn", end_reason="withdrawn", **row))
            await uow.session.execute(insert(episodes).values(id="live", **row))
            await uow.commit()
        with pytest.raises(IntegrityError):
            async with school.uow() as uow:
                await uow.session.execute(insert(episodes).values(id="twin", end_reason="returned", **row))
                await uow.commit()
