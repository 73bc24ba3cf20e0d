"""Persuasion work with evidence, over HTTP on SQLite and PostgreSQL: standing responsibility
(七长/五级) filling each new case's chain, the ledger's flag for a confirmed case nobody answers
for, and the home-visit register (家访登记表) of seed 002 — 每名班主任每学期入户家访要在40人次以上,
有反复的学生家访次数要达到2次以上."""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid

from openpyxl import load_workbook
from sqlalchemy import func, select

from shared.audit import audit_log
from shared.clock import FixedClock
from tests.conftest import bearer, running
from tests.factories import (
    COUNTY,
    NO_BROKER,
    PATH,
    SCHOOL,
    T0,
    TOWNSHIP,
    add_plan_item,
    confirm_case,
    enrolled,
    feed_cases,
    move_case,
    open_case,
    outbox_payloads,
    start_persuading,
    threshold,
)

HEAD_TEACHER = bearer("head_teacher", SCHOOL, classes=["c1"])
SCHOOL_STAFF = bearer("school_staff", SCHOOL)


def _enrolled_in(student_id: str, *, class_id: str = "c1", address: str | None = None):
    event = enrolled(student_id)
    data = {**event.data, "class_id": class_id}
    if address:
        data["guardians"] = [{**data["guardians"][0], "address": address}]
    return dataclasses.replace(event, data=data)


def _absent(student_id: str, *, class_id: str = "c1"):
    event = threshold(student_id, T0.isoformat())
    return dataclasses.replace(event, data={**event.data, "class_id": class_id})


async def _case_of(client, student_id: str) -> dict:
    page = (await client.get("/v1/cases", params={"student_id": student_id})).json()
    return (await client.get(f"/v1/cases/{page['items'][0]['id']}")).json()


async def test_standing_assignments_fill_a_new_cases_chain_and_a_case_may_override(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        student = str(uuid.uuid4())
        await feed_cases(cases, _enrolled_in(student, address="城关镇李庄村3组"))

        # Each level holds its own roles; a role on the wrong level is a 422 naming it.
        r = await cases.put(f"/v1/responsibility/{COUNTY}", json={
            "county_head": {"name": "赵县长"}, "bureau_chief": {"name": "钱局长"}, "principal": {"name": "王校长"}})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in r.json()["errors"]] == ["/principal"]
        assert (await cases.get(f"/v1/responsibility/{COUNTY}")).json()["assignments"] == {}
        for code, body in ((COUNTY, {"county_head": {"name": "赵县长"}, "bureau_chief": {"name": "钱局长"}}),
                           (TOWNSHIP, {"township_head": {"name": "张镇长"}, "village_heads": [
                               {"village": "王庄村", "person": {"name": "王村长"}},
                               {"village": "李庄村", "person": {"name": "李村长", "phone": "13900000000"}}]}),
                           (SCHOOL, {"principal": {"name": "王校长"}, "bureau_leader": {"name": "孙副局长"},
                                     "section_chief": {"name": "周股长"}}),
                           ("c1", {"grade_head": {"name": "吴主任"}, "head_teacher": {"name": "李老师"}})):
            r = await cases.put(f"/v1/responsibility/{code}", json=body, headers=bearer("county_official", COUNTY))
            assert r.status_code == 200, r.text
        assert r.json()["level"] == "class" and r.json()["org_path"] == PATH
        # A school sets its own and its classes', never the county's; another county's is not there.
        assert (await cases.put(f"/v1/responsibility/{COUNTY}", json={}, headers=SCHOOL_STAFF)).status_code == 404
        assert (await cases.put(f"/v1/responsibility/{SCHOOL}", json={"principal": {"name": "王校长"}},
                                headers=bearer("county_official", "420102"))).status_code == 404
        assert (await cases.put("/v1/responsibility/999999", json={})).status_code == 404
        # Kept current: a PUT replaces the place's assignments.
        r = await cases.put(f"/v1/responsibility/{SCHOOL}", headers=SCHOOL_STAFF, json={
            "principal": {"name": "陈校长"}, "bureau_leader": {"name": "孙副局长"}})
        assert r.json()["assignments"] == {"principal": {"name": "陈校长", "title": None, "phone": None,
                                                         "org_code": None},
                                           "bureau_leader": {"name": "孙副局长", "title": None, "phone": None,
                                                             "org_code": None}}

        await feed_cases(cases, _absent(student))
        case = await _case_of(cases, student)
        chain = case["responsibility"]
        named = {role: (p["name"], p["from_org"]) for role, p in chain.items() if p and "name" in p}
        assert named == {"county_head": ("赵县长", COUNTY), "bureau_chief": ("钱局长", COUNTY),
                         "township_head": ("张镇长", TOWNSHIP), "village_head": ("李村长", TOWNSHIP),
                         "principal": ("陈校长", SCHOOL), "bureau_leader": ("孙副局长", SCHOOL),
                         "grade_head": ("吴主任", "c1"), "head_teacher": ("李老师", "c1")}
        assert chain["village_head"]["village"] == "李庄村" and chain["responsible_person"] is None
        assert chain["county_official"] == {"org_code": COUNTY}  # the places known by org stay

        # The case overrides its own chain; the standing assignment is untouched.
        r = await cases.put(f"/v1/cases/{case['id']}/responsibility", json={
            "head_teacher": {"name": "刘老师"}, "responsible_person": {"name": "刘老师", "title": "班主任"}})
        assert r.status_code == 200, r.text
        assert r.json()["responsibility"]["head_teacher"] == {"name": "刘老师", "title": None, "phone": None,
                                                              "org_code": None}
        assert (await cases.get("/v1/responsibility/c1")).json()["assignments"]["head_teacher"]["name"] == "李老师"
        await add_plan_item(cases, case["id"])

        assigned = await outbox_payloads(cases, "baoxue.cases.responsibility.assigned")
        assert [(e["scope"], e["org_code"], e["level"]) for e in assigned] == [
            ("org", COUNTY, "county"), ("org", TOWNSHIP, "township"), ("org", SCHOOL, "school"),
            ("org", "c1", "class"), ("org", SCHOOL, "school"), ("case", SCHOOL, None)]
        assert assigned[1]["village_heads"] == {"王庄村": "王村长", "李庄村": "李村长"}
        assert assigned[-1]["case_id"] == case["id"] and assigned[-1]["responsible_person"] == "刘老师"
        assert assigned[-1]["roles"]["county_head"] == "赵县长"
        added = await outbox_payloads(cases, "baoxue.cases.plan_item.added")
        assert [(e["case_id"], e["kind"], e["owner"]) for e in added] == [(case["id"], "persuasion", "李老师")]


