"""Home teaching (送教上门) and targeted assistance, over HTTP on SQLite and PostgreSQL. Seed 003:
派老师送教上门，做到有教案，有记录; seed 000: 组织xx名教师为x名学生提供送教上门服务, 无一例因贫辍学."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import uuid
import zipfile
from datetime import UTC, datetime

from sqlalchemy import func, select

from cases.adapters.tables import home_teaching_sessions, stored_files
from shared.clock import FixedClock
from tests.conftest import bearer, running
from tests.factories import CHAIN, NO_BROKER, PATH, enrolled, feed_cases, move_case, threshold

COUNTY, SCHOOL = PATH[2], PATH[4]
SCHOOL_STAFF = bearer("school_staff", SCHOOL)
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _in_school(student_id: str, *, county: str = COUNTY, flags=("poor_household",)):
    event = enrolled(student_id)
    chain = [dict(o, code=county) if o["kind"] == "county" else o for o in CHAIN]
    path = [o["code"] for o in chain]
    return dataclasses.replace(event, data={**event.data, "org_path": path, "org_chain": chain, "flags": list(flags)})


async def _count(client, table) -> int:
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(table))).scalar_one()


async def _teach(client, student: str, name: str, content: bytes, *, teachers=("李老师",), on="2026-11-18", **kw):
    return await client.post(f"/v1/students/{student}/home-teaching", headers=SCHOOL_STAFF, data={
        "taught_on": on, "hours": "2.5", "teachers": list(teachers), "content": "语文：古诗两首"},
        files={"lesson_plan": (name, content)}, **kw)


async def test_home_teaching_sessions_keep_their_lesson_plans_and_count_per_county(databases):
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(NOW),
                       lesson_plan_max_bytes=4096) as cases:
        a, b = str(uuid.uuid4()), str(uuid.uuid4())
        await feed_cases(cases, _in_school(a), _in_school(b))
        first = await _teach(cases, a, "教案.pdf", PDF, teachers=("李老师", "王老师"))
        assert first.status_code == 201, first.text
        plan = first.json()["lesson_plan"]
        assert (plan["media_type"], plan["sha256"]) == ("application/pdf", hashlib.sha256(PDF).hexdigest())
        assert (await _teach(cases, a, "教案.docx", _docx(), on="2026-11-19")).status_code == 201
        assert (await _teach(cases, b, "photo.png", PNG, teachers=("李老师",))).status_code == 201
        got = await cases.get(f"/v1/students/{a}/home-teaching/{first.json()['id']}/lesson-plan")
        assert got.content == PDF and got.headers["content-type"] == "application/pdf"

        # The type comes from the bytes, not the name; too big is a 413; neither stores anything.
        before = (await _count(cases, home_teaching_sessions), await _count(cases, stored_files))
        renamed = await _teach(cases, a, "教案.pdf", b"MZ\x90\x00 not a pdf")
        assert renamed.status_code == 422 and renamed.json()["errors"][0]["pointer"] == "/lesson_plan"
        broken = await _teach(cases, a, "教案.docx", b"PK\x03\x04 broken")
        assert broken.status_code == 422
        zipped = io.BytesIO()
        with zipfile.ZipFile(zipped, "w") as z:
            z.writestr("payload.exe", "x")
        assert (await _teach(cases, a, "教案.docx", zipped.getvalue())).status_code == 422
        big = await _teach(cases, a, "教案.pdf", PDF + b" " * 5000)
        assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
        no_teacher = await cases.post(f"/v1/students/{a}/home-teaching", headers=SCHOOL_STAFF, data={
            "taught_on": "2026-11-18", "hours": "2", "content": "x"}, files={"lesson_plan": ("a.pdf", PDF)})
        assert no_teacher.status_code == 422
        # Form fields get the same text rules as JSON: a register and a document cannot hold NUL.
        hostile = await _teach(cases, a, "a.pdf", PDF, teachers=("李老师", "王\x00老师"))
        assert hostile.status_code == 422 and hostile.json()["errors"][0]["pointer"] == "/teachers/1"
        ahead = await _teach(cases, a, "a.pdf", PDF, on="2099-01-01")
        assert ahead.status_code == 422 and ahead.json()["errors"][0]["pointer"] == "/taught_on"
        assert (await _count(cases, home_teaching_sessions), await _count(cases, stored_files)) == before
        assert (await _teach(cases, str(uuid.uuid4()), "a.pdf", PDF)).status_code == 404

        listed = (await cases.get(f"/v1/students/{a}/home-teaching")).json()
        assert [s["taught_on"] for s in listed] == ["2026-11-18", "2026-11-19"]
        counts = (await cases.get("/v1/home-teaching/counts", params={
            "org_code": COUNTY, "since": "2026-09-01", "until": "2027-01-31"})).json()["counties"]
        assert [(c["county_code"], c["children"], c["teachers"], c["sessions"], c["hours"]) for c in counts] == [
            (COUNTY, 2, 2, 3, 7.5)]
        assert counts[0]["summary"] == "组织2名教师为2名学生提供送教上门服务"
        # Another county's official sees none of it.
        assert (await cases.get("/v1/home-teaching/counts", headers=bearer("county_official", "420102"), params={
            "org_code": COUNTY, "since": "2026-09-01", "until": "2027-01-31"})).status_code == 404


async def test_the_poverty_report_lists_poor_children_with_and_without_aid_and_poor_dropouts(databases):
    async with running("cases", databases.url("cases"), NO_BROKER, clock=FixedClock(NOW)) as cases:
        aided, unaided, not_poor, dropout = (str(uuid.uuid4()) for _ in range(4))
        await feed_cases(cases, _in_school(aided), _in_school(unaided), _in_school(not_poor, flags=()),
                    _in_school(dropout))
        r = await cases.post(f"/v1/students/{aided}/assistance", headers=SCHOOL_STAFF, json={
            "kind": "boarding_subsidy", "amount": "625.00", "period_start": "2026-09-01", "period_end": "2027-01-31",
            "source": "家庭经济困难寄宿生生活补助"})
        assert r.status_code == 201, r.text
        # Aid that ended before the day does not count.
        await cases.post(f"/v1/students/{unaided}/assistance", headers=SCHOOL_STAFF, json={
            "kind": "charity_grant", "amount": "300", "period_start": "2026-03-01", "period_end": "2026-07-10",
            "source": "慈善助学"})
        bad = await cases.post(f"/v1/students/{aided}/assistance", headers=SCHOOL_STAFF, json={
            "kind": "two_exemptions", "amount": "-1", "period_start": "2026-09-01", "period_end": "2026-08-01",
            "source": "两免"})
        assert bad.status_code == 422 and {e["pointer"] for e in bad.json()["errors"]} >= {"/kind", "/amount"}
        assert (await cases.post(f"/v1/students/{aided}/assistance", json={
            "kind": "other", "amount": "1", "period_start": "2026-09-01", "period_end": "2026-09-02", "source": "x"},
            headers=bearer("head_teacher", SCHOOL, classes=["c1"]))).status_code == 403

        report = (await cases.get("/v1/reports/no-poverty-dropout", params={"org_code": COUNTY})).json()
        assert report["on"] == "2026-11-20" and report["no_poverty_dropout"] is True
        assert (report["poor_on_roll"], report["with_aid"], report["without_aid"]) == (3, 1, 2)
        by_id = {c["student_id"]: c for c in report["children"]}
        assert by_id[aided]["aided"] and by_id[aided]["amount"] == 625.0 and not by_id[unaided]["aided"]
        assert not_poor not in by_id

        await feed_cases(cases, threshold(dropout, NOW.isoformat()))
        case_id = (await cases.get("/v1/cases", params={"student_id": dropout})).json()["items"][0]["id"]
        report = (await cases.get("/v1/reports/no-poverty-dropout", params={"org_code": COUNTY})).json()
        assert report["poor_household_dropouts"] == []  # an alarm is not a dropout until confirmed
        for to in ("verifying", "confirmed"):
            assert (await move_case(cases, case_id, to, **({"causes": ["poverty"]} if to == "confirmed" else {}))).status_code == 200
        report = (await cases.get("/v1/reports/no-poverty-dropout", params={"org_code": COUNTY})).json()
        assert [d["case_id"] for d in report["poor_household_dropouts"]] == [case_id]
        assert [d["case_id"] for d in report["poverty_dropouts"]] == [case_id]  # confirmed with cause poverty
        assert report["no_poverty_dropout"] is False

        # A child from a household that is not registered poor, who dropped out to work: not a
        # poverty dropout; one who dropped out for poverty is, flag or no flag.
        for student, cause in ((not_poor, "left_to_work"), (aided, "poverty")):
            await feed_cases(cases, threshold(student, NOW.isoformat()))
            other = (await cases.get("/v1/cases", params={"student_id": student})).json()["items"][0]["id"]
            for to in ("verifying", "confirmed"):
                assert (await move_case(cases, other, to, **({"causes": [cause]} if to == "confirmed" else {}))
                        ).status_code == 200
        report = (await cases.get("/v1/reports/no-poverty-dropout", params={"org_code": COUNTY})).json()
        assert sorted(d["student_id"] for d in report["poverty_dropouts"]) == sorted([dropout, aided])
