"""Properties of the observed-absence rule over HTTP, real SQL (SQLite and PostgreSQL) and the
real detector, with hypothesis drawing the registers (issue 13):

* uploaded in date order (the approved leave already in place), with detector passes at any
  points between the uploads, the alarms raised are exactly the ones the complete data
  supports, and no other alarm is raised at any moment;
* uploaded in any order, every supported alarm fires exactly once, and any other firing is
  withdrawn exactly once (a present mark that arrives last can split one streak into two, so
  an early firing cannot be ruled out, only undone); and what is stored is what a
  recomputation from scratch gives.

"Supported" is the pure rule on the complete data: an episode whose counted school hours reach
48 and a mark at or after that instant shows the child still away. One service runs per test;
each example enrolls new students, so examples do not see each other."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from attendance.adapters.tables import episodes
from attendance.domain import clock as school_clock
from attendance.domain import episodes as rule
from attendance.domain.calendar import Calendar
from shared.clock import FixedClock
from shared.messaging import outbox
from tests.conftest import bearer
from tests.factories import SCHOOL, a_school, local, matches_a_recompute_from_scratch

# Monday 9 to Tuesday 17 November 2026: seven school days with a weekend between.
SESSIONS = [(day, s) for day in (9, 10, 11, 12, 13, 16, 17) for s in ("am", "pm")]
CALENDAR = Calendar()  # what the service uses with no calendar stored: Mon-Fri, 08:00 and 14:00 Beijing
STUDENTS = 3
# None: the student is left off that roll call (no mark: silence).
MARK = st.sampled_from(["absent", "absent", "absent", "present", "late", "leave", None])
EXAMPLES = 5  # each example is some 20 HTTP requests and detector passes, per backend: CI time is counted


@dataclass(frozen=True)
class Register:
    marks: tuple[tuple[str | None, ...], ...]  # per student, per session
    leave: tuple[tuple[int, int] | None, ...]  # per student: approved leave over sessions [i, j]


@st.composite
def registers(draw) -> Register:
    marks = tuple(tuple(draw(MARK) for _ in SESSIONS) for _ in range(STUDENTS))
    leave = []
    for _ in range(STUDENTS):
        if draw(st.booleans()):
            i = draw(st.integers(0, len(SESSIONS) - 1))
            leave.append((i, min(len(SESSIONS) - 1, i + draw(st.integers(0, 4)))))
        else:
            leave.append(None)
    return Register(marks, tuple(leave))


def session_at(i: int) -> datetime:
    day, session = SESSIONS[i]
    return CALENDAR.session_at(local(day).date(), session)


def leave_span(span: tuple[int, int]) -> rule.LeaveSpan:
    """From session i's start to an hour into session j."""
    return rule.LeaveSpan(session_at(span[0]), session_at(span[1]) + timedelta(hours=1))


def supported(register: Register, ids: list[str]) -> set[tuple[str, datetime]]:
    """(student, episode start) of every alarm the complete data supports, by the pure rule."""
    found = set()
    for sid, row, span in zip(ids, register.marks, register.leave):
        marks = [rule.Mark(session_at(i), m) for i, m in enumerate(row) if m is not None]
        excused = [leave_span(span)] if span else []
        for ep in rule.episodes(marks, excused):
            due = school_clock.due_at(ep.started_at, CALENDAR, "school_hours", 48, excused)
            if rule.observed_at(ep, marks, excused, due) is not None:
                found.add((sid, ep.started_at))
    return found