async def test_a_confirmed_case_with_no_responsible_person_after_24_hours_is_flagged(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        _, case_id = await open_case(cases, confirm=True)

        async def row() -> dict:
            return next(r for r in (await cases.get("/v1/cases/ledger")).json()["items"] if r["id"] == case_id)

        clock.advance(hours=24)  # exactly 24 h: not yet
        assert (await row())["unassigned"] is False
        clock.advance(minutes=1)
        flagged = await row()
        assert flagged["unassigned"] is True and flagged["overdue"] is True
        listed = await cases.get("/v1/cases/ledger", params={"format": "csv"})
        header = next(csv.reader(io.StringIO(listed.content.decode("utf-8-sig"))))
        assert "确认超24小时无劝返责任人" in header
        # Naming the rest of the chain is not enough: it takes a 劝返责任人.
        await cases.put(f"/v1/cases/{case_id}/responsibility", json={"principal": {"name": "王校长"}})
        assert (await row())["unassigned"] is True
        await cases.put(f"/v1/cases/{case_id}/responsibility", json={"responsible_person": {"name": "李明"}})
        assert (await row())["unassigned"] is False


async def test_home_visits_to_any_child_make_the_register_per_recorder_and_list_relapsed_children(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock, home_visits_per_term=3) as cases:
        calm, relapsed, other_class = (str(uuid.uuid4()) for _ in range(3))
        await feed_cases(cases, _enrolled_in(calm), _enrolled_in(relapsed), _enrolled_in(other_class, class_id="c2"))
        visit = {"visited_on": "2026-11-10", "visitors": ["李老师"], "met": ["母亲"], "outcome": "家长配合"}

        # Any child, no case needed; a head teacher only for the classes on the token.
        r = await cases.post(f"/v1/students/{calm}/home-visits", json=visit, headers=HEAD_TEACHER)
        assert r.status_code == 201, r.text
        assert r.json()["case_id"] is None and r.json()["student_id"] == calm
        assert (await cases.post(f"/v1/students/{other_class}/home-visits", json=visit,
                                 headers=HEAD_TEACHER)).status_code == 404
        assert (await cases.post(f"/v1/students/{uuid.uuid4()}/home-visits", json=visit)).status_code == 404
        bad = await cases.post(f"/v1/students/{calm}/home-visits", json={**visit, "visitors": []},
                               headers=HEAD_TEACHER)
        assert bad.status_code == 422
        assert await outbox_payloads(cases, "baoxue.cases.home_visit.recorded") == []  # no case: the register only

        # A child who came back: returned within the year, so 2 visits a term are due.
        await feed_cases(cases, _absent(relapsed))
        case_id = (await _case_of(cases, relapsed))["id"]
        await confirm_case(cases, case_id)
        await start_persuading(cases, case_id, responsible="李老师")
        assert (await move_case(cases, case_id, "returned")).status_code == 200
        clock.advance(hours=240)  # visits are recorded after they happen (never after today)
        on_case = await cases.post(f"/v1/students/{relapsed}/home-visits", json={**visit, "visited_on": "2026-11-18"},
                                   headers=HEAD_TEACHER)
        assert on_case.json()["case_id"] == case_id
        assert [e["case_id"] for e in await outbox_payloads(cases, "baoxue.cases.home_visit.recorded")] == [case_id]
        assert "home_visit" in [e["kind"] for e in (await cases.get(f"/v1/cases/{case_id}")).json()["timeline"]]
        # Outside the term: not counted.
        await cases.post(f"/v1/students/{calm}/home-visits", json={**visit, "visited_on": "2026-08-20"},
                         headers=HEAD_TEACHER)
        await cases.post(f"/v1/students/{calm}/home-visits", json=visit, headers=SCHOOL_STAFF)

        term = {"org_code": SCHOOL, "since": "2026-09-01", "until": "2027-01-31"}
        reg = await cases.get("/v1/home-visits/register", params=term)
        assert reg.status_code == 200, reg.text
        body = reg.json()
        assert body["required_per_term"] == 3 and body["relapsed_required"] == 2
        assert [(r["recorder"], r["visits"], r["children"], r["shortfall"], r["met"]) for r in body["recorders"]] == [
            ("test-school_staff", 1, 1, 2, False), ("test-head_teacher", 2, 2, 1, False)]
        assert [(c["student_id"], c["why"], c["visits"], c["shortfall"]) for c in body["relapsed"]] == [
            (relapsed, "returned", 1, 1)]
        # The head teacher's own register is their classes only.
        mine = (await cases.get("/v1/home-visits/register", params=term, headers=HEAD_TEACHER)).json()
        assert [r["recorder"] for r in mine["recorders"]] == ["test-school_staff", "test-head_teacher"]
        assert (await cases.get("/v1/home-visits/register", params={**term, "org_code": "4201021001"})).status_code == 404

        await cases.post(f"/v1/students/{relapsed}/home-visits", json={**visit, "visited_on": "2026-11-25"},
                         headers=HEAD_TEACHER)
        body = (await cases.get("/v1/home-visits/register", params=term)).json()
        assert body["relapsed"] == []  # two visits this term: the duty is met
        assert [(r["recorder"], r["met"]) for r in body["recorders"]] == [
            ("test-school_staff", False), ("test-head_teacher", True)]

        as_csv = await cases.get("/v1/home-visits/register", params={**term, "format": "csv"})
        text = as_csv.content.decode("utf-8-sig")
        assert as_csv.headers["content-type"].startswith("text/csv") and "家访登记" in text and "记录人" in text
        as_xlsx = await cases.get("/v1/home-visits/register", params={**term, "format": "xlsx"})
        book = load_workbook(io.BytesIO(as_xlsx.content))
        assert book.sheetnames == ["家访登记", "有反复学生家访不足"]
        rows = list(book["家访登记"].values)
        assert rows[0][0] == "记录人" and rows[2][:2] == ("test-head_teacher", 3)
        async with cases.app.state.runtime.sessionmaker() as s:
            audited = (await s.execute(select(func.count()).select_from(audit_log).where(
                audit_log.c.route == "/v1/home-visits/register"))).scalar_one()
        assert audited >= 5  # every read of the register, each export included
