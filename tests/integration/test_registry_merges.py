"""Children without an ID (临时学籍号) and one child's two records merged: through the real
broker, attendance, cases and reporting move everything of the merged id onto the kept one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from shared.envelope import TOPIC_REGISTRY
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import eventually, read_events

NO_BROKER = "127.0.0.1:1"
OTHER_SCHOOL = "4101221002"


def without_id(body: dict, reason: str = "未落户 (户口 not yet registered)") -> dict:
    return {**{k: v for k, v in body.items() if k != "national_id"}, "no_id_reason": reason}


async def test_a_child_without_an_id_is_enrolled_then_identified_and_merged_everywhere(databases, broker):
    from attendance.adapters.tables import marks, placements, roster
    from reporting.adapters.tables import students as reporting_students

    urls = {s: databases.url(s) for s in ("registry", "attendance", "cases", "reporting")}
    async with running("registry", urls["registry"], broker.bootstrap) as registry, \
            running("attendance", urls["attendance"], broker.bootstrap) as attendance, \
            running("cases", urls["cases"], broker.bootstrap) as cases, \
            running("reporting", urls["reporting"], broker.bootstrap) as reporting:
        here = await school_with_class(registry, grade=7)
        there = await school_with_class(registry, school=OTHER_SCHOOL, grade=7)
        body = student_body(there, born=date(2013, 4, 1), seq=71)
        # The old school still holds the child's record (空挂学籍) ...
        old = (await registry.post("/v1/students", json={**body, "enrolled_on": "2026-09-01"})).json()
        # ... and the child turns up here with no papers: enrolled on what the family says.
        r = await registry.post("/v1/students", json=without_id({**body, "school_code": here["school_code"],
                                                                 "class_id": here["id"]}))
        assert r.status_code == 201, r.text
        new = r.json()
        assert new["national_id"] is None and new["student_number"].startswith("L20130401")
        assert new["no_id_reason"].startswith("未落户")

        # Things happen under the old id: a roll call there, a case, the read model's row.
        async def on_roster(sid):
            async with attendance.app.state.runtime.sessionmaker() as s:
                return (await s.execute(select(roster.c.student_id).where(roster.c.student_id == sid))).first()
        await eventually(lambda: on_roster(old["id"]), timeout=30)
        r = await attendance.post("/v1/roll-calls", json={"school_code": OTHER_SCHOOL, "class_id": there["id"],
                                                          "date": "2026-11-23", "session": "am",
                                                          "marks": [{"student_id": old["id"], "status": "absent"}]})
        assert r.status_code == 200, r.text

        async def case_of(sid):
            page = (await cases.get("/v1/cases", params={"student_id": sid})).json()
            return page["items"][0] if page.get("items") else None
        async def opened():
            r = await cases.post("/v1/cases", json={"student_id": old["id"], "note": "not seen since October"})
            return r.json() if r.status_code in (200, 201) else None
        case = await eventually(opened, timeout=30)

        async def reporting_ids():
            async with reporting.app.state.runtime.sessionmaker() as s:
                return sorted((await s.execute(select(reporting_students.c.student_id))).scalars())
        assert await eventually(lambda: _equal(reporting_ids, sorted([old["id"], new["id"]])), timeout=30)

        # The ID arrives: this record keeps the child, the old one is merged into it.
        r = await registry.post(f"/v1/students/{new['id']}/national-id", json={"national_id": body["national_id"]})
        assert r.status_code == 200, r.text
        assert r.json()["student"]["student_number"] == "G4101**********" + body["national_id"][-4:]
        assert [(m["kept_id"], m["merged_id"], m["source"]) for m in r.json()["merged"]] == [
            (new["id"], old["id"], "national_id")]
        gone = await registry.get(f"/v1/students/{old['id']}")
        assert gone.status_code == 404 and gone.json()["merged_into"] == new["id"]
        history = (await registry.get(f"/v1/students/{new['id']}/status-changes")).json()
        assert history == []  # neither record changed status; the old one's history would move here
        assert (await registry.get("/v1/students", params={"name": "王小明"})).json()["total"] == 1

        events = await read_events(broker.bootstrap, TOPIC_REGISTRY, until=lambda evs: any(
            e.type == "baoxue.registry.student.merged" for e in evs), timeout=20)
        merged = next(e for e in events if e.type == "baoxue.registry.student.merged")
        assert (merged.data["kept_id"], merged.data["merged_id"]) == (new["id"], old["id"])
        assert merged.kafka_key.decode() == new["id"]

        # Everything of the old id is the kept id's now.
        assert await eventually(lambda: _equal(reporting_ids, [new["id"]]), timeout=30)
        moved = await eventually(lambda: case_of(new["id"]), timeout=30)
        assert moved["id"] == case["id"] and await case_of(old["id"]) is None

        async def marks_of(sid):
            async with attendance.app.state.runtime.sessionmaker() as s:
                return (await s.execute(select(marks.c.status).where(marks.c.student_id == sid))).scalars().all()
        assert await eventually(lambda: marks_of(new["id"]), timeout=30) == ["absent"]
        assert await marks_of(old["id"]) == [] and await on_roster(old["id"]) is None
        # Where the child was before the kept record begins is the merged record's history: the
        # moved roll call of 23 November is judged against the old school, not against nothing.
        async with attendance.app.state.runtime.sessionmaker() as s:
            placed = (await s.execute(select(placements.c.student_id, placements.c.effective_on,
                                             placements.c.school_code).order_by(placements.c.effective_on))).all()
        assert [(p.effective_on, p.school_code) for p in placed if p.student_id == new["id"]][0] == (
            date(2026, 9, 1), OTHER_SCHOOL)
        assert [p for p in placed if p.student_id == old["id"]] == []


async def _equal(read, expected) -> bool:
    return await read() == expected


async def test_enrolment_without_an_id_and_adding_one_are_checked(databases):
    async with running("registry", databases.url("registry"), NO_BROKER) as registry:
        klass = await school_with_class(registry, grade=7)
        body = student_body(klass, born=date(2013, 4, 1), seq=81)
        r = await registry.post("/v1/students", json={**body, "no_id_reason": "both"})
        assert r.status_code == 422, r.text
        r = await registry.post("/v1/students", json={k: v for k, v in body.items() if k != "national_id"})
        assert r.status_code == 422, r.text
        new = (await registry.post("/v1/students", json=without_id(body))).json()
        url = f"/v1/students/{new['id']}/national-id"
        wrong_birth = student_body(klass, born=date(2013, 5, 1), seq=81)["national_id"]
        r = await registry.post(url, json={"national_id": wrong_birth})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "birth_date", r.text
        r = await registry.post(url, json={"national_id": body["national_id"][:-1] + "0"})
        assert r.status_code == 422
        # Another school's record of the child is not this school's to take: a 409, nothing written.
        there = await school_with_class(registry, school=OTHER_SCHOOL, grade=7)
        old = (await registry.post("/v1/students", json={**body, "school_code": OTHER_SCHOOL,
                                                         "class_id": there["id"]})).json()
        school = bearer("school_staff", klass["school_code"])
        r = await registry.post(url, json={"national_id": body["national_id"]}, headers=school)
        assert r.status_code == 409 and OTHER_SCHOOL not in r.text, r.text
        assert (await registry.get(f"/v1/students/{old['id']}")).status_code == 200
        county = bearer("county_official", "410122")
        r = await registry.post(url, json={"national_id": body["national_id"]}, headers=county)
        assert r.status_code == 200 and r.json()["student"]["national_id"] == body["national_id"], r.text
        assert [m["merged_id"] for m in r.json()["merged"]] == [old["id"]]
        assert (await registry.post(url, json={"national_id": body["national_id"]})).status_code == 409
        # Where a merged record went is told only to a caller who sees the kept one.
        assert (await registry.get(f"/v1/students/{old['id']}", headers=county)).json()["merged_into"] == new["id"]
        outsider = await registry.get(f"/v1/students/{old['id']}", headers=bearer("county_official", "410199"))
        assert outsider.status_code == 404 and new["id"] not in outsider.text
