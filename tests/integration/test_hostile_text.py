"""Text over HTTP: controls, NUL and bidi overrides refused with a 422 naming the field, in
every service; real names (CJK Extensions B-G, private use, ZWJ/ZWNJ) stored as typed and found
in NFC; exports that never fail on a value stored before the checks existed."""

from __future__ import annotations

import io
import unicodedata
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert

from registry.domain.national_id import compose
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body

NO_BROKER = "127.0.0.1:1"
HOSTILE = ["王\x00明", "\u202e明小王", "王\x1b[2J", "王\u0085明", "\u200b", "\u3164"]
REAL = ["𠀀𪜀𫝀𫠠𬺰𰀀", "张\ue000", "ئەخمەت‌جان", "क्‍ष", "Łukasz Müller"]


@pytest.fixture
async def registry(databases):
    async with running("registry", databases.url("registry"), NO_BROKER, writes_per_minute=100_000) as client:
        yield client


async def test_hostile_names_are_refused_naming_the_field(registry):
    klass = await school_with_class(registry)
    for name in HOSTILE:
        r = await registry.post("/v1/students", json=student_body(klass, name=name))
        assert r.status_code == 422, r.text
        assert [e["pointer"] for e in r.json()["errors"]] == ["/name"]
        roster = f"身份证号,姓名,班级\n{compose('410122', date(2013, 4, 1), 901)},{name},{klass['name']}\n"
        r = await registry.post("/v1/students/imports", data={"school_code": klass["school_code"]},
                                files={"file": ("roster.csv", roster.encode())})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/rows/2/name", r.text
    body = student_body(klass, guardians=[{"name": "李大山", "relation": "父\x00亲", "phone": "13800000000"}])
    r = await registry.post("/v1/students", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/guardians/0/relation", r.text
    assert (await registry.get("/v1/students")).json()["total"] == 0  # nothing half-written


async def test_real_names_are_stored_as_typed_and_found_in_nfc(registry):
    klass = await school_with_class(registry)
    for seq, name in enumerate(REAL, start=301):
        typed = unicodedata.normalize("NFD", name)
        r = await registry.post("/v1/students", json=student_body(klass, seq=seq, name=typed))
        assert r.status_code == 201, r.text
        assert (await registry.get(f"/v1/students/{r.json()['id']}")).json()["name"] == typed  # as typed
        found = (await registry.get("/v1/students", params={"name": unicodedata.normalize("NFC", name)})).json()
        assert [s["name"] for s in found["items"]] == [typed]


async def test_every_service_refuses_controls_in_free_text(tmp_path):
    """Refused before any SQL runs: one backend is enough."""
    teacher = bearer("head_teacher", "4101221001", classes=["c-1"])
    async with running("attendance", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", NO_BROKER, headers=teacher) as attendance:
        r = await attendance.post("/v1/leaves", json={"student_id": "s-1", "start": "2026-11-02T08:00:00+08:00", "end": "2026-11-03T18:00:00+08:00",
                                                      "reason": "病假\u202e"})
        assert r.status_code == 422 and [e["pointer"] for e in r.json()["errors"]] == ["/reason"], r.text
        # A CSV field over the csv module's limit (131,072 characters) is the sender's problem.
        r = await attendance.post("/v1/calendars/4101221001/entries", headers={
            **bearer("school_staff", "4101221001"), "content-type": "text/csv"},
            content=("date,kind,note\n2026-10-01,holiday," + "长" * 140_000 + "\n").encode())
        assert r.status_code == 422, r.text
    async with running("cases", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", NO_BROKER) as cases:
        r = await cases.post("/v1/cases", json={"student_id": "s-1", "note": "三天未到校\x00"})
        assert r.status_code == 422 and [e["pointer"] for e in r.json()["errors"]] == ["/note"], r.text
        r = await cases.post("/v1/cases", json={"student_id": "s-1", "note": "第一行\n第二行"})
        assert r.status_code != 422, r.text  # line breaks are text


async def test_a_stored_control_character_never_breaks_an_export(databases):
    """A name stored before names were checked (planted in the read model as an old event left
    it): the ledger exports as CSV and XLSX, the character written as a visible escape."""
    from reporting.adapters.tables import orgs, students

    async with running("reporting", databases.url("reporting"), NO_BROKER) as reporting:
        async with reporting.app.state.runtime.sessionmaker() as s:
            await s.execute(insert(orgs), [
                {"code": "410122", "name": "中牟县", "kind": "county", "path": "/410000/410100/410122/"},
                {"code": "4101221001", "name": "一中", "kind": "school",
                 "path": "/410000/410100/410122/410122100/4101221001/"}])
            await s.execute(insert(students).values(
                student_id="s-1", path="/410000/410100/410122/410122100/4101221001/", grade=7, level="junior",
                status="enrolled", class_id="c-1", school_code="4101221001", name="王\x07小\u202e明\x1b",  # PostgreSQL cannot hold a NUL
                flags=["poor_household"], enrolled_on=date(2026, 9, 1)))
            await s.commit()
        for fmt in ("csv", "xlsx"):
            r = await reporting.get("/v1/ledgers/poor-households", params={"org_code": "410122", "format": fmt})
            assert r.status_code == 200, r.text
            if fmt == "csv":
                assert "王\\u0007小\\u202E明\\u001B" in r.content.decode("utf-8-sig")
            else:
                sheet = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
                assert "王\\u0007小\\u202E明\\u001B" in [v for row in sheet.iter_rows(values_only=True) for v in row]
