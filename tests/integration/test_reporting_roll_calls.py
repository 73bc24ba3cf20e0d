"""Roll-call completeness (动态监测) in reporting, from attendance's roll_call.recorded and
roll_call.missing fed through the real projection handlers on SQLite and PostgreSQL: expected,
taken and taken-on-time per school, township, day and week, and the weekly indicator naming the
school that lags."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.envelope import Event
from tests.conftest import running
from tests.factories import feed_reporting
from tests.reporting_fixture import CLASS, COUNTY, PATHS, S1, S2, S3, T1, events

WEEK = [date(2026, 11, 16) + timedelta(days=i) for i in range(5)]  # W47, Monday to Friday


def recorded(school: str, day: date, session: str, on_time: bool = True, replaced: bool = False) -> tuple:
    return "baoxue.attendance.v1", Event(
        type="baoxue.attendance.roll_call.recorded", source="/baoxue/attendance", subject=CLASS[school], data={
            "class_id": CLASS[school], "school_code": school, "org_path": PATHS[school], "date": day.isoformat(),
            "session": session, "session_at": f"{day.isoformat()}T00:00:00+00:00", "roll_call_id": 1,
            "received_at": f"{day.isoformat()}T01:00:00+00:00", "on_time": on_time, "replaced": replaced,
            "expected": True, "counts": {"present": 30, "late": 0, "absent": 1, "leave": 0}, "marks": 31})


def missing(school: str, day: date, session: str) -> tuple:
    return "baoxue.attendance.v1", Event(
        type="baoxue.attendance.roll_call.missing", source="/baoxue/attendance", subject=CLASS[school], data={
            "class_id": CLASS[school], "school_code": school, "org_path": PATHS[school], "date": day.isoformat(),
            "session": session, "session_at": f"{day.isoformat()}T00:00:00+00:00",
            "missing_since": f"{day.isoformat()}T02:00:00+00:00"})


@pytest.fixture(params=["one_at_a_time", "in_one_run"])
async def county(databases, request):
    async with running("reporting", databases.url("reporting"), "127.0.0.1:1") as client:
        s1 = [recorded(S1, d, s) for d in WEEK[:4] for s in ("am", "pm")]
        # S1 missed Friday; the morning's register is typed in later (late); a Monday re-post
        # that came late does not make Monday's on-time roll call late.
        s1 += [missing(S1, WEEK[4], "am"), missing(S1, WEEK[4], "pm"), recorded(S1, WEEK[4], "am", on_time=False),
               recorded(S1, WEEK[0], "am", on_time=False, replaced=True)]
        s2 = [recorded(S2, d, s) for d in WEEK for s in ("am", "pm")]
        roll_calls = [*s1, *s2]
        if request.param == "in_one_run":
            # Every roll_call.recorded in one call of the batch handler (Monday's roll call and its
            # late re-post among them), the missing ones after: the figures must not move, since a
            # session is on time if any of its recordings was, whatever order they arrive in.
            roll_calls.sort(key=lambda topic_event: topic_event[1].type != "baoxue.attendance.roll_call.recorded")
        await feed_reporting(client, [*events(), *roll_calls], in_runs=request.param == "in_one_run")
        yield client


async def report(client, **params) -> dict:
    r = await client.get("/v1/reports/roll-call-completeness",
                         params={"org_code": COUNTY, "from": "2026-11-14", "to": "2026-11-20", **params})
    assert r.status_code == 200, r.text
    return r.json()


async def test_completeness_per_school_township_and_day(county):
    by_school = {i["unit_code"]: i for i in (await report(county, unit="school", period="week"))["items"]}
    assert {k: by_school[S1][k] for k in ("expected", "taken", "taken_on_time", "completeness_rate",
                                          "timeliness_rate", "period")} == {
        "expected": 10, "taken": 9, "taken_on_time": 8, "completeness_rate": 0.9, "timeliness_rate": 0.8,
        "period": "2026-W47"}
    assert (by_school[S2]["expected"], by_school[S2]["taken_on_time"]) == (10, 10)
    town = await report(county, unit="township", period="week")
    assert [(i["unit_code"], i["expected"], i["taken"], i["taken_on_time"]) for i in town["items"]] == [(T1, 20, 19, 18)]
    assert town["totals"]["completeness_rate"] == 0.95
    friday = [i for i in (await report(county, unit="school", period="day"))["items"]
              if i["unit_code"] == S1 and i["period"] == "2026-11-20"]
    assert [(i["expected"], i["taken"], i["taken_on_time"]) for i in friday] == [(2, 1, 0)]
    nothing = await report(county, **{"from": "2026-11-01", "to": "2026-11-07"})
    assert nothing["items"] == [] and nothing["totals"]["completeness_rate"] is None


async def test_the_weekly_monitoring_indicator_names_the_school_that_lags(county):
    w = (await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W47"})).json()
    monitoring = w["indicators"]["monitoring"]
    assert (monitoring["name"], monitoring["standing"]) == ("动态监测", "known")
    part = monitoring["parts"]["roll_call_completeness"]
    assert (part["value"], part["numerator"], part["denominator"]) == (0.95, 19, 20)
    assert monitoring["parts"]["roll_call_timeliness"]["value"] == 0.9
    assert [(s["code"], s["rate"], s["name"]) for s in monitoring["lagging"]] == [(S1, 0.9, "城关镇第一初级中学")]


async def test_the_monthly_report_fills_attendance_and_roll_call_completeness(county):
    m = (await county.get("/v1/reports/monthly", params={"org_code": COUNTY, "month": "2026-11"})).json()
    classes = {c["class_id"]: c for c in m["classes"]}
    # S1: 9 of 10 expected sessions taken; 9 roll calls of 31 marks, 30 seen each.
    assert classes[CLASS[S1]]["roll_call_completeness"] == 0.9
    assert classes[CLASS[S1]]["attendance_rate"] == round(30 / 31, 6)
    assert classes[CLASS[S2]]["roll_call_completeness"] == 1.0
    # S3 sent nothing: unknown for its class, never 0 %; the org has figures, so nothing is unknown overall.
    assert classes[CLASS[S3]]["roll_call_completeness"] is None and classes[CLASS[S3]]["attendance_rate"] is None
    assert m["totals"]["roll_call_completeness"] == 0.95 and m["unknown"] == {}
