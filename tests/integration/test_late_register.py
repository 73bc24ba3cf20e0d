"""Last fortnight's paper register typed in after the fact (issue 13), over HTTP on SQLite and
PostgreSQL: the alarms must be the ones the complete data supports, whenever and however the
roll calls arrive.

The fortnight is Monday 9 to Friday 20 November 2026, typed in on Monday 23rd. A is absent
Wednesday to Friday of the first week and back on Monday (due Friday 08:00: Wed 16 h + Thu 24 h
+ Fri 8 h, and Friday's 08:00 roll call shows A still away); B is absent only on Friday (due
Tuesday 08:00, but present on Monday); C is absent Tuesday to Thursday with approved sick leave
for Tuesday and Wednesday (from Thursday 08:00, due Monday 08:00, present on Friday). The
complete data says: A reached 48 hours, B and C did not."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import select

from attendance.adapters.tables import episodes
from shared.clock import FixedClock
from shared.envelope import TOPIC_REGISTRY, Event
from shared.messaging import inbox
from tests.conftest import BACKENDS, bearer, running
from tests.factories import (
    CLASS,
    FORTNIGHT,
    PATH,
    RETURNED,
    SCHOOL,
    THRESHOLD,
    a_school,
    approve_leave,
    enroll_on_roster,
    file_sick_leave,
    fortnight_register,
    local,
)
from tests.kafka_helpers import eventually, publish

CHAIN = [{"code": "410000", "kind": "province", "name": "河南省"}, {"code": "410100", "kind": "city", "name": "郑州市"},
         {"code": "410122", "kind": "county", "name": "中牟县"},
         {"code": "410122100", "kind": "township", "name": "城关镇"},
         {"code": SCHOOL, "kind": "school", "name": "城关镇第一初级中学"}]


async def test_the_fortnight_typed_in_day_by_day_with_the_detector_between_days_raises_a_alone(databases):
    """A head teacher catching up a day at a time, the detector passing after every day: before,
    A, B and C each got a case (B and C on 'absent since Friday / Thursday' before Monday was
    typed). Now only A, once, when Friday's roll call shows A still away at 48 hours."""
    async with a_school(databases, FixedClock(local(23, 18))) as school:
        a, b, c = await enroll_on_roster(school, 3)
        await approve_leave(school, await file_sick_leave(school, c))
        marks = fortnight_register(a, b, c)
        fired_after: dict[int, list[str]] = {}
        for day in FORTNIGHT:
            for session in ("am", "pm"):
                await school.roll_call(day, session, marks[day])
            await school.detect()
            fired_after[day] = [e["subject"] for e in await school.emitted(THRESHOLD)]
        assert {day: subjects for day, subjects in fired_after.items() if subjects} == {
            day: [a] for day in FORTNIGHT if day >= 13}
        (fired,) = await school.emitted(THRESHOLD)
        assert fired["observed_at"] == fired["due_at"] == local(13, 8).astimezone(UTC).isoformat()
        assert fired["detected_late"] is False  # Monday had not been typed yet: A was still away
        (back,) = await school.emitted(RETURNED)
        assert (back["subject"], back["reason"]) == (a, "returned")
        for student in (b, c):
            assert (await school.absence(student))["since"] is None


async def test_the_fortnight_posted_in_one_go_raises_a_alone_detected_late(databases):
    """Before, nobody got a case: A's episode had ended before any pass saw it open."""
    async with a_school(databases, FixedClock(local(23, 18))) as school:
        a, b, c = await enroll_on_roster(school, 3)
        await approve_leave(school, await file_sick_leave(school, c))
        marks = fortnight_register(a, b, c)
        for day in reversed(FORTNIGHT):  # and in any order
            for session in ("pm", "am"):
                await school.roll_call(day, session, marks[day])
        assert await school.detect() == 1
        assert await school.detect() == 0
        (fired,) = await school.emitted(THRESHOLD)
        assert fired["subject"] == a and fired["detected_late"] is True
        assert fired["ended_at"] == local(16, 8).astimezone(UTC).isoformat()
        assert fired["end_reason"] == "returned" and fired["hours"] == 72.0  # Wed 16 + Thu 24 + Fri 24 + Mon 8, until Monday 08:00
        (back,) = await school.emitted(RETURNED)
        assert (back["subject"], back["reason"], back["returned_at"]) == (a, "returned", fired["ended_at"])


