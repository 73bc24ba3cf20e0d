"""The problem-record queue (问题学籍) over HTTP on a real database: suspected duplicates listed for
officials, merged or dismissed, each with who and why."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from registry.adapters.tables import student_merges
from shared.messaging import outbox
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body

NO_BROKER = "127.0.0.1:1"
COUNTY = bearer("county_official", "410122")


async def enrol(client, klass: dict, **body) -> dict:
    r = await client.post("/v1/students", json=body if "school_code" in body else {**student_body(klass), **body})
    assert r.status_code == 201, r.text
    return r.json()


async def queue(client, headers=COUNTY, **params) -> list[dict]:
    r = await client.get("/v1/problem-records", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_suspected_duplicates_are_listed_merged_and_dismissed(databases):
    async with running("registry", databases.url("registry"), NO_BROKER) as registry:
        here = await school_with_class(registry, grade=7)
        there = await school_with_class(registry, school="4101221002", grade=7)
        # One child twice: with an ID at one school, without at the other.
        old_body = student_body(there, born=date(2013, 4, 1), seq=91, name="张三")
        old = await enrol(registry, there, **old_body)
        no_id = {k: v for k, v in student_body(here, born=date(2013, 4, 1), seq=91, name="张三").items()
                 if k != "national_id"}
        new = await enrol(registry, here, **no_id, no_id_reason="未落户")
        # Two children who share a name and a birthday, with their own IDs.
        twin_a = await enrol(registry, here, **student_body(here, born=date(2012, 1, 1), seq=93, name="李四"))
        await enrol(registry, there, **student_body(there, born=date(2012, 1, 1), seq=95, name="李四"))
        # One ID on a deceased record and a living one.
        dead = await enrol(registry, here, **student_body(here, born=date(2014, 2, 2), seq=97, name="王五"))
        r = await registry.post(f"/v1/students/{dead['id']}/status-changes",
                                json={"status": "deceased", "reason": "病故"})
        assert r.status_code == 201, r.text
        alive = await enrol(registry, there, **student_body(there, born=date(2014, 2, 2), seq=97, name="王五"))
        # A normal stage change is no problem: a graduate and the same child's next record.
        grad = await enrol(registry, here, **student_body(here, born=date(2011, 3, 3), seq=99, name="赵六"))
        assert (await registry.post(f"/v1/students/{grad['id']}/status-changes",
                                    json={"status": "graduated"})).status_code == 201
        await enrol(registry, there, **student_body(there, born=date(2011, 3, 3), seq=99, name="赵六"))

        found = {(p["kind"], p["records"][0]["name"]): p for p in await queue(registry)}
        assert set(found) == {("same_person", "张三"), ("same_person", "李四"), ("same_national_id", "王五")}
        assert {r["student_id"] for r in found[("same_person", "张三")]["records"]} == {old["id"], new["id"]}
        assert found[("same_person", "张三")]["county_code"] == "410122"
        assert {r["student_id"] for r in found[("same_national_id", "王五")]["records"]} == {dead["id"], alive["id"]}
        # A township official sees both schools (one township); one elsewhere sees nothing.
        assert len(await queue(registry, bearer("township_official", "410122100"))) == 3
        assert await queue(registry, bearer("county_official", "410199")) == []
        assert len(await queue(registry, kind="same_national_id")) == 1

        twins = found[("same_person", "李四")]
        r = await registry.post(f"/v1/problem-records/{twins['id']}/merge", headers=COUNTY,
                                json={"kept_id": twin_a["id"], "reason": "x"})
        assert r.status_code == 409, r.text  # two ID numbers: not to be merged blindly
        r = await registry.post(f"/v1/problem-records/{twins['id']}/dismiss", headers=COUNTY,
                                json={"reason": "两人: 同名同日生"})
        assert r.status_code == 201 and r.json()["actor"] == "test-county_official", r.text
        assert (await registry.post(f"/v1/problem-records/{twins['id']}/dismiss", headers=COUNTY,
                                    json={"reason": "again"})).status_code == 404

        same = found[("same_person", "张三")]
        r = await registry.post(f"/v1/problem-records/{same['id']}/merge", headers=COUNTY,
                                json={"kept_id": old["id"] + "x", "reason": "同一人"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/kept_id", r.text
        r = await registry.post(f"/v1/problem-records/{same['id']}/merge", headers=COUNTY,
                                json={"kept_id": new["id"], "reason": "同一人: 家访核实"})
        assert r.status_code == 200, r.text
        assert [m["merged_id"] for m in r.json()["merged"]] == [old["id"]]
        kept = (await registry.get(f"/v1/students/{new['id']}", headers=COUNTY)).json()
        assert kept["national_id"] == old_body["national_id"] and kept["student_number"] == "G" + old_body["national_id"]
        assert (await registry.get(f"/v1/students/{old['id']}")).json()["merged_into"] == new["id"]

        assert [(p["kind"], p["records"][0]["name"]) for p in await queue(registry)] == [("same_national_id", "王五")]
        async with registry.app.state.runtime.sessionmaker() as s:
            merge = (await s.execute(select(student_merges))).mappings().one()
            emitted = (await s.execute(select(outbox.c.event_type).where(
                outbox.c.event_type == "baoxue.registry.student.merged"))
                       ).scalars().all()
        assert (merge["kept_id"], merge["source"], merge["reason"]) == (new["id"], "problem_record", "同一人: 家访核实")
        assert old_body["national_id"] not in str(merge["merged_record"])
        assert emitted == ["baoxue.registry.student.merged"]
        teacher = bearer("head_teacher", here["school_code"], classes=[here["id"]])
        assert (await registry.get("/v1/problem-records", headers=teacher)).status_code == 403
