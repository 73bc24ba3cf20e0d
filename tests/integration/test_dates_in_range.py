"""Every date a request carries has a plausible window, and out of range is a 422 naming the
field, never a 500: the ends of the calendar (0001-01-01, 9999-12-31) in every service, birth
dates of living people, enrolment within the record's life, roll calls and home visits never
after today, leave of at most a school year; CR/LF in a ledger's query."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from registry.domain.national_id import compose
from tests.conftest import bearer, running
from tests.factories import open_case, school_with_class, student_body

NO_BROKER = "127.0.0.1:1"
ENDS = ["0001-01-01", "9999-12-31"]


def pointers(r) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return [e["pointer"] for e in r.json()["errors"]]


def sqlite(tmp_path, name: str) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"


async def test_registry_dates(databases):
    async with running("registry", databases.url("registry"), NO_BROKER) as registry:
        klass = await school_with_class(registry)
        for end in ENDS:
            assert "/birth_date" in pointers(await registry.post("/v1/students", json=student_body(klass, birth_date=end)))
            assert pointers(await registry.post("/v1/students", json=student_body(klass, enrolled_on=end))) == ["/enrolled_on"]
        old = compose("410122", date(1899, 12, 31), 79)  # a checksum-valid ID of someone born in 1899
        r = await registry.post("/v1/students/imports", data={"school_code": klass["school_code"]},
                                files={"file": ("r.csv", f"身份证号,姓名,班级\n{old},王五,{klass['name']}\n".encode())})
        assert pointers(r) == ["/rows/2/national_id"]
        body = student_body(klass, enrolled_on="2012-01-01")  # before the child was born (2013)
        assert pointers(await registry.post("/v1/students", json=body)) == ["/enrolled_on"]
        roster = f"身份证号,姓名,班级,入学日期\n{compose('410122', date(2013, 4, 1), 77)},王五,{klass['name']},2012-09-01\n"
        r = await registry.post("/v1/students/imports", data={"school_code": klass["school_code"]},
                                files={"file": ("r.csv", roster.encode())})
        assert pointers(r) == ["/rows/2/enrolled_on"]
        r = await registry.post("/v1/population-checks", data={"region_code": "410122", "as_of": "9999-12-31"},
                                files={"file": ("h.csv", "身份证号,姓名\n".encode())})
        assert pointers(r) == ["/as_of"]
        assert (await registry.get("/v1/students")).json()["total"] == 0


async def test_attendance_dates(tmp_path):
    teacher = bearer("head_teacher", "4101221001", classes=["c-1"])
    async with running("attendance", sqlite(tmp_path, "attendance"), NO_BROKER, headers=teacher) as attendance:
        for day in ["1900-01-01", *ENDS]:
            r = await attendance.post("/v1/roll-calls", json={
                "school_code": "4101221001", "class_id": "c-1", "date": day, "session": "am",
                "marks": [{"student_id": "s-1", "status": "absent"}]})
            assert pointers(r) == ["/date"], day
        leave = {"student_id": "s-1", "reason": "病假"}
        r = await attendance.post("/v1/leaves", json={**leave, "start": "0001-01-01T00:00:00+00:00",
                                                      "end": "9999-12-31T00:00:00+00:00"})
        assert pointers(r) == ["/start", "/end"]
        start = datetime(2026, 9, 1, tzinfo=UTC)
        r = await attendance.post("/v1/leaves", json={**leave, "start": start.isoformat(),
                                                      "end": (start + timedelta(days=400)).isoformat()})
        assert pointers(r) == ["/"] or "school year" in r.json()["detail"], r.text
        for end in ENDS:
            assert pointers(await attendance.get("/v1/students/s-1/attendance", params={"on": end})) == ["/query/on"]
            r = await attendance.get("/v1/schools/4101221001/attendance", params={"from": ENDS[0], "to": end})
            assert "/query/from" in pointers(r)


async def test_cases_dates_and_a_ledger_query_with_a_line_break(tmp_path):
    async with running("cases", sqlite(tmp_path, "cases"), NO_BROKER) as cases:
        _, case_id = await open_case(cases)
        visit = {"visitors": ["李老师"], "outcome": "家长同意返校"}
        for end in ENDS:
            r = await cases.post(f"/v1/cases/{case_id}/home-visits", json={**visit, "visited_on": end})
            assert pointers(r) == ["/visited_on"]
            r = await cases.post(f"/v1/cases/{case_id}/plan-items", json={
                "kind": "care", "description": "每周家访", "owner": "李老师", "due_on": end})
            assert pointers(r) == ["/due_on"]
            r = await cases.get("/v1/home-visits/summary", params={"org_code": "410122", "since": end, "until": end})
            assert "/query/since" in pointers(r)
        ahead = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
        r = await cases.post(f"/v1/cases/{case_id}/home-visits", json={**visit, "visited_on": ahead})
        assert pointers(r) == ["/visited_on"]
        r = await cases.get(f"/v1/cases/{case_id}")
        assert r.json()["home_visits"] == []  # nothing half-written
        for fmt in ("csv", "xlsx"):
            r = await cases.get("/v1/cases/ledger", params={"format": fmt, "org_code": "410122\r\nX-Evil: 1"})
            assert pointers(r) == ["/query/org_code"]
            r = await cases.get("/v1/cases/ledger", params={"format": fmt, "opened_from": ENDS[0], "opened_to": ENDS[1]})
            assert "/query/opened_from" in pointers(r)


async def test_reporting_dates(tmp_path):
    async with running("reporting", sqlite(tmp_path, "reporting"), NO_BROKER) as reporting:
        for end in ENDS:
            r = await reporting.get("/v1/reports/summary", params={"org_code": "410122", "date": end})
            assert pointers(r) == ["/query/date"]
        for week in ("0001-W01", "9999-W52"):
            r = await reporting.get("/v1/reports/weekly", params={"org_code": "410122", "week": week})
            assert pointers(r) == ["/week"]
        r = await reporting.get("/v1/ledgers/dropouts", params={"org_code": "410122\r\n", "format": "csv"})
        assert pointers(r) == ["/query/org_code"]
