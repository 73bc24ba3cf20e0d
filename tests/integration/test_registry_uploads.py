"""Spreadsheet uploads over HTTP on a real database: a school's bulk import (CSV and XLSX,
Chinese and English headings) and the population cross-check (排查比对)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from registry.domain.national_id import compose
from shared.audit import audit_log
from shared.envelope import TOPIC_REGISTRY
from shared.messaging import outbox
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body
from tests.hostile_files import workbook as xlsx_bytes
from tests.kafka_helpers import read_events

NO_BROKER = "127.0.0.1:1"


@pytest.fixture
async def registry(databases):
    async with running("registry", databases.url("registry"), NO_BROKER, writes_per_minute=100_000) as client:
        yield client


def nid(seq: int, born: date = date(2013, 4, 1)) -> str:
    return compose("410122", born, seq)


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(",".join(r) for r in rows).encode(encoding)


async def _count(client, what: str = "students") -> int:
    async with client.app.state.runtime.sessionmaker() as s:
        if what == "outbox":
            return (await s.execute(select(func.count()).select_from(outbox))).scalar_one()
    return (await client.get("/v1/students")).json()["total"]


async def _import(client, school: str, content: bytes, filename: str = "students.csv", **params):
    return await client.post("/v1/students/imports", params=params, data={"school_code": school},
                             files={"file": (filename, content)})


HEAD_CN = ["身份证号", "姓名", "性别", "出生日期", "班级", "监护人", "联系电话", "户籍地", "关注类型"]


async def test_a_chinese_csv_imports_every_row_with_events(registry):
    klass = await school_with_class(registry)
    rows = [HEAD_CN,
            [nid(11), "张三", "男", "2013-04-01", klass["name"], "张大山", "13800000001", "410122", "留守儿童、建档立卡"],
            [nid(12), "李四", "女", "2013/04/01", klass["name"], "", "", "", ""],
            [nid(13), "王五", "", "", klass["name"], "王母", "13800000003", "", "学困生"]]
    r = await _import(registry, klass["school_code"], csv_bytes(rows))
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["rows"], report["valid"], report["invalid"], report["imported"]) == (3, 3, 0, 3)
    assert report["columns"]["national_id"] == "身份证号" and report["errors"] == []
    students = {s["name"]: s for s in (await registry.get("/v1/students", headers=bearer(
        "school_staff", klass["school_code"]))).json()["items"]}
    assert students["张三"]["flags"] == ["left_behind", "poor_household"]
    assert students["张三"]["guardians"][0]["phone"] == "13800000001"
    assert students["李四"]["gender"] == "female"  # read from the ID, and the sheet agreed
    assert students["王五"]["birth_date"] == "2013-04-01"  # blank: taken from the ID
    async with registry.app.state.runtime.sessionmaker() as s:
        payloads = [json.loads(p) for p in (await s.execute(select(outbox.c.payload).where(
            outbox.c.event_type == "baoxue.registry.student.enrolled"))).scalars()]
    assert sorted(p["name"] for p in payloads) == ["张三", "李四", "王五"]
    assert all(p["org_path"][-1] == klass["school_code"] and "*" in p["national_id_masked"] for p in payloads)


async def test_an_xlsx_with_english_headings_and_typed_cells(registry):
    klass = await school_with_class(registry)
    rows = [["national_id", "name", "birth_date", "class", "enrolment date"],
            [nid(21), "Zhao Liu", date(2013, 4, 1), klass["name"], date(2026, 9, 1)]]
    r = await _import(registry, klass["school_code"], xlsx_bytes(rows), "students.xlsx")
    assert r.status_code == 201 and r.json()["imported"] == 1, r.text
    student = (await registry.get("/v1/students")).json()["items"][0]
    assert student["enrolled_on"] == "2026-09-01"


async def test_gb18030_csv_from_chinese_excel(registry):
    klass = await school_with_class(registry)
    content = csv_bytes([["身份证号", "姓名", "班级"], [nid(31), "陈七", klass["name"]]], encoding="gb18030")
    r = await _import(registry, klass["school_code"], content)
    assert r.status_code == 201 and r.json()["imported"] == 1, r.text
    assert (await registry.get("/v1/students")).json()["items"][0]["name"] == "陈七"


async def test_bad_rows_are_all_reported_and_nothing_is_written(registry):
    klass = await school_with_class(registry)
    other = await school_with_class(registry, school="4101221002")
    taken = student_body(other, seq=41)
    assert (await registry.post("/v1/students", json=taken)).status_code == 201
    bad_check = nid(42)[:-1] + ("0" if nid(42)[-1] != "0" else "1")
    rows = [HEAD_CN[:5],
            [nid(43), "好", "男", "2013-04-01", klass["name"]],            # row 2: good
            [bad_check, "坏", "", "", klass["name"]],                       # row 3: check character
            [nid(44), "错日", "", "2013-04-02", klass["name"]],             # row 4: birth date disagrees
            [nid(45), "错班", "", "", "九年级(9)班"],                        # row 5: no such class
            [nid(43), "重复", "", "", klass["name"]],                       # row 6: same ID as row 2
            [taken["national_id"], taken["name"], "", "", klass["name"]],  # row 7: active elsewhere
            [nid(46), "", "", "2013-02-30", klass["name"]]]                # row 8: no name, impossible date
    before = (await _count(registry), await _count(registry, "outbox"))
    r = await _import(registry, klass["school_code"], csv_bytes(rows))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    problems = {(e["row"], e["field"]) for e in r.json()["errors"]}
    assert problems == {(3, "national_id"), (4, "birth_date"), (5, "class"), (6, "national_id"), (7, "national_id"),
                        (8, "name"), (8, "birth_date")}
    seven = next(e for e in r.json()["errors"] if e["row"] == 7)
    assert "4101221002" in seven["message"] and seven["pointer"] == "/rows/7/national_id"
    assert (await _count(registry), await _count(registry, "outbox")) == before
    # dry_run: the same report, 200, still nothing written.
    r = await _import(registry, klass["school_code"], csv_bytes(rows), dry_run="true")
    assert r.status_code == 200 and (r.json()["valid"], r.json()["invalid"]) == (1, 6)
    assert (await _count(registry), await _count(registry, "outbox")) == before
    # skip_invalid: the valid row goes in, the report still lists the rest.
    r = await _import(registry, klass["school_code"], csv_bytes(rows), skip_invalid="true")
    assert r.status_code == 201 and r.json()["imported"] == 1 and r.json()["invalid"] == 6
    assert await _count(registry) == before[0] + 1
    # The audit log has each upload once, with the status it answered: refused, checked, imported
    # (the last committed in the import's own transaction).
    async with registry.app.state.runtime.sessionmaker() as s:
        audited = (await s.execute(select(audit_log.c.status).where(audit_log.c.route == "/v1/students/imports")
                                   .order_by(audit_log.c.id))).scalars().all()
    assert audited == [422, 200, 201]


@pytest.mark.parametrize("content, filename, field", [
    (b"", "empty.csv", "file"),
    (csv_bytes([["姓名", "班级"], ["张三", "x"]]), "no-id.csv", "file.columns.national_id"),
    (b"PK\x03\x04 this is not a zip", "broken.xlsx", "file"),
])
async def test_unreadable_files_are_422_problems(registry, content, filename, field):
    klass = await school_with_class(registry)
    r = await _import(registry, klass["school_code"], content, filename)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


async def test_limits_on_uploads(databases):
    async with running("registry", databases.url("registry"), NO_BROKER, max_body_bytes=1024, max_upload_bytes=4096,
                       import_max_rows=5) as registry:
        klass = await school_with_class(registry)
        big = csv_bytes([["身份证号", "姓名", "班级"]] + [[nid(i), "某", klass["name"]] for i in range(300)])
        assert (await _import(registry, klass["school_code"], big)).status_code == 413
        many = csv_bytes([["身份证号", "姓名", "班级"]] + [[nid(i), "某", klass["name"]] for i in range(6)])
        r = await _import(registry, klass["school_code"], many)
        assert r.status_code == 422 and "more than 5 rows" in r.json()["detail"]
        # Another school's import, or a class of it: 404, as for any record out of scope.
        r = await registry.post("/v1/students/imports", data={"school_code": klass["school_code"]},
                                files={"file": ("s.csv", many[:60])}, headers=bearer("school_staff", "4101229999"))
        assert r.status_code == 404


async def test_a_large_import_streams_progress(registry):
    klass = await school_with_class(registry)
    rows = [["身份证号", "姓名", "班级"]] + [[compose("410122", date(2013, 1, 1) + timedelta(days=i // 900), i % 900),
                                              f"学生{i}", klass["name"]] for i in range(2500)]
    r = await registry.post("/v1/students/imports", data={"school_code": klass["school_code"]},
                            files={"file": ("big.csv", csv_bytes(rows))}, headers={"Accept": "application/x-ndjson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    progress = [(line["phase"], line["done"]) for line in lines if "phase" in line]
    assert ("checked", 1000) in progress and ("checked", 2500) in progress and ("written", 2500) in progress
    assert lines[-1]["report"]["imported"] == 2500
    assert (await registry.get("/v1/students", params={"limit": 1})).json()["total"] == 2500
    # Audited once, committed with the import, with the status the stream answered.
    async with registry.app.state.runtime.sessionmaker() as s:
        audited = (await s.execute(select(audit_log.c.status).where(audit_log.c.route == "/v1/students/imports")
                                   )).scalars().all()
    assert audited == [200]


# --- population cross-check ---------------------------------------------------------------------

async def test_cross_check_finds_out_of_school_children_and_is_idempotent(databases, broker):
    async with running("registry", databases.url("registry"), broker.bootstrap) as registry:
        klass = await school_with_class(registry)
        enrolled = student_body(klass, born=date(2013, 4, 1), seq=51)
        assert (await registry.post("/v1/students", json=enrolled)).status_code == 201
        too_old = student_body(klass, born=date(2009, 5, 1), seq=53)  # 17 on 31 August 2026
        too_old_id = (await registry.post("/v1/students", json=too_old)).json()["id"]
        missing = compose("410122", date(2014, 6, 1), 55)  # 12, on the list, in no school
        household = csv_bytes([
            ["身份证号", "姓名", "出生日期", "住址"],
            [enrolled["national_id"], "王小明", "2013-04-01", "城关镇一村"],
            [missing, "刘小兰", "2014-06-01", "城关镇二村"],
            [compose("410122", date(2022, 1, 1), 57), "幼儿", "", "城关镇三村"],   # 4: not of school age
            [compose("410122", date(2008, 1, 1), 59), "大哥", "", "城关镇四村"]])  # 18: past it
        county = bearer("county_official", "410122")
        r = await registry.post("/v1/population-checks", headers=county,
                                data={"region_code": "410122100", "as_of": "2026-11-23"},
                                files={"file": ("户籍.csv", household)})
        assert r.status_code == 201, r.text
        check = r.json()
        assert (check["rows"], check["school_age"], check["suspected"], check["outside_age"]) == (4, 2, 1, 1)
        findings = (await registry.get(f"/v1/population-checks/{check['id']}/findings", headers=county)).json()
        by_kind = {f["kind"]: f for f in findings["items"]}
        assert by_kind["suspected_out_of_school"]["national_id"] == missing  # a county sees the full ID
        assert by_kind["suspected_out_of_school"]["address"] == "城关镇二村"
        assert (by_kind["outside_compulsory_age"]["student_id"], by_kind["outside_compulsory_age"]["age"]) == (too_old_id, 17)
        township = bearer("township_official", "410122100")
        masked = (await registry.get(f"/v1/population-checks/{check['id']}/findings", headers=township)).json()
        assert all("*" in f["national_id"] for f in masked["items"])
        # The same list again: the same check, 200, nothing new written or emitted.
        before = await _count(registry, "outbox")
        again = await registry.post("/v1/population-checks", headers=county,
                                    data={"region_code": "410122100", "as_of": "2026-11-23"},
                                    files={"file": ("户籍.csv", household)})
        assert again.status_code == 200 and again.json()["id"] == check["id"]
        assert await _count(registry, "outbox") == before
        events = await read_events(broker.bootstrap, TOPIC_REGISTRY, until=lambda evs: sum(
            e.type.startswith("baoxue.registry.population.") for e in evs) >= 2, timeout=20)
        found = {e.type: e for e in events if e.type.startswith("baoxue.registry.population.")}
        suspected = found["baoxue.registry.population.suspected_out_of_school"]
        assert suspected.data["name"] == "刘小兰" and missing not in json.dumps(suspected.data)
        assert suspected.kafka_key.decode() == suspected.data["person_id"]
        assert suspected.data["org_path"] == ["410000", "410100", "410122", "410122100"]
        assert found["baoxue.registry.population.outside_compulsory_age"].data["student_id"] == too_old_id


async def test_cross_check_refuses_bad_lists(registry):
    await school_with_class(registry)
    rows = csv_bytes([["身份证号", "姓名"], ["11010519491231002X", "甲"], ["410122201304010110", "乙"]])
    r = await registry.post("/v1/population-checks", data={"region_code": "410122100"}, files={"file": ("l.csv", rows)})
    assert r.status_code == 422 and [e["row"] for e in r.json()["errors"]] == [3], r.text
    r = await registry.post("/v1/population-checks", data={"region_code": "4101221001"}, files={"file": ("l.csv", rows)})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region_code"  # a school, not a region
    r = await registry.post("/v1/population-checks", data={"region_code": "999999"}, files={"file": ("l.csv", rows)})
    assert r.status_code == 404
