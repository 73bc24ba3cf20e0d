"""A roll call recomputes only the students it can change (absent marks, and present or late marks
inside an episode). Whatever the order roll calls, corrections and detector passes arrive in,
what is stored must be what recomputing every student from scratch gives: same episodes, same
due instants, nothing more to announce. Seeded random histories over HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from attendance.adapters.tables import episodes
from shared.clock import FixedClock
from shared.envelope import Event
from tests.factories import PATH, a_school, local, matches_a_recompute_from_scratch

# Two school weeks (Mon 9 to Fri 20 November 2026, with the weekend between).
SESSIONS = [(day, session) for day in (9, 10, 11, 12, 13, 16, 17, 18, 19, 20) for session in ("am", "pm")]
STATUSES = ["present", "absent", "absent", "absent", "late", "leave"]


async def test_incremental_recompute_matches_a_recompute_from_scratch_in_any_arrival_order(databases):
    clock = FixedClock(local(23, 12))
    async with a_school(databases, clock, writes_per_minute=100_000) as school:
        for seed in range(12):
            rng = random.Random(seed)
            students = await school.enroll(3)
            posts = [(day, session, {s: rng.choice(STATUSES) for s in students if rng.random() < 0.9})
                     for day, session in SESSIONS]
            # Corrections: some sessions posted again with other marks (a student may be left out).
            posts += [(day, session, {s: rng.choice(STATUSES) for s in students if rng.random() < 0.8})
                      for day, session, _ in rng.sample(posts, 5)]
            rng.shuffle(posts)
            for i, (day, session, marks) in enumerate(posts):
                if marks:
                    await school.roll_call(day, session, marks)
                if i in (8, 16):  # the detector passes between arrivals: some alarms fire, then are corrected
                    await school.detect(local(23, 12))
                assert await matches_a_recompute_from_scratch(school, students), f"seed {seed}, after post {i}"
        # The histories did exercise the paths that matter: alarms fired, and some were withdrawn.
        async with school.uow() as uow:
            reasons = set((await uow.session.execute(select(episodes.c.end_reason).distinct())).scalars())
            fired = (await uow.session.execute(
                select(func.count()).where(episodes.c.threshold_fired_at.is_not(None)))).scalar_one()
        assert fired > 0 and {"returned", "withdrawn"} <= reasons, (fired, reasons)


async def test_a_reposted_roll_call_recomputes_a_child_who_left_with_the_calendar_of_the_new_school(databases):
    """School A re-posts Monday's roll call without X, who has since moved to school B, where
    Wednesday is a holiday. X is recomputed (dropped from a roll call) and must keep B's due instant."""
    other_school, other_class = "4101221002", "c-b-1"
    clock = FixedClock(local(17, 9))
    async with a_school(databases, clock, writes_per_minute=100_000) as school:
        x, y = await school.enroll(2)
        await school.roll_call(16, "am", {x: "present", y: "present"})
        async with school.uow() as uow:
            for status, place in [("transferred_out", {}),
                                  ("transferred_in", {"school_code": other_school, "class_id": other_class,
                                                      "grade": 7, "org_path": [*PATH[:-1], other_school],
                                                      "org_chain": []})]:
                await school.deliver(uow, Event(
                    type="baoxue.registry.student.status_changed", source="/baoxue/registry", subject=x,
                    data={"student_id": x, "status": status, "effective_on": "2026-11-17", **place}))
            await uow.commit()
        r = await school.client.put(f"/v1/calendars/{other_school}", json={"holidays": ["2026-11-18"]})
        assert r.status_code == 200, r.text
        r = await school.client.post("/v1/roll-calls", json={
            "school_code": other_school, "class_id": other_class, "date": "2026-11-17", "session": "am",
            "marks": [{"student_id": x, "status": "absent"}]})
        assert r.status_code == 200, r.text
        # Tuesday and Thursday count; Wednesday is B's holiday: 48 h on Friday 08:00.
        assert (await school.absence(x))["due_at"] == "2026-11-20T00:00:00Z"
        await school.roll_call(16, "am", {y: "present"})  # A corrects Monday: X was not in that class then
        assert (await school.absence(x))["due_at"] == "2026-11-20T00:00:00Z"
        assert await matches_a_recompute_from_scratch(school, [x, y])