# Three services and a broker: once, on the production database when it answers (the two tests
# above cover both backends for attendance itself).
@pytest.mark.parametrize("backend", BACKENDS[-1:])
async def test_a_late_detection_opens_a_case_with_the_return_and_a_withdrawn_alarm_leaves_the_weekly_count(
        databases, broker):
    """Through the broker into cases and reporting. The register goes in one go; C's sick note is
    approved only after the detector fired on C (absent Tuesday to Thursday, Thursday's roll
    call at 48 hours): C's alarm is withdrawn, and reporting's week forgets it. A's case opens
    with A's return on its timeline."""
    clock = FixedClock(local(23, 18))
    for code in PATH:  # reporting answers for orgs it knows
        kind = next(o["kind"] for o in CHAIN if o["code"] == code)
        await publish(broker.bootstrap, TOPIC_REGISTRY, Event(
            type="baoxue.registry.org.registered", source="/baoxue/registry", subject=code,
            data={"code": code, "name": code, "kind": kind, "parent_code": None, "path": PATH[: PATH.index(code) + 1]}))
    async with running("reporting", databases.url("reporting"), broker.bootstrap, clock=clock) as reporting, \
            running("cases", databases.url("cases"), broker.bootstrap, clock=clock) as cases, \
            a_school(databases, clock, broker=broker.bootstrap) as school:
        a, b, c = await enroll_on_roster(school, 3)
        leave = await file_sick_leave(school, c)
        marks = fortnight_register(a, b, c)
        for day in FORTNIGHT:
            for session in ("am", "pm"):
                await school.roll_call(day, session, marks[day])
        assert await school.detect() == 2  # A, and C as the register stood

        async def week_counts() -> int:
            r = await reporting.get("/v1/reports/weekly", params={"org_code": SCHOOL, "week": "2026-W48"})
            return r.json()["totals"]["current"]["new_absence_episodes"] if r.status_code == 200 else -1

        assert await eventually(lambda: _equals(week_counts, 2), timeout=60)
        await approve_leave(school, leave)
        (withdrawn,) = [e for e in await school.emitted(RETURNED) if e["reason"] == "withdrawn"]
        assert withdrawn["subject"] == c
        assert await eventually(lambda: _equals(week_counts, 1), timeout=60)

        async def case_of(student: str, *kinds: str):
            page = (await cases.get("/v1/cases", params={"student_id": student})).json()
            if not page["total"]:
                return None
            detail = (await cases.get(f"/v1/cases/{page['items'][0]['id']}")).json()
            return detail if set(kinds) <= {e["kind"] for e in detail["timeline"]} else None

        # Wait until cases has taken A's student.returned too (it follows the late threshold event).
        (a_back,) = [e for e in await school.emitted(RETURNED) if e["subject"] == a]
        await eventually(lambda: _consumed(cases, a_back["id"]), timeout=60)
        a_case = await case_of(a, "student_returned")
        returns = [e for e in a_case["timeline"] if e["kind"] == "student_returned"]
        # Noted once, though both the late threshold event and the student.returned said so.
        assert len(returns) == 1 and returns[0]["detail"]["returned_at"].startswith("2026-11-16T00:00:00")
        opened = next(e for e in a_case["timeline"] if e["kind"] == "opened")
        assert opened["detail"]["detected_late"] is True
        # C's alarm was late too (back on Friday): its return, then the withdrawal, once each.
        c_case = await eventually(lambda: case_of(c, "student_returned", "absence_withdrawn"), timeout=60)
        assert [e["kind"] for e in c_case["timeline"] if e["kind"] in ("student_returned", "absence_withdrawn")] == [
            "student_returned", "absence_withdrawn"]
        assert (await cases.get("/v1/cases", params={"student_id": b})).json()["total"] == 0


async def _consumed(client, event_id: str) -> bool:
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(inbox.c.event_id).where(inbox.c.event_id == event_id))).first() is not None


async def _equals(read, expected) -> bool:
    return await read() == expected


