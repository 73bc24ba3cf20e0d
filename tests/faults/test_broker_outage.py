"""The broker stops for 30 s during a burst of roll calls for 1,000 students: every service
keeps accepting writes, outbox rows wait, and once the broker is back every expected case exists
exactly once and each has both dual reports, issued exactly once.

The broker process is stopped (SIGSTOP) and continued, so it keeps its records: the embedded
Tansu stores topics in memory only, and restarting it would also wipe records that were
acknowledged but not yet consumed, and every committed offset, which is no Kafka outage."""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from datetime import date, timedelta

import httpx
import pytest

from devtools.stack import SERVICES
from registry.domain.national_id import compose
from shared.envelope import TOPIC_REPORTS
from shared.messaging import outbox
from tests.conftest import bearer
from tests.factories import (
    CITY,
    COUNTY,
    PROVINCE,
    SCHOOL,
    TOWNSHIP,
    Counter,
    ok,
    outbox_drained,
    stack_for,
    start_migrated,
)
from tests.kafka_helpers import eventually, read_all, read_events

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]
CLASSES, PER_CLASS, ABSENT_PER_CLASS = 20, 50, 10  # 1,000 students, 200 of them absent for 3 days
OUTAGE_S = 30
ISSUED = "baoxue.cases.dual_report.issued"


async def in_parallel(calls, width: int = 16) -> list:
    """Run the coroutines `width` at a time (a school's worth of phones, not a stampede)."""
    results = []
    for i in range(0, len(calls), width):
        results += await asyncio.gather(*calls[i:i + width])
    return results


