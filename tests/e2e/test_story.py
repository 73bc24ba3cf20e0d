"""End to end: broker and four services as processes (as `make run` starts them), HTTP only."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from devtools.stack import SERVICES, Stack, free_port
from shared.envelope import TOPIC_ATTENDANCE, TOPIC_REGISTRY, TOPIC_REPORTS
from tests.conftest import TEST_JWT_SECRET, bearer
from tests.e2e.story import (
    COUNTY,
    DONGGUAN,
    DONGGUAN_CITY_SCHOOL,
    DONGGUAN_SCHOOL,
    GUARDIAN_PHONE,
    TOWNSHIP,
    mark_absent_for_three_days,
    ok,
    register_school_and_students,
    the_case,
    wait_until_attendance_knows,
)
from tests.factories import outbox_drained, start_migrated
from tests.kafka_helpers import eventually, group_has_consumed_everything, read_all, read_events

pytestmark = pytest.mark.e2e
ISSUED = "baoxue.cases.dual_report.issued"


@pytest.fixture
def stack(databases, broker, tmp_path):
    s = Stack(
        var_dir=tmp_path / "var",
        kafka_bootstrap=broker.bootstrap,
        ports={svc: free_port() for svc in SERVICES},
        database_urls={svc: databases.url(svc) for svc in SERVICES},
        # The story marks the last three calendar days absent, whatever weekday it runs on: wall clock.
        env={"BAOXUE_DETECTOR_INTERVAL_S": "0.5", "BAOXUE_OUTBOX_POLL_INTERVAL_S": "0.1",
             "BAOXUE_ABSENCE_COUNTING": "wall_clock",
             # Nobody checks the story's cases: their dual reports leave at a verification
             # deadline of about a second, unverified (the confirmation path: test_dual_report_law).
             "BAOXUE_VERIFY_DEADLINE_HOURS": "0.0003", "BAOXUE_ESCALATION_INTERVAL_S": "0.5",
             "BAOXUE_JWT_SECRET": TEST_JWT_SECRET,
             # The write budget is per token subject, and every call of a role signs as one.
             "BAOXUE_WRITES_PER_MINUTE": "100000"},
    )
    start_migrated(s)
    yield s
    s.stop()


def clients(stack: Stack, province: str = "410000") -> dict[str, httpx.AsyncClient]:
    """Clients that call as a province official (real tokens, verified by each service)."""
    return {svc: httpx.AsyncClient(base_url=stack.url(svc), timeout=10, headers=bearer("province_official", province))
            for svc in SERVICES}


async def wait_until_cases_has_read_the_registry(stack: Stack) -> None:
    """Cases reads the registry and attendance topics independently: a case opened on an absence
    before the child's record was read names the child only once it is (test_cases_api), and a
    report leaving at the story's one-second deadline in between lacks the child's details by
    design (``missing_facts``). The story's child is enrolled well before: say so, and wait."""
    await eventually(lambda: group_has_consumed_everything(stack.kafka_bootstrap, "baoxue-cases", [TOPIC_REGISTRY]),
                     timeout=60)


async def issued_reports(stack: Stack, student_id: str):
    """Read the county topic until two reports for the student appear; then, once cases' outbox
    has nothing left to send, everything up to the high watermark, so a third (a duplicate)
    would be seen too."""
    await read_events(stack.kafka_bootstrap, TOPIC_REPORTS, timeout=60, until=lambda evs: sum(
        e.type == ISSUED and e.subject == student_id for e in evs) >= 2)
    await outbox_drained(stack.database_url("cases"))
    events = await read_all(stack.kafka_bootstrap, TOPIC_REPORTS)
    return [e for e in events if e.type == ISSUED and e.subject == student_id]


