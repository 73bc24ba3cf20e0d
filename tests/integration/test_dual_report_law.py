"""Dual reports as the law asks, over HTTP on SQLite and PostgreSQL, with the clock injected.

The seeds' rule (000): 对48小时未到校又未履行请假手续的学生，迅速查明原因，一经确定是辍学情况，立即向当地政府和
教育部门报告. For every origin of a case: checked first; the two reports leave on confirmation, or
at the verification deadline marked unverified; a child known to be back waits for the school; a
false alarm before the deadline issues nothing, one after it withdraws each report once. The two
reports go to two different offices of the reporting area and escalate each up its own line.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.clock import FixedClock
from shared.envelope import Event
from tests.conftest import bearer, running
from tests.factories import CHAIN, NO_BROKER, PATH, enrolled, feed_cases, outbox_payloads, threshold

T0 = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
DEADLINE = timedelta(hours=24)  # BAOXUE_VERIFY_DEADLINE_HOURS' default
ORIGINS = ("absence", "manual", "transfer_overdue", "boarding_overdue", "suspension_overdue",
           "suspected_out_of_school")
# Who checks: the school (the sending school for an overdue transfer), the township for a child
# found by the population cross-check, who has no school.
CHECKER = {o: bearer("school_staff", PATH[-1]) for o in ORIGINS}
CHECKER["suspected_out_of_school"] = bearer("township_official", PATH[3])


def _registry(event_type: str, subject: str, data: dict) -> Event:
    return Event(type=f"baoxue.registry.{event_type}", source="/baoxue/registry", subject=subject,
                 id=str(uuid.uuid4()), data=data)


PLACED = {"school_code": PATH[-1], "class_id": "c1", "grade": 7, "org_path": PATH, "org_chain": CHAIN}


async def _open(client, origin: str) -> tuple[str, str]:
    """A case of this origin for a new child, opened at the clock's now."""
    who = str(uuid.uuid4())
    if origin != "suspected_out_of_school":
        await feed_cases(client, enrolled(who))
    if origin == "absence":
        await feed_cases(client, threshold(who, (T0 - timedelta(days=2)).isoformat()))
    elif origin == "manual":
        r = await client.post("/v1/cases", json={"student_id": who, "note": "连续三天未到校"})
        assert r.status_code == 201, r.text
    elif origin == "transfer_overdue":
        await feed_cases(client, _registry("transfer.overdue", who, {
            "transfer_id": str(uuid.uuid4()), "student_id": who, "from_school_code": PATH[-1], "to_school_code": None,
            "requested_on": "2026-10-01", "days_pending": 30, "overdue_after_days": 30, **PLACED}))
    elif origin in ("boarding_overdue", "suspension_overdue"):
        await feed_cases(client, _registry(origin.replace("_", "."), who, {
            "period_id": str(uuid.uuid4()), "student_id": who, "started_on": "2026-09-01", "expected_end": None,
            "missing": "receipt", "host_school_code": None, "host_school_name": None, "host_region": None,
            "reason": None, "days_off": 76, "overdue_after_days": 30, **PLACED}))
    else:
        await feed_cases(client, _registry("population.suspected_out_of_school", who, {
            "check_id": str(uuid.uuid4()), "person_id": who, "national_id_masked": "4101**********0035",
            "name": "赵小花", "gender": "female", "birth_date": "2014-05-01", "address": "城关镇东村3组",
            "region_code": PATH[3], "org_path": PATH[:4], "org_chain": CHAIN[:4]}))
    page = (await client.get("/v1/cases", params={"student_id": who})).json()
    assert page["total"] == 1 and page["items"][0]["origin"] == origin
    return who, page["items"][0]["id"]


async def _sweep(client) -> int:
    """One pass of the deadline sweep, as the scheduled job runs it."""
    from cases.usecases.dual_reports import issue_unverified_reports

    async with client.app.state.runtime.uow() as uow:
        return await issue_unverified_reports(uow)