async def enrol_school(registry: httpx.AsyncClient) -> dict[str, list[str]]:
    """The org tree, 20 classes and 50 students in each, over the registry's API."""
    for code, kind, parent in [(PROVINCE, "province", None), (CITY, "city", PROVINCE), (COUNTY, "county", CITY),
                               (TOWNSHIP, "township", COUNTY), (SCHOOL, "school", TOWNSHIP)]:
        ok(await registry.post("/v1/orgs", json={"code": code, "name": kind, "kind": kind, "parent_code": parent}), 201)
    classes = [ok(await registry.post(f"/v1/schools/{SCHOOL}/classes", json={"grade": 7, "name": f"七年级({i})班"}), 201)
               for i in range(1, CLASSES + 1)]

    async def enrol(i: int, class_id: str) -> str:
        born = date(2012, 9, 1) + timedelta(days=i % 365)
        student = ok(await registry.post("/v1/students", json={
            "national_id": compose("410122", born, 11 + 2 * (i // 365)), "name": f"学生{i}", "gender": "male",
            "birth_date": born.isoformat(), "school_code": SCHOOL, "class_id": class_id}), 201)
        return student["id"]

    ids = await in_parallel([enrol(c * PER_CLASS + k, klass["id"]) for c, klass in enumerate(classes)
                             for k in range(PER_CLASS)])
    return {klass["id"]: ids[c * PER_CLASS:(c + 1) * PER_CLASS] for c, klass in enumerate(classes)}


def roll_calls(school: dict[str, list[str]], today: date) -> list[dict]:
    """Three days of roll calls (am and pm) for every class: the first ten of each absent."""
    return [{"school_code": SCHOOL, "class_id": class_id, "date": (today - timedelta(days=back)).isoformat(),
             "session": session, "marks": [{"student_id": s, "status": "absent" if k < ABSENT_PER_CLASS else "present"}
                                           for k, s in enumerate(students)]}
            for back in (3, 2, 1) for session in ("am", "pm") for class_id, students in school.items()]


async def where_it_stuck(stack, attendance_db: Counter, cases_db: Counter) -> str:
    """For a failure message: how far the events got, and the services' last warnings."""
    from shared.messaging import inbox

    unsent = await attendance_db.rows(outbox, outbox.c.sent_at.is_(None))
    consumed = await cases_db.rows(inbox, inbox.c.event_type == "baoxue.attendance.absence.threshold_reached")
    tails = {}
    for service in ("attendance", "cases"):
        lines = (stack.var_dir / "log" / f"{service}.log").read_text(errors="replace").splitlines()
        tails[service] = [line[:300] for line in lines if "warning" in line or "error" in line][-5:]
    return f"attendance outbox unsent={unsent}, cases consumed thresholds={consumed}, last warnings={tails}"


async def test_a_30_second_broker_outage_loses_no_case_and_duplicates_no_report(fault_databases, broker, tmp_path):
    from attendance.adapters.tables import roster
    from cases.adapters.tables import students as case_students

    stack = stack_for(SERVICES, fault_databases, broker, tmp_path)
    await asyncio.to_thread(start_migrated, stack)
    api = {svc: httpx.AsyncClient(base_url=stack.url(svc), headers=bearer(), timeout=30) for svc in SERVICES}
    attendance_db = Counter(stack.database_url("attendance"))
    cases_db = Counter(stack.database_url("cases"))
    registry_db = Counter(stack.database_url("registry"))
    try:
        school = await enrol_school(api["registry"])
        everyone = [s for students in school.values() for s in students]
        absent = {s for students in school.values() for s in students[:ABSENT_PER_CLASS]}

        async def directories_full():
            return await attendance_db.rows(roster) == len(everyone) and await cases_db.rows(case_students) == len(everyone)

        await eventually(directories_full, timeout=90)

        # --- the broker goes away ---
        stopped_at = time.monotonic()
        broker.pause()
        answers = await in_parallel([api["attendance"].post("/v1/roll-calls", json=body)
                                     for body in roll_calls(school, date.today())])
        assert [r.status_code for r in answers] == [200] * len(answers), [r.text for r in answers if r.status_code != 200][:3]
        late = ok(await api["registry"].post("/v1/students", json={
            "national_id": compose("410122", date(2013, 5, 5), 999), "name": "插班生", "gender": "male",
            "birth_date": "2013-05-05", "school_code": SCHOOL, "class_id": next(iter(school))}), 201)

        async def thresholds_waiting():
            # The detector fired for every absent child; the events wait in the outbox.
            return await attendance_db.rows(outbox, outbox.c.event_type == "baoxue.attendance.absence.threshold_reached",
                                            outbox.c.sent_at.is_(None)) == len(absent)

        await eventually(thresholds_waiting, timeout=OUTAGE_S - 5)
        assert await registry_db.rows(outbox, outbox.c.sent_at.is_(None)) >= 1  # the late enrolment waits too
        assert (await api["attendance"].get("/readyz")).status_code == 503
        assert (await api["cases"].get("/v1/cases", params={"org_code": SCHOOL})).json()["total"] == 0
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))

        # --- the broker is back ---
        broker.resume()

        async def all_cases():
            page = ok(await api["cases"].get("/v1/cases", params={"org_code": SCHOOL, "limit": 500}))
            return page if page["total"] >= len(absent) else None

        try:
            page = await eventually(all_cases, timeout=120)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {await where_it_stuck(stack, attendance_db, cases_db)}") from None
        opened = Tally(c["student_id"] for c in page["items"])
        assert set(opened) == absent and set(opened.values()) == {1}, "one case per absent child, no other"

        await read_events(broker.bootstrap, TOPIC_REPORTS, timeout=60,
                          until=lambda evs: sum(e.type == ISSUED for e in evs) >= 2 * len(absent))

        # Nothing left to send, so the topic up to its high watermark is all there will be.
        await outbox_drained(stack.database_url("cases"))
        events = await read_all(broker.bootstrap, TOPIC_REPORTS)
        issued = Tally((e.subject, e.data["recipient"]) for e in events if e.type == ISSUED)
        assert {student for student, _ in issued} == absent
        assert set(issued.values()) == {1}, [k for k, n in issued.items() if n > 1][:5]
        assert {recipient for _, recipient in issued} == {"government", "education"}
        assert len(issued) == 2 * len(absent)

        async def late_student_known():
            return (await api["attendance"].get(f"/v1/students/{late['id']}/absence")).status_code == 200

        await eventually(late_student_known, timeout=30)

        async def late_student_in_the_cases_directory():
            return await cases_db.rows(case_students) == len(everyone) + 1

        # The enrolment that waited in the registry's outbox reached both consumers, once each.
        await eventually(late_student_in_the_cases_directory, timeout=30)
        assert await attendance_db.rows(roster) == len(everyone) + 1
        assert (await api["attendance"].get("/readyz")).status_code == 200
    finally:
        for client in api.values():
            await client.aclose()
        for counter in (attendance_db, cases_db, registry_db):
            await counter.close()
        stack.stop()