async def test_absence_of_48_hours_opens_one_case_with_two_dual_reports_to_two_offices(stack: Stack, broker):
    c = clients(stack)
    school = await register_school_and_students(c["registry"])
    await wait_until_attendance_knows(c["attendance"], school.absent_student, school.present_student)
    await wait_until_cases_has_read_the_registry(stack)
    await mark_absent_for_three_days(c["attendance"], school, date.today())

    absence = ok(await c["attendance"].get(f"/v1/students/{school.absent_student}/absence"))
    assert absence["threshold_reached"] is True and absence["hours"] >= 48

    case = await the_case(c["cases"], school.absent_student)
    assert case["status"] == "reported"
    assert [e["kind"] for e in case["timeline"]][:1] == ["opened"]

    async def county_shows_the_case():
        summary = ok(await c["reporting"].get("/v1/reports/summary", params={"org_code": COUNTY}))
        return summary if summary["open_cases"] == 1 else None

    summary = await eventually(county_shows_the_case, timeout=30)
    assert summary["enrolled"] == 2 and summary["levels"]["junior"]["open_cases"] == 1
    assert summary["as_of"] is not None

    reports = await issued_reports(stack, school.absent_student)
    assert sorted((e.data["recipient"], e.kafka_key.decode(), e.data["unverified"]) for e in reports) == [
        ("education", f"{TOWNSHIP}-EDU", True), ("government", f"{TOWNSHIP}-GOV", True)]
    assert all(e.data["student"]["national_id_masked"].count("*") == 10 for e in reports)
    case = ok(await c["cases"].get(f"/v1/cases/{case['id']}"))
    assert {(r["recipient"], r["recipient_org_code"]) for r in case["reports"]} == {
        ("government", f"{TOWNSHIP}-GOV"), ("education", f"{TOWNSHIP}-EDU")}

    # The present classmate has no case; the acknowledgement is idempotent.
    assert ok(await c["cases"].get("/v1/cases", params={"student_id": school.present_student}))["total"] == 0
    # The township government's office acknowledges its report (idempotently); nobody else can.
    township = bearer("recipient", f"{TOWNSHIP}-GOV")
    first = ok(await c["cases"].post(f"/v1/cases/{case['id']}/reports/government/ack", headers=township))
    again = ok(await c["cases"].post(f"/v1/cases/{case['id']}/reports/government/ack", headers=township))
    assert first["acknowledged_at"] == again["acknowledged_at"] is not None
    assert (await c["cases"].post(f"/v1/cases/{case['id']}/reports/education/ack", headers=township)).status_code == 404
    # Without a token nothing answers but health.
    anonymous = httpx.AsyncClient(base_url=stack.url("cases"), timeout=10)
    assert (await anonymous.get(f"/v1/cases/{case['id']}")).status_code == 401
    assert (await anonymous.get("/readyz")).status_code == 200

    # No personal data in any service's or the broker's log: not the ID numbers, not the phone.
    logs = "".join(p.read_text(errors="replace") for p in (stack.var_dir / "log").glob("*.log"))
    assert "http.request" in logs and "detector.fired" in logs  # the logs are there and were read
    for secret in (*school.national_ids, GUARDIAN_PHONE, "王小明"):
        assert secret not in logs, f"{secret!r} appears in the logs"


async def test_killing_the_cases_service_mid_story_neither_loses_nor_duplicates_the_case(stack: Stack, broker):
    c = clients(stack)
    school = await register_school_and_students(c["registry"])
    await wait_until_attendance_knows(c["attendance"], school.absent_student)
    await wait_until_cases_has_read_the_registry(stack)

    # Cases dies (SIGKILL) while the absence crosses 48 hours and the detector fires.
    stack.kill("cases")
    await mark_absent_for_three_days(c["attendance"], school, date.today())
    await eventually(lambda: _threshold_published(stack.kafka_bootstrap, school.absent_student), timeout=30)
    stack.start("cases")
    stack.wait_ready(["cases"])
    case = await the_case(c["cases"], school.absent_student)

    # Killed again right after opening it, before or after committing offsets: redelivery is a no-op.
    stack.kill("cases")
    stack.start("cases")
    stack.wait_ready(["cases"])
    # Once the restarted consumer has been through every record again, a second case would show.
    await eventually(lambda: group_has_consumed_everything(
        stack.kafka_bootstrap, "baoxue-cases", [TOPIC_REGISTRY, TOPIC_ATTENDANCE]), timeout=60)
    page = ok(await c["cases"].get("/v1/cases", params={"student_id": school.absent_student}))
    assert page["total"] == 1 and page["items"][0]["id"] == case["id"]
    # The reports leave at the story's one-second verification deadline, which the second kill
    # can straddle: they are waited for on the topic, then the stored ones counted.
    # A kill between the broker's acknowledgement and the outbox row's mark re-sends the row after
    # the restart (at least once on the wire). It is the same fact with the same ce_id, which
    # every consumer drops: two reports, whatever was repeated.
    reports = await issued_reports(stack, school.absent_student)
    assert len(ok(await c["cases"].get(f"/v1/cases/{case['id']}"))["reports"]) == 2
    by_id = {e.id: e.data["recipient"] for e in reports}
    assert sorted(by_id.values()) == ["education", "government"]
    assert all(e.data["missing_facts"] == [] and e.data["student"]["name"] == "王小明" for e in reports)


async def _threshold_published(bootstrap: str, student_id: str) -> bool:
    events = await read_events(bootstrap, "baoxue.attendance.v1", timeout=2,
                               until=lambda evs: any(e.subject == student_id for e in evs))
    return any(e.type == "baoxue.attendance.absence.threshold_reached" and e.subject == student_id for e in events)