async def _reports(client, case_id: str) -> list[tuple[str, str, bool]]:
    return sorted((e["recipient"], e["recipient_org_code"], e["unverified"])
                  for e in await outbox_payloads(client, "baoxue.cases.dual_report.issued") if e["case_id"] == case_id)


async def _decide(client, origin: str, case_id: str, to: str, **body):
    r = await client.post(f"/v1/cases/{case_id}/transitions", headers=CHECKER[origin], json={"to": to, **body})
    assert r.status_code == 200, r.text
    return r.json()


PAIR = [("education", "410122100-EDU"), ("government", "410122100-GOV")]


async def test_every_origin_confirmed_before_the_deadline_reports_at_once_and_only_once(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        opened = {origin: await _open(cases, origin) for origin in ORIGINS}
        for origin, (_, case_id) in opened.items():
            case = (await cases.get(f"/v1/cases/{case_id}")).json()
            assert datetime.fromisoformat(case["verify_due_at"]) == T0 + DEADLINE and case["reports"] == []
        clock.advance(hours=3)
        for origin, (_, case_id) in opened.items():
            await _decide(cases, origin, case_id, "verifying")
            confirmed = await _decide(cases, origin, case_id, "confirmed", causes=["left_to_work"])
            assert datetime.fromisoformat(confirmed["reports_issued_at"]) == T0 + timedelta(hours=3)
            assert await _reports(cases, case_id) == [(line, code, False) for line, code in PAIR], origin
        clock.advance(days=3)
        assert await _sweep(cases) == 0
        for _, case_id in opened.values():
            assert len(await _reports(cases, case_id)) == 2


async def test_every_origin_undecided_at_the_deadline_is_reported_unverified_once(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        opened = {origin: await _open(cases, origin) for origin in ORIGINS}
        await _decide(cases, "absence", opened["absence"][1], "verifying")  # checking, not decided
        clock.advance(hours=23, minutes=59)
        assert await _sweep(cases) == 0
        clock.advance(minutes=1)
        assert await _sweep(cases) == len(ORIGINS)
        assert await _sweep(cases) == 0
        for origin, (_, case_id) in opened.items():
            assert await _reports(cases, case_id) == [(line, code, True) for line, code in PAIR], origin
            # Confirmed afterwards: the reports are out, no second pair.
            if origin != "absence":
                await _decide(cases, origin, case_id, "verifying")
            await _decide(cases, origin, case_id, "confirmed", causes=["poverty"])
            assert len(await _reports(cases, case_id)) == 2


async def test_a_false_alarm_before_the_deadline_issues_nothing_after_it_withdraws_each_report_once(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        early = {origin: await _open(cases, origin) for origin in ORIGINS}
        clock.advance(hours=2)
        for origin, (_, case_id) in early.items():
            case = await _decide(cases, origin, case_id, "false_alarm", reason="data_error")
            assert case["reports"] == []
            assert [e["detail"]["reason"] for e in case["timeline"] if e["kind"] == "dual_reports_not_issued"] == [
                "data_error"]
        late = {origin: await _open(cases, origin) for origin in ORIGINS}
        clock.advance(days=2)
        assert await _sweep(cases) == len(ORIGINS)  # only the late ones: the early ones are decided
        for origin, (_, case_id) in late.items():
            await _decide(cases, origin, case_id, "false_alarm", reason="on_leave", note="请假条补交")
            await _decide(cases, origin, case_id, "false_alarm", reason="on_leave")  # a retried request
        withdrawn = await outbox_payloads(cases, "baoxue.cases.dual_report.withdrawn")
        assert sorted((w["case_id"], w["recipient"]) for w in withdrawn) == sorted(
            (case_id, line) for _, case_id in late.values() for line in ("education", "government"))
        assert {(w["recipient_org_code"], w["unverified"], w["false_alarm_reason"]) for w in withdrawn} == {
            ("410122100-GOV", True, "on_leave"), ("410122100-EDU", True, "on_leave")}
        for _, case_id in early.values():
            assert await _reports(cases, case_id) == []
        detail = (await cases.get(f"/v1/cases/{late['manual'][1]}")).json()
        assert all(r["withdrawn_at"] for r in detail["reports"])
        # Closed out on what shows it was a false alarm.
        r = await cases.post(f"/v1/cases/{late['manual'][1]}/transitions", json={"to": "closed"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "evidence.description"
        r = await cases.post(f"/v1/cases/{late['manual'][1]}/transitions", json={
            "to": "closed", "evidence": {"description": "病假条已补交"}})
        assert r.status_code == 200


async def test_a_child_known_to_be_back_is_not_reported_at_the_deadline_but_waits_for_the_school(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        # Late detection: the register was typed in after the child came back.
        late_child = str(uuid.uuid4())
        event = threshold(late_child, (T0 - timedelta(days=5)).isoformat())
        event.data.update(detected_late=True, ended_at=(T0 - timedelta(days=1)).isoformat(), end_reason="returned")
        await feed_cases(cases, enrolled(late_child), event)
        late_case = (await cases.get("/v1/cases", params={"student_id": late_child})).json()["items"][0]["id"]
        # A return recorded before the deadline (a manual case), and one recorded after it.
        manual_child, manual_case = await _open(cases, "manual")
        after_child, after_case = await _open(cases, "manual")

        def returned(student: str) -> Event:
            return Event(type="baoxue.attendance.student.returned", source="/baoxue/attendance", subject=student,
                         id=str(uuid.uuid4()), data={"student_id": student, "episode_id": str(uuid.uuid4()),
                                                     "episode_started_at": (T0 - timedelta(days=2)).isoformat(),
                                                     "reason": "returned", "returned_at": clock.now().isoformat()})

        clock.advance(hours=5)
        await feed_cases(cases, returned(manual_child))
        clock.advance(hours=19, minutes=1)  # just past the deadline, before the sweep ran
        await feed_cases(cases, returned(after_child))  # back, but only once the reports were due
        assert await _sweep(cases) == 1
        assert await _reports(cases, late_case) == [] and await _reports(cases, manual_case) == []
        assert len(await _reports(cases, after_case)) == 2
        clock.advance(days=5)
        assert await _sweep(cases) == 0
        # The school decides: back before anyone checked, with the date as its evidence.
        no_date = await cases.post(f"/v1/cases/{late_case}/transitions", json={"to": "false_alarm",
                                                                              "reason": "returned"})
        assert no_date.status_code == 200 and no_date.json()["reports"] == []
        closing = await cases.post(f"/v1/cases/{late_case}/transitions", json={"to": "closed"})
        assert closing.status_code == 422 and closing.json()["errors"][0]["field"] == "evidence.returned_on"
        # Or it is a dropout after all: confirmed, the reports leave then.
        await _decide(cases, "manual", manual_case, "confirmed", causes=["weariness_of_study"], cause_note="厌学")
        assert await _reports(cases, manual_case) == [(line, code, False) for line, code in PAIR]


async def test_a_county_run_school_reports_to_two_county_offices_and_each_line_escalates_on_its_own(databases):
    clock = FixedClock(T0)
    county_run = CHAIN[:3] + [{"code": "4101220001", "kind": "school", "name": "中牟县直属初级中学"}]
    path = [o["code"] for o in county_run]
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        child = str(uuid.uuid4())
        event = threshold(child, (T0 - timedelta(days=2)).isoformat())
        event.data.update(school_code=path[-1], org_path=path, org_chain=county_run)
        await feed_cases(cases, event)
        county_case = (await cases.get("/v1/cases", params={"student_id": child})).json()["items"][0]["id"]
        _, township_case = await _open(cases, "absence")
        for case_id in (county_case, township_case):
            r = await cases.post(f"/v1/cases/{case_id}/transitions", json={"to": "confirmed", "causes": ["family"]})
            assert r.status_code == 200, r.text
        assert await _reports(cases, county_case) == [("education", "410122-EDU", False),
                                                       ("government", "410122-GOV", False)]
        # The township's government office acknowledges; its education office does not.
        r = await cases.post(f"/v1/cases/{township_case}/reports/government/ack",
                             headers=bearer("recipient", "410122100-GOV"))
        assert r.status_code == 200
        clock.advance(hours=24)
        from cases.usecases.dual_reports import escalate_overdue

        async with cases.app.state.runtime.uow() as uow:
            assert await escalate_overdue(uow, timedelta(hours=24)) == 3
        escalated = {(e["case_id"], e["recipient"]): e["escalated_to_org_code"]
                     for e in await outbox_payloads(cases, "baoxue.cases.dual_report.escalated")}
        # Each up its own line: the township's education office to the county's, the county's
        # two offices to the city's two.
        assert escalated == {(township_case, "education"): "410122-EDU",
                             (county_case, "government"): "410100-GOV",
                             (county_case, "education"): "410100-EDU"}


async def test_an_area_names_its_two_offices_and_reports_go_to_them(databases):
    clock = FixedClock(T0)
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        for org in CHAIN:
            level = PATH.index(org["code"])
            await feed_cases(cases, _registry("org.registered", org["code"], {
                "code": org["code"], "name": org["name"], "kind": org["kind"],
                "parent_code": PATH[level - 1] if level else None, "path": PATH[: level + 1]}))
        derived = await cases.get("/v1/recipients/410122100", headers=bearer("township_official", "410122100"))
        assert derived.status_code == 200, derived.text
        assert (derived.json()["government"]["code"], derived.json()["education"]["code"]) == (
            "410122100-GOV", "410122100-EDU") and derived.json()["government"]["derived"]
        # The county registers its education bureau as an office: it becomes the education line's.
        await feed_cases(cases, _registry("org.registered", "410122-JYJ", {
            "code": "410122-JYJ", "name": "中牟县教育局", "kind": "office", "line": "education",
            "parent_code": "410122", "path": PATH[:3] + ["410122-JYJ"]}))
        county = (await cases.get("/v1/recipients/410122", headers=bearer("county_official", "410122"))).json()
        assert county["education"] == {**county["education"], "code": "410122-JYJ", "name": "中牟县教育局",
                                       "derived": False}
        assert county["government"]["code"] == "410122-GOV"
        # Officials of the area or above name them; two different offices, neither the area itself.
        url = "/v1/recipients/410122100"
        same = await cases.put(url, headers=bearer("county_official", "410122"), json={
            "government": {"code": "410122100-ZF"}, "education": {"code": "410122100-ZF"}})
        assert same.status_code == 422 and same.json()["errors"][0]["pointer"] == "/education/code"
        wrong_line = await cases.put(url, headers=bearer("county_official", "410122"), json={
            "government": {"code": "410122-JYJ"}, "education": {"code": "410122100-ZXX"}})
        assert wrong_line.status_code == 422 and wrong_line.json()["errors"][0]["pointer"] == "/government/code"
        elsewhere = await cases.put(url, headers=bearer("township_official", "410122101"), json={
            "government": {"code": "410122100-ZF"}, "education": {"code": "410122100-ZXX"}})
        assert elsewhere.status_code == 404
        teacher = await cases.put(url, headers=bearer("school_staff", PATH[-1]), json={
            "government": {"code": "410122100-ZF"}, "education": {"code": "410122100-ZXX"}})
        assert teacher.status_code == 403
        named = await cases.put(url, headers=bearer("county_official", "410122"), json={
            "government": {"code": "410122100-ZF", "name": "城关镇人民政府"},
            "education": {"code": "410122100-ZXX", "name": "城关镇中心校"}})
        assert named.status_code == 200, named.text
        assert named.json()["education"]["named_by"] == "test-county_official"
        assert (await cases.get(url, headers=bearer("township_official", "410122100"))).json() == named.json()

        _, case_id = await _open(cases, "absence")
        await _decide(cases, "absence", case_id, "confirmed", causes=["other"], cause_note="家庭变故后失联")
        assert await _reports(cases, case_id) == [("education", "410122100-ZXX", False),
                                                   ("government", "410122100-ZF", False)]
        # Each office sees and acknowledges its own report only.
        mine = f"/v1/cases/{case_id}/reports/education/ack"
        assert (await cases.post(mine, headers=bearer("recipient", "410122100-ZF"))).status_code == 404
        assert (await cases.post(mine, headers=bearer("recipient", "410122100-EDU"))).status_code == 404
        assert (await cases.post(mine, headers=bearer("recipient", "410122100-ZXX"))).status_code == 200
        # Unacknowledged, the government report escalates to the county's government office.
        clock.advance(hours=25)
        from cases.usecases.dual_reports import escalate_overdue

        async with cases.app.state.runtime.uow() as uow:
            assert await escalate_overdue(uow, timedelta(hours=24)) == 1
        [event] = await outbox_payloads(cases, "baoxue.cases.dual_report.escalated")
        assert (event["recipient_org_code"], event["escalated_to_org_code"], event["escalated_to_area_code"]) == (
            "410122100-ZF", "410122-GOV", "410122")


async def test_the_registry_follows_a_confirmation_and_a_confirmation_follows_the_registry(databases, broker):
    from shared.envelope import TOPIC_ATTENDANCE
    from tests.factories import school_with_class, student_body
    from tests.kafka_helpers import eventually, publish

    async with running("registry", databases.url("registry"), broker.bootstrap) as registry, \
            running("cases", databases.url("cases"), broker.bootstrap) as cases:
        klass = await school_with_class(registry)
        # Offices are orgs of kind office, with a line, under their area; nothing sits under one.
        office = {"code": "410122100-ZXX", "name": "城关镇中心校", "kind": "office", "parent_code": PATH[3]}
        no_line = await registry.post("/v1/orgs", json=office)
        assert no_line.status_code == 422 and no_line.json()["errors"][0]["field"] == "line"
        r = await registry.post("/v1/orgs", json={**office, "line": "education"})
        assert r.status_code == 201 and r.json()["line"] == "education" and r.json()["path"][-2] == PATH[3]
        assert (await registry.post("/v1/orgs", json={"code": "X1", "name": "镇", "kind": "township",
                                                      "parent_code": PATH[2], "line": "government"})).status_code == 422
        assert (await registry.post("/v1/orgs", json={"code": "X2", "name": "校", "kind": "school",
                                                      "parent_code": office["code"]})).status_code == 422
        assert (await registry.post("/v1/orgs", json={"code": "X3", "name": "办", "kind": "office", "line": "education",
                                                      "parent_code": PATH[-1]})).status_code == 422

        async def township_offices():
            r = await cases.get(f"/v1/recipients/{PATH[3]}", headers=bearer("township_official", PATH[3]))
            return r.json() if r.status_code == 200 and not r.json()["education"]["derived"] else None

        registered = await eventually(township_offices, timeout=60)
        assert (registered["education"]["code"], registered["government"]["code"]) == (
            "410122100-ZXX", "410122100-GOV")
        absent, reported = [(await registry.post("/v1/students", json=student_body(
            klass, enrolled_on="2026-09-01"))).json() for _ in range(2)]

        event = threshold(absent["id"], "2026-11-12T00:30:00+00:00")  # 08:30 on 12 Nov in China
        event.data["class_id"] = klass["id"]

        async def case_of(student):
            page = (await cases.get("/v1/cases", params={"student_id": student["id"]})).json()
            return page["items"][0] if page["total"] else None

        async def directory_has(student):
            from sqlalchemy import select

            from cases.adapters.tables import students

            async with cases.app.state.runtime.sessionmaker() as s:
                return (await s.execute(select(students.c.student_id).where(
                    students.c.student_id == student["id"]))).first() is not None

        await eventually(lambda: directory_has(absent), timeout=60)
        await eventually(lambda: directory_has(reported), timeout=60)
        await publish(broker.bootstrap, TOPIC_ATTENDANCE, event)
        case = await eventually(lambda: case_of(absent), timeout=60)
        r = await cases.post(f"/v1/cases/{case['id']}/transitions", json={
            "to": "confirmed", "causes": ["left_to_work", "poverty"], "cause_note": "随父母去广东"})
        assert r.status_code == 200, r.text

        # The registry follows: dropped out as of the absence's start, once.
        async def dropped(student):
            record = (await registry.get(f"/v1/students/{student['id']}")).json()
            return record if record["status"] == "dropped_out" else None

        await eventually(lambda: dropped(absent), timeout=60)
        history = (await registry.get(f"/v1/students/{absent['id']}/status-changes")).json()
        [change] = [h for h in history if h["status"] == "dropped_out"]
        assert change["effective_on"] == "2026-11-12" and change["actor"] == f"cases:{case['id']}"
        assert "外出务工" in change["reason"] and "因贫" in change["reason"] and "随父母去广东" in change["reason"]

        # The other way: a dropout recorded in the registry confirms the child's open case.
        r = await cases.post("/v1/cases", json={"student_id": reported["id"], "note": "家长电话说不来了"})
        assert r.status_code == 201, r.text
        r = await registry.post(f"/v1/students/{reported['id']}/status-changes", json={
            "status": "dropped_out", "reason": "外出务工", "effective_on": "2026-11-20"})
        assert r.status_code == 201, r.text

        async def confirmed():
            c = await case_of(reported)
            return c if c["status"] == "confirmed" else None

        by_registry = await eventually(confirmed, timeout=60)
        assert by_registry["causes"] == ["other"] and "外出务工" in by_registry["cause_note"]
        detail = (await cases.get(f"/v1/cases/{by_registry['id']}")).json()
        # To the township's registered education office (中心校) and its derived government office.
        assert sorted(r["recipient_org_code"] for r in detail["reports"]) == ["410122100-GOV", "410122100-ZXX"]
        # ...and neither side, reading the other's change back, changes anything more: wait until
        # the registry has read every case event cases sent, and cases every registry change.
        async def caught_up():
            from sqlalchemy import func, select

            from shared.messaging import inbox, outbox

            async def count(client, table, *where):
                async with client.app.state.runtime.sessionmaker() as s:
                    return (await s.execute(select(func.count()).select_from(table).where(*where))).scalar_one()

            sent = await count(cases, outbox, outbox.c.event_type == "baoxue.cases.case.status_changed")
            read = await count(registry, inbox, inbox.c.event_type == "baoxue.cases.case.status_changed")
            changes = await count(registry, outbox, outbox.c.event_type == "baoxue.registry.student.status_changed")
            seen = await count(cases, inbox, inbox.c.event_type == "baoxue.registry.student.status_changed")
            return sent == read and changes == seen == 2

        await eventually(caught_up, timeout=60)
        status = (await cases.get(f"/v1/cases/{case['id']}")).json()
        assert status["status"] == "confirmed" and len(status["reports"]) == 2
        assert [e["detail"]["status"] for e in status["timeline"] if e["kind"] == "registry_status_changed"] == [
            "dropped_out"]
        for student in (absent, reported):
            history = (await registry.get(f"/v1/students/{student['id']}/status-changes")).json()
            assert [h["status"] for h in history] == ["dropped_out"]
        # Persuaded back (劝返复学): re-enrolled in the registry, the case being persuaded is returned.
        url = f"/v1/cases/{case['id']}"
        assert (await cases.put(f"{url}/responsibility", json={"responsible_person": {"name": "李明"}})).status_code == 200
        assert (await cases.post(f"{url}/plan-items", json={"kind": "persuasion", "description": "上门劝返",
                                                           "owner": "李明", "due_on": "2026-12-31"})).status_code == 201
        assert (await cases.post(f"{url}/transitions", json={"to": "persuading"})).status_code == 200
        r = await registry.post(f"/v1/students/{absent['id']}/status-changes", json={"status": "enrolled",
                                                                                   "reason": "劝返复学"})
        assert r.status_code == 201, r.text

        async def returned():
            c = (await cases.get(url)).json()
            return c if c["status"] == "returned" else None

        back = await eventually(returned, timeout=60)
        assert back["evidence"]["confirmed_by"] == "registry" and back["evidence"]["returned_on"] == r.json()[
            "effective_on"]
        assert (await cases.post(f"{url}/transitions", json={"to": "closed"})).json()["outcome"] == "returned"