class Harness:
    """The attendance service on its own event loop, so hypothesis can drive it example by example."""

    def __init__(self, databases) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(local(23, 18))  # after the register: every session is in the past
        self._cm = a_school(databases, self.clock, writes_per_minute=1_000_000)
        self.school = self.run(self._cm.__aenter__())

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self._cm.__aexit__(None, None, None))
        self.loop.close()

    async def leave(self, sid: str, span: tuple[int, int]) -> None:
        client, excused = self.school.client, leave_span(span)
        r = await client.post("/v1/leaves", headers=bearer("school_staff", SCHOOL), json={
            "student_id": sid, "start": excused.start.isoformat(), "end": excused.end.isoformat(), "reason": "病假"})
        assert r.status_code == 201, r.text
        r = await client.post(f"/v1/leaves/{r.json()['id']}/approve", headers=bearer("school_staff", SCHOOL))
        assert r.status_code == 200, r.text

    async def roll_call(self, register: Register, ids: list[str], i: int) -> None:
        marks = {sid: row[i] for sid, row in zip(ids, register.marks) if row[i] is not None}
        if marks:
            day, session = SESSIONS[i]
            await self.school.roll_call(day, session, marks)

    async def events(self, ids: list[str], event_type: str) -> list[dict]:
        async with self.school.runtime.sessionmaker() as s:
            rows = (await s.execute(select(outbox.c.payload).where(
                outbox.c.event_type == event_type, outbox.c.subject.in_(ids)))).scalars().all()
        return [json.loads(p) for p in rows]

    async def fired_rows(self, ids: list[str]) -> list:
        async with self.school.runtime.sessionmaker() as s:
            return (await s.execute(select(episodes).where(
                episodes.c.student_id.in_(ids), episodes.c.threshold_fired_at.is_not(None)))).all()


def _start(event: dict) -> tuple[str, datetime]:
    return event["student_id"], datetime.fromisoformat(event["episode_started_at"])


THRESHOLD = "baoxue.attendance.absence.threshold_reached"
RETURNED = "baoxue.attendance.student.returned"
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def test_uploads_in_date_order_raise_exactly_the_supported_alarms_and_no_other_at_any_moment(databases):
    harness = Harness(databases)
    alarms = []  # what the examples exercised: a property over registers with no alarm proves little
    try:
        @PROPERTY
        @given(register=registers(), passes=st.lists(st.booleans(), min_size=len(SESSIONS), max_size=len(SESSIONS)))
        def check(register: Register, passes: list[bool]) -> None:
            async def example() -> None:
                ids = await harness.school.enroll(STUDENTS)
                truth = supported(register, ids)
                alarms.append(len(truth))
                for sid, span in zip(ids, register.leave):
                    if span:
                        await harness.leave(sid, span)
                for i in range(len(SESSIONS)):
                    await harness.roll_call(register, ids, i)
                    if passes[i]:
                        await harness.school.detect()
                        raised = {_start(e) for e in await harness.events(ids, THRESHOLD)}
                        assert raised <= truth, f"after session {i}: {raised - truth} is no alarm"
                await harness.school.detect()
                fired = [_start(e) for e in await harness.events(ids, THRESHOLD)]
                assert sorted(fired) == sorted(truth)  # each once
                assert [e for e in await harness.events(ids, RETURNED) if e["reason"] == "withdrawn"] == []

            harness.run(example())

        check()
        assert sum(alarms) > 0, alarms
    finally:
        harness.close()


def test_uploads_in_any_order_fire_every_supported_alarm_once_and_withdraw_any_other_once(databases):
    harness = Harness(databases)
    try:
        @PROPERTY
        @given(register=registers(), data=st.data())
        def check(register: Register, data) -> None:
            uploads = [("roll_call", i) for i in range(len(SESSIONS))] + [
                ("leave", s) for s in range(STUDENTS) if register.leave[s]]
            order = data.draw(st.permutations(uploads))
            passes = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))

            async def example() -> None:
                ids = await harness.school.enroll(STUDENTS)
                truth = supported(register, ids)
                for (kind, n), detect in zip(order, passes):
                    if kind == "leave":
                        await harness.leave(ids[n], register.leave[n])
                    else:
                        await harness.roll_call(register, ids, n)
                    if detect:
                        await harness.school.detect()
                await harness.school.detect()
                rows = await harness.fired_rows(ids)
                standing = sorted((r.student_id, r.started_at) for r in rows if r.end_reason != "withdrawn")
                assert standing == sorted(truth)  # every supported alarm, once
                thresholds = [e["episode_id"] for e in await harness.events(ids, THRESHOLD)]
                assert sorted(thresholds) == sorted(r.id for r in rows)  # one event per firing
                withdrawals = [e["episode_id"] for e in await harness.events(ids, RETURNED)
                               if e["reason"] == "withdrawn"]
                assert sorted(withdrawals) == sorted(r.id for r in rows if r.end_reason == "withdrawn")
                assert await matches_a_recompute_from_scratch(harness.school, ids)

            harness.run(example())

        check()
    finally:
        harness.close()