async def test_a_case_at_a_school_directly_under_a_city_without_counties_is_persuaded_back_and_closed(
        stack: Stack, broker):
    """The whole lifecycle across services, on the most unusual shape: a school run directly by
    东莞, a prefecture city with no counties (no township, no county above it). Both dual reports
    go to the city's two offices; the registry follows the confirmation, and the re-enrolment moves
    the case back."""
    c = clients(stack, province="440000")
    school = await register_school_and_students(c["registry"], DONGGUAN_CITY_SCHOOL)
    await wait_until_attendance_knows(c["attendance"], school.absent_student, school.present_student)
    await mark_absent_for_three_days(c["attendance"], school, date.today())
    case = await the_case(c["cases"], school.absent_student)
    city = bearer("city_official", DONGGUAN)

    async def city_shows_the_case():
        summary = ok(await c["reporting"].get("/v1/reports/summary", params={"org_code": DONGGUAN}, headers=city))
        return summary if summary["open_cases"] == 1 else None

    summary = await eventually(city_shows_the_case, timeout=30)
    assert summary["enrolled"] == 2 and summary["levels"]["junior"]["open_cases"] == 1
    url = f"/v1/cases/{case['id']}"
    for body in ({"to": "verifying"}, {"to": "confirmed", "causes": ["weariness_of_study"]}):
        ok(await c["cases"].post(f"{url}/transitions", json=body))
    # Both reports go to the city's two offices (its government, its education bureau); the city's
    # officials acknowledge the education one for its office.
    async def reported():
        d = ok(await c["cases"].get(url))
        return d if len(d["reports"]) == 2 else None

    assert {(r["recipient"], r["recipient_org_code"]) for r in (await eventually(reported, timeout=60))["reports"]} == {
        ("government", f"{DONGGUAN}-GOV"), ("education", f"{DONGGUAN}-EDU")}
    ok(await c["cases"].post(f"{url}/reports/education/ack", headers=city))
    # The registry follows the confirmation: the child is recorded as dropped out.
    async def dropped_out():
        record = ok(await c["registry"].get(f"/v1/students/{school.absent_student}"))
        return record if record["status"] == "dropped_out" else None

    await eventually(dropped_out, timeout=60)
    ok(await c["cases"].put(f"{url}/responsibility", json={"responsible_person": {"name": "李明", "title": "班主任"}}))
    ok(await c["cases"].post(f"{url}/plan-items", json={
        "kind": "persuasion", "description": "每周上门劝返", "owner": "李明",
        "due_on": date.today().isoformat()}), 201)
    ok(await c["cases"].post(f"{url}/home-visits", json={
        "visited_on": date.today().isoformat(), "visitors": ["李明"], "met": ["父亲"], "outcome": "同意返校"}), 201)
    assert ok(await c["cases"].post(f"{url}/transitions", json={"to": "persuading"}))["status"] == "persuading"

    # Persuaded back (劝返复学): the school re-enrols the child in the registry, and the case follows
    # by itself (a dropped-out child is off attendance's roll, so no roll call could say so).
    ok(await c["registry"].post(f"/v1/students/{school.absent_student}/status-changes", json={
        "status": "enrolled", "reason": "劝返复学"}), 201)

    async def returned():
        d = ok(await c["cases"].get(url))
        return d if d["status"] == "returned" else None

    detail = await eventually(returned, timeout=60)
    assert detail["evidence"]["confirmed_by"] == "registry"
    assert detail["evidence"]["returned_on"] == date.today().isoformat()
    closed = ok(await c["cases"].post(f"{url}/transitions", json={"to": "closed"}))
    assert closed["outcome"] == "returned" and closed["closed_at"]

    async def city_has_no_open_case():
        summary = ok(await c["reporting"].get("/v1/reports/summary", params={"org_code": DONGGUAN}, headers=city))
        return summary if summary["open_cases"] == 0 else None

    await eventually(city_has_no_open_case, timeout=30)
    ledger = await c["cases"].get("/v1/cases/ledger", params={"org_code": DONGGUAN, "format": "csv"}, headers=city)
    assert ledger.status_code == 200 and "已销号" in ledger.content.decode("utf-8-sig")
    # The city's weekly report lists the school, with no township above it.
    today = date.today().isocalendar()
    weekly = ok(await c["reporting"].get("/v1/reports/weekly", headers=city, params={
        "org_code": DONGGUAN, "week": f"{today.year}-W{today.week:02d}"}))
    assert [(r["code"], r["township_code"]) for r in weekly["schools"]] == [(DONGGUAN_SCHOOL, None)]
    assert weekly["townships"] == []