async def test_late_data_is_checked_against_the_class_and_status_on_its_own_date(databases):
    """Before: a roll call for a past date was refused whole when one child on it had since been
    suspended or moved class (checked as of today), and a status change closed an episode when
    it was processed. Now the date of the data decides, and a change takes effect as of its
    `effective_on`."""
    clock = FixedClock(local(23, 18))
    async with a_school(databases, clock) as school:
        moved, suspended, stays = await enroll_on_roster(school, 3)
        async with school.uow() as uow:
            for sid, data in [(moved, {"status": "enrolled", "class_id": "c-7-2", "school_code": SCHOOL, "grade": 7,
                                       "org_path": PATH, "effective_on": "2026-11-18"}),
                              (suspended, {"status": "suspended", "effective_on": "2026-11-18"})]:
                await school.deliver(uow, Event(
                    type="baoxue.registry.student.status_changed", source="/baoxue/registry", subject=sid,
                    data={"student_id": sid, "previous_status": "enrolled", "reason": "病休", **data}))
            await uow.commit()
        # Last week's register, typed in now: Monday and Tuesday still name all three.
        for day in (16, 17):
            for session in ("am", "pm"):
                await school.roll_call(day, session, {moved: "absent", suspended: "absent", stays: "present"})
        # From Wednesday the moved child is in the other class and the suspended one off the roll.
        r = await school.client.post("/v1/roll-calls", json={
            "school_code": SCHOOL, "class_id": CLASS, "date": "2026-11-18", "session": "am",
            "marks": [{"student_id": stays, "status": "present"}, {"student_id": suspended, "status": "absent"},
                      {"student_id": moved, "status": "absent"}]})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert [(e["pointer"], e["message"].split(": ")[1]) for e in r.json()["errors"]] == [
            ("/marks/1/student_id", "not attending (status) on 2026-11-18"),
            ("/marks/2/student_id", "not in this class on 2026-11-18")]
        assert (await school.client.get(f"/v1/classes/{CLASS}/roll-calls")).json()["total"] == 4  # nothing half-written
        # The suspended child's episode ended on Wednesday 00:00 local, not when the event came.
        async with school.uow() as uow:
            ended = (await uow.session.execute(select(episodes.c.ended_at, episodes.c.end_reason).where(
                episodes.c.student_id == suspended))).one()
        assert tuple(ended) == (local(18).astimezone(UTC), "not_attending")
        # The head teacher of the old class may still file the moved child's sick note for Monday.
        r = await school.client.post("/v1/leaves", headers=bearer("head_teacher", SCHOOL, [CLASS]), json={
            "student_id": moved, "start": local(16).isoformat(), "end": local(17).isoformat(), "reason": "病假"})
        assert r.status_code == 201, r.text
        r = await school.client.post("/v1/leaves", headers=bearer("school_staff", SCHOOL), json={
            "student_id": suspended, "start": local(19).isoformat(), "end": local(20).isoformat(), "reason": "病假"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/start"


async def test_a_dropout_and_a_return_dated_the_day_of_enrolment_do_not_fire_the_old_absences_again(databases):
    """A child registered today, with last week's register typed in, is confirmed out and then
    persuaded back, all dated today (the registry dates a confirmation no earlier than the record's
    last change). Each change replaces the placement of that date; the absences before it were the
    child's while on the roll all the same: the episode that fired ends on leaving the roll, comes
    back with the child, and never fires a second time (it did, and opened a second case)."""
    clock = FixedClock(local(26, 18))
    async with a_school(databases, clock) as school:
        child = "7b0c5b36-6d0e-4a4c-9a55-0f3b3c1f0a26"
        registered = {"student_id": child, "school_code": SCHOOL, "class_id": CLASS, "grade": 7, "org_path": PATH,
                      "org_chain": CHAIN, "status": "enrolled", "enrolled_on": "2026-11-26"}
        async with school.uow() as uow:
            await school.deliver(uow, Event(type="baoxue.registry.student.enrolled", source="/baoxue/registry",
                                            subject=child, data=registered))
            await uow.commit()
        for day in (16, 17, 18):
            for session in ("am", "pm"):
                await school.roll_call(day, session, {child: "absent"})
        assert await school.detect() == 1
        for status in ("dropped_out", "enrolled"):
            async with school.uow() as uow:
                await school.deliver(uow, Event(
                    type="baoxue.registry.student.status_changed", source="/baoxue/registry", subject=child,
                    data={"student_id": child, "status": status, "effective_on": "2026-11-26", "reason": "劝返"}))
                await uow.commit()
            assert await school.detect() == 0
        assert len(await school.emitted(THRESHOLD)) == 1
        assert [e["reason"] for e in await school.emitted(RETURNED)] == ["not_attending"]
