"""The case over HTTP on SQLite and PostgreSQL: lifecycle, people and work, escalation, ledger.

Cases are opened by the service's own consumer handlers (as the access matrix seeds them); the
tests that need the broker (registry events, attendance's return) feed it for real."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from cases.adapters.tables import cases as cases_table
from cases.adapters.tables import timeline
from cases.bootstrap import handlers_for
from shared.audit import audit_log
from shared.clock import FixedClock
from shared.envelope import TOPIC_ATTENDANCE, TOPIC_REGISTRY, Event
from shared.messaging import outbox
from shared.routes import Routes
from tests.conftest import bearer, running
from tests.factories import (
    CHAIN,
    NO_BROKER,
    PATH,
    T0,
    add_plan_item,
    confirm_case,
    enrolled,
    feed_cases,
    move_case,
    open_case,
    outbox_payloads,
    threshold,
)
from tests.kafka_helpers import eventually, publish


def _fields(resp) -> list[str]:
    return [e["field"] for e in resp.json()["errors"]]


async def test_a_case_goes_from_report_to_close_out_and_is_reopened_within_the_term(databases):
    clock = FixedClock(T0 + timedelta(days=2))
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        _, case_id = await open_case(cases)
        illegal = await move_case(cases, case_id, "persuading")
        assert illegal.status_code == 409 and illegal.headers["content-type"] == "application/problem+json"
        assert illegal.json()["current_status"] == "reported" and "verifying" in illegal.json()["detail"]
        assert await outbox_payloads(cases, "baoxue.cases.dual_report.issued") == []  # checked first

        clock.advance(hours=1)
        r = await move_case(cases, case_id, "verifying", note="班主任已联系家长")
        assert r.status_code == 200 and r.json()["status"] == "verifying"
        assert datetime.fromisoformat(r.json()["verifying_at"]) == T0 + timedelta(days=2, hours=1)
        again = await move_case(cases, case_id, "verifying")  # a retried request changes nothing
        assert again.status_code == 200 and len(again.json()["timeline"]) == len(r.json()["timeline"])
        no_cause = await move_case(cases, case_id, "confirmed")
        assert no_cause.status_code == 422 and _fields(no_cause) == ["causes"]
        wrong = await move_case(cases, case_id, "confirmed", causes=["sick"])  # a false alarm's reason, not a cause
        assert wrong.status_code == 422
        assert (await move_case(cases, case_id, "verifying", causes=["poverty"])).status_code == 422
        confirmed = await move_case(cases, case_id, "confirmed", causes=["poverty", "weariness_of_study"],
                                cause_note="家庭困难，厌学")
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["causes"] == ["poverty", "weariness_of_study"]
        assert confirmed.json()["cause_note"] == "家庭困难，厌学"
        # Confirmed: both reports leave at once, to two different offices, not marked unverified.
        issued = await outbox_payloads(cases, "baoxue.cases.dual_report.issued")
        assert [(e["recipient"], e["recipient_org_code"], e["unverified"]) for e in issued] == [
            ("government", "410122100-GOV", False), ("education", "410122100-EDU", False)]
        assert issued[0]["causes"] == ["poverty", "weariness_of_study"] and issued[0]["origin"] == "absence"

        # Persuasion needs a responsible person and a plan: 422, and nothing is written.
        missing = await move_case(cases, case_id, "persuading")
        assert missing.status_code == 422 and _fields(missing) == ["responsible_person", "plan"]
        assert (await cases.get(f"/v1/cases/{case_id}")).json()["status"] == "confirmed"
        r = await cases.put(f"/v1/cases/{case_id}/responsibility", json={
            "responsible_person": {"name": "李明", "title": "班主任"}, "principal": {"name": "王校长"}})
        assert r.status_code == 200, r.text
        chain = r.json()["responsibility"]
        assert chain["responsible_person"]["name"] == "李明" and chain["county_official"] == {"org_code": "410122"}
        item = await add_plan_item(cases, case_id)
        assert (await move_case(cases, case_id, "persuading")).status_code == 200

        visit = await cases.post(f"/v1/cases/{case_id}/home-visits", json={
            "visited_on": "2026-11-18", "visitors": ["李明", "张主任"], "met": ["祖母"],
            "outcome": "家长同意周一送孩子返校", "next_step": "周一核实到校"})
        assert visit.status_code == 201, visit.text
        no_receipt = await move_case(cases, case_id, "transferred", evidence={"receiving_school_code": "4101221002"})
        assert no_receipt.status_code == 422 and _fields(no_receipt) == ["evidence.receipt"]
        assert (await move_case(cases, case_id, "returned")).status_code == 200
        no_date = await move_case(cases, case_id, "closed", evidence={"description": "已返校"})
        assert no_date.status_code == 422 and _fields(no_date) == ["evidence.returned_on"]
        done = await cases.patch(f"/v1/cases/{case_id}/plan-items/{item['id']}", json={"done": True})
        assert done.status_code == 200 and done.json()["done_at"] is not None
        closed = await move_case(cases, case_id, "closed", evidence={"returned_on": "2026-11-23"})
        assert closed.status_code == 200
        case = closed.json()
        assert case["status"] == "closed" and case["outcome"] == "returned" and case["closed_at"]
        assert all(case[f"{s}_at"] for s in ("verifying", "confirmed", "persuading", "returned"))
        assert case["evidence"]["returned_on"] == "2026-11-23" and len(case["home_visits"]) == 1
        kinds = [e["kind"] for e in case["timeline"]]
        assert kinds.count("status_changed") == 5 and "home_visit" in kinds and "plan_item_done" in kinds

        changed = await outbox_payloads(cases, "baoxue.cases.case.status_changed")
        assert [(e["previous_status"], e["status"]) for e in changed] == [
            ("reported", "verifying"), ("verifying", "confirmed"), ("confirmed", "persuading"),
            ("persuading", "returned")]
        # The registry follows the confirmation: dropped out as of the absence's start.
        assert changed[1]["causes"] == ["poverty", "weariness_of_study"]
        assert changed[1]["dropped_out_since"] == T0.isoformat()
        [closed_event] = await outbox_payloads(cases, "baoxue.cases.case.closed")
        assert closed_event["outcome"] == "returned" and closed_event["actor"] == "test-province_official"
        assert closed_event["evidence"]["returned_on"] == "2026-11-23"  # the close-out names its evidence

        # The close-out is the school's or an official's: a head teacher may not reopen it.
        teacher = bearer("head_teacher", PATH[-1], classes=["c1"])
        forbidden = await cases.post(f"/v1/cases/{case_id}/transitions", json={"to": "reported"}, headers=teacher)
        assert forbidden.status_code == 403
        # Reopened within the term (recorded), but not once the term is over.
        clock.advance(days=151)
        late = await move_case(cases, case_id, "reported")
        assert late.status_code == 409 and "within the term" in late.json()["detail"]
        clock.advance(days=-60)
        reopened = await move_case(cases, case_id, "reported", note="本学期再次辍学")
        assert reopened.status_code == 200, reopened.text
        body = reopened.json()
        assert body["reopen_count"] == 1 and body["reopened_at"] and body["outcome"] is None
        assert body["timeline"][-1]["kind"] == "reopened" and body["timeline"][-1]["note"] == "本学期再次辍学"
        assert (await move_case(cases, case_id, "verifying")).status_code == 200


async def test_a_closed_case_is_not_reopened_while_the_child_has_another_open_case(databases):
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(T0)) as cases:
        student, first = await open_case(cases)
        await move_case(cases, first, "verifying")
        await move_case(cases, first, "false_alarm", reason="data_error")
        assert (await move_case(cases, first, "closed", evidence={"description": "点名录错"})).status_code == 200
        await feed_cases(cases, threshold(student, (T0 + timedelta(days=3)).isoformat()))
        second = (await cases.get("/v1/cases", params={"student_id": student, "status": "reported"})).json()
        assert second["total"] == 1 and second["items"][0]["id"] != first
        r = await move_case(cases, first, "reported")
        assert r.status_code == 409 and "another open case" in r.json()["detail"]
        assert (await cases.get(f"/v1/cases/{first}")).json()["status"] == "closed"
        # An official records the legal notice; a head teacher may not.
        case_id = second["items"][0]["id"]
        await confirm_case(cases, case_id)
        await cases.put(f"/v1/cases/{case_id}/responsibility", json={"responsible_person": {"name": "李明"}})
        await add_plan_item(cases, case_id)
        await move_case(cases, case_id, "persuading")
        teacher = bearer("head_teacher", PATH[-1], classes=["c1"])
        assert (await cases.post(f"/v1/cases/{case_id}/transitions", headers=teacher,
                                 json={"to": "judicial_notice"})).status_code == 403
        county = bearer("county_official", "410122")
        r = await cases.post(f"/v1/cases/{case_id}/transitions", headers=county, json={
            "to": "judicial_notice", "evidence": {"document_ref": "中牟县劝返复学通知书〔2026〕3号"}})
        assert r.status_code == 200 and r.json()["judicial_notice_at"] and r.json()["outcome"] == "judicial_notice"
        # A legal notice is not a close-out while the child is still out of school.
        refused = await cases.post(f"/v1/cases/{case_id}/transitions", headers=county, json={
            "to": "closed", "evidence": {"document_ref": "中牟县劝返复学通知书〔2026〕3号"}})
        assert refused.status_code == 409 and refused.json()["current_status"] == "judicial_notice"
        certified = await cases.post(f"/v1/cases/{case_id}/transitions", headers=county, json={
            "to": "unable_to_study", "evidence": {"document_ref": "残疾评定-2026-7"}})
        assert certified.status_code == 200 and certified.json()["unable_to_study_at"]
        r = await cases.post(f"/v1/cases/{case_id}/transitions", headers=county, json={"to": "closed"})
        assert r.status_code == 200 and r.json()["outcome"] == "unable_to_study"


async def test_a_false_alarm_needs_its_reason_and_closes_with_evidence(databases):
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(T0)) as cases:
        _, case_id = await open_case(cases)
        await move_case(cases, case_id, "verifying")
        assert _fields(await move_case(cases, case_id, "false_alarm")) == ["reason"]
        bad = await move_case(cases, case_id, "false_alarm", reason="bored")
        assert bad.status_code == 422 and _fields(bad) == ["reason"]
        r = await move_case(cases, case_id, "false_alarm", reason="sick", note="住院，已补请假")
        assert r.status_code == 200 and r.json()["false_alarm_reason"] == "sick"
        assert (await move_case(cases, case_id, "persuading")).status_code == 409
        assert (await move_case(cases, case_id, "closed", reason="sick")).status_code == 422
        assert _fields(await move_case(cases, case_id, "closed")) == ["evidence.description"]
        r = await move_case(cases, case_id, "closed", evidence={"document_ref": "病历-118", "description": "住院证明"})
        assert r.status_code == 200 and r.json()["outcome"] == "false_alarm"
        assert (await outbox_payloads(cases, "baoxue.cases.case.closed"))[0]["previous_status"] == "false_alarm"
        # Decided before the deadline: no report was issued, and the timeline says so.
        assert await outbox_payloads(cases, "baoxue.cases.dual_report.issued") == []
        assert [e["detail"]["reason"] for e in r.json()["timeline"] if e["kind"] == "dual_reports_not_issued"] == [
            "sick"]
        assert (await cases.post("/v1/cases/nope/transitions", json={"to": "verifying"})).status_code == 404


async def test_a_burst_of_alarms_applied_together_goes_where_one_at_a_time_would(databases):
    """The consumer hands a detector pass's burst to the threshold handler as one run (``Batched``):
    a second episode of a child joins the case the first opened, a child with an open case joins
    it, a late-detected alarm brings its end along. The same burst fed one event at a time, each
    in its own transaction, leaves the same cases, timelines and case.opened events."""
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(T0)) as cases:
        runtime = cases.app.state.runtime
        routes = Routes(handlers_for(runtime.settings))

        async def burst() -> tuple[list[str], list[Event]]:
            a, b, c = (str(uuid.uuid4()) for _ in range(3))
            await feed_cases(cases, threshold(b, "2026-11-01T00:00:00+00:00"))  # b's case is open already
            late = threshold(c, "2026-11-10T00:00:00+00:00")
            late.data.update(detected_late=True, ended_at="2026-11-13T08:00:00+00:00", end_reason="returned")
            return [a, b, c], [threshold(a, "2026-11-12T00:00:00+00:00"), threshold(b, "2026-11-12T00:00:00+00:00"),
                               late, threshold(a, "2026-11-14T00:00:00+00:00"),
                               threshold(c, "2026-11-14T00:00:00+00:00")]

        async def outcome(children: list[str]) -> list[tuple]:
            async with runtime.uow() as uow:
                rows = (await uow.session.execute(select(cases_table.c.id, cases_table.c.child_id,
                                                         cases_table.c.back_at).where(
                    cases_table.c.child_id.in_(children)))).all()
                kinds = {r.id: (await uow.session.execute(select(timeline.c.kind).where(
                    timeline.c.case_id == r.id).order_by(timeline.c.id))).scalars().all() for r in rows}
                opened = (await uow.session.execute(select(outbox.c.subject).where(
                    outbox.c.event_type == "baoxue.cases.case.opened", outbox.c.subject.in_(children)))).scalars()
                opened_for = sorted(children.index(s) for s in opened)
            return [(children.index(r.child_id), kinds[r.id], r.back_at is not None)
                    for r in sorted(rows, key=lambda r: children.index(r.child_id))] + [tuple(opened_for)]

        alone, events = await burst()
        await feed_cases(cases, *events)
        together, events = await burst()
        async with runtime.uow() as uow:
            await routes.apply_run(uow, events[0].type, [routes.validate(e) for e in events])
            await uow.commit()
        expected = [(0, ["opened", "absence_episode_added"], False),
                    (1, ["opened", "absence_episode_added"], False),
                    (2, ["opened", "student_returned", "absence_episode_added"], True), (0, 1, 2)]
        assert await outcome(alone) == expected
        assert await outcome(together) == expected


async def test_a_teacher_reports_a_child_and_a_second_report_joins_the_open_case(databases):
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(T0)) as cases:
        student = str(uuid.uuid4())
        await feed_cases(cases, enrolled(student))
        teacher = bearer("head_teacher", PATH[-1], classes=["c1"])
        first = await cases.post("/v1/cases", headers=teacher, json={"student_id": student, "note": "三天未到校"})
        assert first.status_code == 201, first.text
        assert first.json()["origin"] == "manual" and first.json()["child"]["name"] == "王小明"
        assert first.json()["timeline"][0]["actor"] == "test-head_teacher"
        township = bearer("township_official", "410122100")
        second = await cases.post("/v1/cases", headers=township, json={"student_id": student, "note": "村干部反映"})
        assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
        assert second.json()["timeline"][-1]["kind"] == "manual_reported_again"
        other_class = bearer("head_teacher", PATH[-1], classes=["c2"])
        assert (await cases.post("/v1/cases", headers=other_class,
                                 json={"student_id": student, "note": "x"})).status_code == 404
        assert (await cases.post("/v1/cases", json={"student_id": str(uuid.uuid4()), "note": "x"})).status_code == 404
        assert (await cases.post("/v1/cases", json={"student_id": student})).status_code == 422
        assert len(await outbox_payloads(cases, "baoxue.cases.case.opened")) == 1
        # Checked first: a manual report, like any other, issues nothing until it is confirmed.
        assert await outbox_payloads(cases, "baoxue.cases.dual_report.issued") == []
        # One audit row per request: the two reports committed with theirs (the joined one with
        # the 200 it answered), the refusals were recorded after their responses.
        async with cases.app.state.runtime.sessionmaker() as s:
            audited = (await s.execute(select(audit_log.c.status).where(audit_log.c.route == "/v1/cases")
                                       .order_by(audit_log.c.id))).scalars().all()
        assert audited == [201, 200, 404, 404, 422]


async def sweep_both(*replicas) -> None:
    """One whole pass of the escalation job on each replica, at once, as their schedules would run
    it: what a pass does is then known to be done, with no waiting for the schedule."""
    from cases.entrypoints.jobs import _escalation_pass

    await asyncio.gather(*(_escalation_pass(r.app.state.runtime) for r in replicas))


async def test_an_unacknowledged_report_is_escalated_once_even_with_two_replicas(databases):
    clock = FixedClock(T0)
    url = databases.url("cases")
    fast = {"escalation_interval_s": 0.05}
    async with running("cases", url, NO_BROKER, clock=clock, **fast) as one, \
            running("cases", url, NO_BROKER, clock=clock, migrated=True, **fast) as two:
        _, case_id = await open_case(one, confirm=True)
        ack = await one.post(f"/v1/cases/{case_id}/reports/education/ack",
                             headers=bearer("recipient", "410122100-EDU"))
        assert ack.status_code == 200
        clock.advance(hours=23, minutes=59)
        # A whole pass of each replica's sweep on this clock, beside their own: a minute early.
        await sweep_both(one, two)
        assert await outbox_payloads(one, "baoxue.cases.dual_report.escalated") == []
        clock.advance(minutes=1)
        escalated = await eventually(lambda: outbox_payloads(two, "baoxue.cases.dual_report.escalated"), timeout=10)
        await sweep_both(one, two)  # each replica swept at least once more after the escalation
        assert escalated == await outbox_payloads(one, "baoxue.cases.dual_report.escalated")
        [event] = escalated
        assert (event["recipient"], event["recipient_org_code"], event["escalated_to_org_code"],
                event["escalated_to_org_name"], event["deadline_hours"]) == (
            "government", "410122100-GOV", "410122-GOV", "中牟县人民政府", 24.0)
        detail = (await one.get(f"/v1/cases/{case_id}")).json()
        gov = next(r for r in detail["reports"] if r["recipient"] == "government")
        assert gov["escalated_to_org_code"] == "410122-GOV" and gov["acknowledged_at"] is None
        assert [e["detail"]["to_org_code"] for e in detail["timeline"] if e["kind"] == "dual_report_escalated"] == [
            "410122-GOV"]
        async with one.app.state.runtime.sessionmaker() as s:
            keys = (await s.execute(select(outbox.c.key).where(
                outbox.c.event_type == "baoxue.cases.dual_report.escalated"))).scalars().all()
        assert keys == ["410122-GOV"]


async def test_the_ledger_filters_pages_puts_overdue_first_and_exports_csv_and_xlsx(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        offices = (("government", "410122100-GOV"), ("education", "410122100-EDU"))
        _, quiet = await open_case(cases, confirm=True)
        for recipient, org in offices:
            await cases.post(f"/v1/cases/{quiet}/reports/{recipient}/ack", headers=bearer("recipient", org))
        # Confirmed, so it names its 劝返责任人 in time (a confirmed case without one is overdue).
        await cases.put(f"/v1/cases/{quiet}/responsibility", json={"responsible_person": {"name": "赵老师"}})
        _, late_plan = await open_case(cases, confirm=True)
        for recipient, org in offices:
            await cases.post(f"/v1/cases/{late_plan}/reports/{recipient}/ack", headers=bearer("recipient", org))
        await add_plan_item(cases, late_plan, due_on="2026-11-16", owner="王老师")
        clock.advance(hours=1)
        _, newest = await open_case(cases, enrol=False, confirm=True)  # reports not acknowledged, but not late yet
        await cases.put(f"/v1/cases/{late_plan}/responsibility", json={"responsible_person": {"name": "王老师"}})
        clock.set(T0 + timedelta(hours=20))  # 17 Nov in Shanghai: the item due on the 16th is late; no report is

        page = (await cases.get("/v1/cases/ledger")).json()
        assert [i["id"] for i in page["items"]] == [late_plan, newest, quiet]
        first = page["items"][0]
        assert first["overdue"] and first["overdue_plan_items"] == 1 and first["responsible_person"] == "王老师"
        assert first["student_name"] == "王小明" and first["flags"] == ["left_behind"]
        assert first["status_label"] == "确认辍学" and first["school_name"] == "城关镇第一初级中学"
        assert page["items"][1]["unacknowledged_reports"] == 2 and not page["items"][1]["overdue"]
        clock.set(T0 + timedelta(hours=26))  # now newest's reports are past the 24-hour deadline too
        assert [i["overdue"] for i in (await cases.get("/v1/cases/ledger")).json()["items"]] == [True, True, False]
        clock.set(T0 + timedelta(hours=20))

        one = (await cases.get("/v1/cases/ledger", params={"limit": 1, "offset": 1})).json()
        assert one["total"] == 3 and one["next_offset"] == 2 and len(one["items"]) == 1
        assert (await cases.get("/v1/cases/ledger", params={"flag": "left_behind"})).json()["total"] == 2
        assert (await cases.get("/v1/cases/ledger", params={"org_code": "410122100"})).json()["total"] == 3
        assert (await cases.get("/v1/cases/ledger", params={"org_code": "420102"})).json()["total"] == 0
        assert (await cases.get("/v1/cases/ledger", params={"school_code": PATH[-1]})).json()["total"] == 3
        assert (await cases.get("/v1/cases/ledger", params={"status": "closed"})).json()["total"] == 0
        assert (await cases.get("/v1/cases/ledger", params={"opened_from": "2026-11-17"})).json()["total"] == 0
        assert (await cases.get("/v1/cases/ledger", params={"opened_to": "2026-11-16"})).json()["total"] == 3
        bad = await cases.get("/v1/cases/ledger", params={"opened_from": "2026-11-18", "opened_to": "2026-11-17"})
        assert bad.status_code == 422
        teacher = await cases.get("/v1/cases/ledger", headers=bearer("head_teacher", PATH[-1], classes=["c9"]))
        assert teacher.json()["total"] == 0

        r = await cases.get("/v1/cases/ledger", params={"format": "csv", "org_code": "410122"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.headers["content-disposition"].startswith('attachment; filename="dropout-ledger-410122.csv"')
        assert r.content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["案件编号", "学生姓名", "身份证号"] and "劝返责任人" in rows[0] and len(rows) == 4
        assert rows[1][0] == late_plan and rows[1][rows[0].index("是否逾期")] == "是"
        assert rows[1][rows[0].index("关注类别")] == "留守儿童"

        x = await cases.get("/v1/cases/ledger", params={"format": "xlsx"})
        assert x.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        sheet = load_workbook(io.BytesIO(x.content)).active
        values = list(sheet.iter_rows(values_only=True))
        assert sheet.title == "劝返台账" and values[0][0] == "案件编号" and values[1][0] == late_plan
        assert len(values) == 4 and x.headers["x-total-count"] == "3"
        async with cases.app.state.runtime.sessionmaker() as s:
            audited = (await s.execute(select(func.count()).select_from(audit_log).where(
                audit_log.c.route == "/v1/cases/ledger", audit_log.c.action == "read"))).scalar_one()
        assert audited >= 3


async def test_home_visits_are_counted_per_teacher_per_term(databases):
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(T0)) as cases:
        _, a = await open_case(cases)
        _, b = await open_case(cases)
        for case_id, on, visitors in ((a, "2026-09-10", ["李老师", "张主任"]), (a, "2026-10-10", ["李老师"]),
                                      (b, "2026-11-10", ["李老师", "李老师"]), (b, "2026-03-01", ["李老师"])):
            r = await cases.post(f"/v1/cases/{case_id}/home-visits", json={
                "visited_on": on, "visitors": visitors, "met": ["父亲"], "outcome": "已沟通"})
            assert r.status_code == 201, r.text
        term = {"org_code": "410122", "since": "2026-09-01", "until": "2027-01-31"}
        r = await cases.get("/v1/home-visits/summary", params=term)
        assert r.status_code == 200, r.text
        assert [(v["visitor"], v["visits"], v["cases"]) for v in r.json()["visitors"]] == [
            ("李老师", 3, 2), ("张主任", 1, 1)]
        assert r.json()["visitors"][0]["last_visit_on"] == "2026-11-10"
        outside = await cases.get("/v1/home-visits/summary", params={**term, "org_code": "420102"})
        assert outside.status_code == 404
        wrong = await cases.get("/v1/home-visits/summary", params={**term, "since": "2027-02-01"})
        assert wrong.status_code == 422
        empty = await cases.post(f"/v1/cases/{a}/home-visits", json={
            "visited_on": "2026-09-10", "visitors": [], "outcome": "x"})
        assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "visitors"


def _registry(event_type: str, subject: str, data: dict) -> Event:
    return Event(type=event_type, source="/baoxue/registry", subject=subject, data=data)


async def test_registry_and_attendance_events_open_and_move_cases_through_the_broker(databases, broker):
    student, moved, person = (str(uuid.uuid4()) for _ in range(3))
    new_chain = CHAIN[:3] + [{"code": "410122101", "kind": "township", "name": "白沙镇"},
                             {"code": "4101221011", "kind": "school", "name": "白沙镇中学"}]
    new_path = [o["code"] for o in new_chain]
    await publish(broker.bootstrap, TOPIC_REGISTRY, enrolled(moved))
    await publish(broker.bootstrap, TOPIC_REGISTRY, _registry(
        "baoxue.registry.student.status_changed", moved, {
            "student_id": moved, "status": "transferred_in", "previous_status": "transferred_out",
            "effective_on": "2026-11-10", "actor": "school", "reason": None, "school_code": new_path[-1],
            "class_id": "c7", "grade": 8, "org_path": new_path, "org_chain": new_chain}))
    await publish(broker.bootstrap, TOPIC_REGISTRY, _registry("baoxue.registry.transfer.overdue", student, {
        "transfer_id": "t-1", "student_id": student, "from_school_code": PATH[-1], "to_school_code": None,
        "requested_on": "2026-10-01", "days_pending": 30, "overdue_after_days": 30, "school_code": PATH[-1],
        "class_id": "c1", "grade": 7, "org_path": PATH, "org_chain": CHAIN}), times=2)
    await publish(broker.bootstrap, TOPIC_REGISTRY, _registry(
        "baoxue.registry.population.suspected_out_of_school", person, {
            "check_id": "chk-1", "person_id": person, "national_id_masked": "4101**********0035", "name": "赵小花",
            "gender": "female", "birth_date": "2014-05-01", "address": "城关镇东村3组", "region_code": "410122100",
            "org_path": PATH[:4], "org_chain": CHAIN[:4]}))
    async with running("cases", databases.url("cases"), broker.bootstrap) as cases:
        async def case_of(who):
            page = (await cases.get("/v1/cases", params={"student_id": who})).json()
            return page["items"][0] if page["total"] else None

        transfer = await eventually(lambda: case_of(student), timeout=60)
        suspected = await eventually(lambda: case_of(person), timeout=60)
        assert transfer["origin"] == "transfer_overdue" and transfer["school_code"] == PATH[-1]
        assert suspected["origin"] == "suspected_out_of_school" and suspected["org_path"] == PATH[:4]
        assert suspected["child"]["name"] == "赵小花" and suspected["class_id"] is None
        assert (await cases.get("/v1/cases", params={"student_id": student})).json()["total"] == 1
        township = bearer("township_official", "410122100")
        assert (await cases.get(f"/v1/cases/{suspected['id']}", headers=township)).status_code == 200

        # The confirmed transfer moved the child: a manual report now files the case at the new school.
        async def placed_at_the_new_school():  # once the registry's events about the child are read
            from cases.adapters.tables import students

            async with cases.app.state.runtime.sessionmaker() as s:
                return (await s.execute(select(students.c.school_code).where(
                    students.c.student_id == moved))).scalar_one_or_none() == new_path[-1]

        await eventually(placed_at_the_new_school, timeout=60)
        r = await cases.post("/v1/cases", json={"student_id": moved, "note": "新学校反映未到校"})
        assert r.status_code == 201 and r.json()["org_path"] == new_path and r.json()["child"]["grade"] == 8

        # A registry status change shows on the child's open case; a dropped_out confirms it.
        await publish(broker.bootstrap, TOPIC_REGISTRY, _registry(
            "baoxue.registry.student.status_changed", student, {
                "student_id": student, "status": "dropped_out", "previous_status": "transferred_out",
                "effective_on": "2026-11-20", "actor": "school", "reason": "家长外出务工带走"}))

        async def noted():
            d = (await cases.get(f"/v1/cases/{transfer['id']}")).json()
            return [e["detail"] for e in d["timeline"] if e["kind"] == "registry_status_changed"]

        assert (await eventually(noted, timeout=60))[0]["status"] == "dropped_out"
        confirmed = (await cases.get(f"/v1/cases/{transfer['id']}")).json()
        assert confirmed["status"] == "confirmed" and confirmed["causes"] == ["other"]
        assert "家长外出务工带走" in confirmed["cause_note"]
        # The overdue transfer is reported like an absence: the sending school's township's offices.
        assert [(r["recipient_org_code"], r["unverified"]) for r in confirmed["reports"]] == [
            ("410122100-EDU", False), ("410122100-GOV", False)]

        # A persuading case moves to returned by itself when attendance sees the child back.
        case_id = transfer["id"]
        await cases.put(f"/v1/cases/{case_id}/responsibility", json={"responsible_person": {"name": "李明"}})
        await add_plan_item(cases, case_id)
        assert (await move_case(cases, case_id, "persuading")).status_code == 200
        await publish(broker.bootstrap, TOPIC_ATTENDANCE, Event(
            type="baoxue.attendance.student.returned", source="/baoxue/attendance", subject=student, data={
                "student_id": student, "episode_id": str(uuid.uuid4()),
                "episode_started_at": "2026-11-14T00:00:00+00:00", "returned_at": "2026-11-23T00:10:00+00:00"}))

        async def returned():
            d = (await cases.get(f"/v1/cases/{case_id}")).json()
            return d if d["status"] == "returned" else None

        case = await eventually(returned, timeout=60)
        assert case["evidence"] == {"returned_on": "2026-11-23", "confirmed_by": "attendance",
                                    "episode_id": case["evidence"]["episode_id"]}
        assert case["timeline"][-1]["actor"] == "system"
        # Attendance's confirmation is the close-out's evidence: nothing more is needed.
        assert (await move_case(cases, case_id, "closed")).json()["outcome"] == "returned"


async def test_a_dual_report_written_before_the_registry_was_read_says_what_it_lacks(databases):
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(T0)) as cases:
        await open_case(cases, enrol=False, confirm=True)
        await open_case(cases, confirm=True)
        without, with_record = (await outbox_payloads(cases, "baoxue.cases.dual_report.issued"))[::2]
        assert without["student"] == {"id": without["student"]["id"], "grade": 7}
        assert without["missing_facts"] == ["student.name", "student.national_id_masked", "student.gender",
                                            "student.birth_date", "student.flags", "student.guardians"]
        assert without["school"]["name"] == "城关镇第一初级中学"  # from the event's own org chain
        assert with_record["missing_facts"] == [] and with_record["student"]["name"] == "王小明"


async def test_a_case_opened_before_the_registry_was_read_names_the_child_when_the_record_arrives(databases):
    """The registry and attendance topics race into cases: the absence may come first. The
    registry's record, read later, fills in the case's copy of the child, and the reports issued
    after it say who the child is."""
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(T0)) as cases:
        student, case_id = await open_case(cases, enrol=False)

        async def ledger_row() -> dict:
            return next(i for i in (await cases.get("/v1/cases/ledger")).json()["items"] if i["id"] == case_id)

        assert ((await ledger_row())["student_name"], (await ledger_row())["flags"]) == (None, [])
        await feed_cases(cases, enrolled(student))
        row = await ledger_row()
        assert (row["student_name"], row["national_id_masked"], row["gender"], row["grade"], row["flags"]) == (
            "王小明", "4101**********0113", "男", 7, ["left_behind"])
        await confirm_case(cases, case_id)
        reports = await outbox_payloads(cases, "baoxue.cases.dual_report.issued")
        assert len(reports) == 2 and all(r["missing_facts"] == [] and r["student"]["name"] == "王小明" for r in reports)


async def test_only_a_real_return_moves_a_persuading_case(databases):
    """Attendance also ends a fired episode when the alarm is withdrawn (leave granted late, a
    roll call corrected) or the child leaves the roll: those go on the timeline for the officials
    to judge; only the child seen in class again moves the case to returned."""
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(T0)) as cases:
        student, case_id = await open_case(cases, confirm=True)
        await cases.put(f"/v1/cases/{case_id}/responsibility", json={"responsible_person": {"name": "李明"}})
        await add_plan_item(cases, case_id)
        assert (await move_case(cases, case_id, "persuading")).status_code == 200

        def ended(reason: str) -> Event:
            return Event(type="baoxue.attendance.student.returned", source="/baoxue/attendance", subject=student,
                         id=str(uuid.uuid4()), data={
                             "student_id": student, "episode_id": str(uuid.uuid4()), "reason": reason,
                             "episode_started_at": "2026-11-14T00:00:00+00:00",
                             "returned_at": "2026-11-16T08:00:00+00:00"})

        for reason, kind in (("withdrawn", "absence_withdrawn"), ("not_attending", "student_off_roll")):
            await feed_cases(cases, ended(reason))
            case = (await cases.get(f"/v1/cases/{case_id}")).json()
            assert case["status"] == "persuading" and case["timeline"][-1]["kind"] == kind
        await feed_cases(cases, ended("returned"))
        assert (await cases.get(f"/v1/cases/{case_id}")).json()["status"] == "returned"
