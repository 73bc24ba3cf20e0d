"""The monthly report per class (学校辍学月报表), frozen submissions and the weekly report's two
indicators, on the fixture county (tests/reporting_fixture) plus a few events of its own, fed
through the real projection handlers on SQLite and PostgreSQL. Every expected figure is counted
by hand below from those events.

Seed 001: 对各班辍学情况，学校每月都要作出详细统计，进行量化评比. Seed 002: 《学校辍学月报表》.
Seed 000: 自20xx年6月起，各县(区)每周五向市教体局报送周报表; 主要报告内容为：控辍保学体系建立和工作
责任落实情况，控辍保学动态监测机制建立情况，辍学学生劝返情况.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from shared.clock import FixedClock
from shared.envelope import TOPIC_CASES
from tests.conftest import bearer, running
from tests.factories import feed_reporting
from tests.reporting_fixture import (
    CITY,
    COUNTY,
    PROVINCE,
    S1,
    S2,
    S3,
    T1,
    T2,
    _case,
    _case_status,
    _enrol,
    _event,
    _status,
    events,
    sid,
    t,
)

OTHER_COUNTY = "410183"  # 新密市: a second county of the city, which submits late or not at all
COUNTY_OFFICIAL = bearer("county_official", COUNTY)


def _in_class(pair, class_id: str):
    topic, event = pair
    event.data["class_id"] = class_id
    return topic, event


def _assigned(at: str, org_code: str, level: str | None, roles: dict, *, case: str | None = None,
              responsible: str | None = None):
    return TOPIC_CASES, _event("baoxue.cases.responsibility.assigned", sid("jD") if case else org_code, at, {
        "scope": "case" if case else "org", "case_id": case, "student_id": sid("jD") if case else None,
        "org_code": org_code, "org_path": [], "class_id": None, "level": level, "roles": roles, "village_heads": {},
        "responsible_person": responsible, "assigned_at": t(at).isoformat(), "actor": "test"})


def _plan_added(case: str, at: str):
    return TOPIC_CASES, _event("baoxue.cases.plan_item.added", sid("jD"), at, {
        "case_id": case, "student_id": sid("jD"), "item_id": f"{case}-plan", "kind": "persuasion", "owner": "李老师",
        "due_on": "2026-11-30", "added_at": t(at).isoformat(), "actor": "test"})


def extras() -> list:
    """S1 gets two more classes: c-s1b (b1, b2; b2 drops out on 11-20) and c-s1c (c1, and c2 new
    on 11-02). Case cD (jD's, open since 11-09) is confirmed on 11-11 and moves to persuading
    (so it has a responsible person and a plan) on 11-19."""
    return [
        _in_class(_enrol("b1", S1, 7), "c-s1b"), _in_class(_enrol("b2", S1, 7), "c-s1b"),
        _in_class(_enrol("c1", S1, 7), "c-s1c"), _in_class(_enrol("c2", S1, 7, on="2026-11-02"), "c-s1c"),
        _in_class(_status("b2", "dropped_out", "enrolled", "2026-11-20", "2026-11-20T03:00:00", S1, 7, "外出务工"),
                  "c-s1b"),
        _case_status("cD", "jD", "verifying", "2026-11-11T01:00:00"),
        _case_status("cD", "jD", "confirmed", "2026-11-11T03:00:00"),
        _case_status("cD", "jD", "persuading", "2026-11-19T03:00:00"),
        # cD had its 劝返责任人 and its plan on 11-12, a week before it moved to persuading.
        _assigned("2026-11-12T02:00:00", S1, None, {"responsible_person": "李老师"}, case="cD", responsible="李老师"),
        _plan_added("cD", "2026-11-12T03:00:00"),
        # Standing chains (七长/五级) on 11-16: S1's is complete; S3's township named nobody.
        _assigned("2026-11-16T01:00:00", COUNTY, "county", {"county_head": "赵县长", "bureau_chief": "钱局长"}),
        _assigned("2026-11-16T01:00:00", T1, "township", {"township_head": "张镇长"}),
        _assigned("2026-11-16T02:00:00", S1, "school", {"principal": "王校长", "bureau_leader": "孙副局长"}),
        _assigned("2026-11-16T02:00:00", S3, "school", {"principal": "陈校长", "bureau_leader": "孙副局长"}),
        _assigned("2026-11-16T02:00:00", T2, "township", {}),
        # After W47's cut-off S1 loses its 包校 leader: W47 still counts S1's chain as set.
        _assigned("2026-11-21T02:00:00", S1, "school", {"principal": "王校长"}),
    ]


@pytest.fixture
async def county(databases):
    # Friday 2026-11-20 17:00 China time: an hour before the weekly deadline.
    clock = FixedClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    async with running("reporting", databases.url("reporting"), "127.0.0.1:1", clock=clock) as client:
        await feed_reporting(client, [*events(), *extras()])
        client.clock = clock
        yield client


async def monthly(client, org: str, month: str, fmt: str = "json", headers=None):
    r = await client.get("/v1/reports/monthly", params={"org_code": org, "month": month, "format": fmt},
                         headers=headers)
    assert r.status_code == 200, r.text
    return r


FLOWS = ("enrolled_at_start", "new_enrolments", "returned", "transferred_in", "dropped_out", "transferred_out",
         "enrolled_at_end", "out_at_end", "home_visits", "roll")


def flows(row: dict) -> tuple:
    return tuple(row[k] for k in FLOWS)


async def test_november_per_class_ranked_within_the_school_roll_calls_unknown(county):
    m = (await monthly(county, COUNTY, "2026-11")).json()
    assert m["period"]["start"] == "2026-10-31T16:00:00Z" and m["period"]["end"] == "2026-11-30T16:00:00Z"
    classes = {c["class_id"]: c for c in m["classes"]}
    assert set(classes) == {"c-s1", "c-s1b", "c-s1c", "c-s2", "c-s3"}
    # c-s1 at the end of October: j1-j4, jD, jF, jT attend (jR dropped out 10-20, jG graduated).
    # November: jT leaves for S3 (11-03), jD drops out (11-10), jR comes back (11-12); cD's two
    # visits (11-10, 11-18) count for jD's class. Roll 7, one dropout: 1/7.
    assert flows(classes["c-s1"]) == (7, 0, 1, 0, 1, 1, 6, 1, 2, 7)
    assert classes["c-s1"]["dropout_rate"] == round(1 / 7, 6) and classes["c-s1"]["grade"] == 8
    assert flows(classes["c-s1b"]) == (2, 0, 0, 0, 1, 0, 1, 1, 0, 2)       # b2 out on 11-20: 1/2
    assert flows(classes["c-s1c"]) == (1, 1, 0, 0, 0, 0, 2, 0, 0, 2)       # c2 new on 11-02
    assert flows(classes["c-s3"]) == (3, 0, 0, 1, 0, 0, 4, 0, 0, 4)        # jT received on 11-05
    assert flows(classes["c-s2"]) == (5, 0, 0, 0, 0, 0, 5, 0, 0, 5)        # p6 left in October
    # 量化评比 within S1: c-s1c 0 %, c-s1 14.3 %, c-s1b 50 %; S2 and S3 have one class each.
    assert [(c["school_code"], c["class_id"], c["rank"]) for c in m["classes"]] == [
        (S1, "c-s1c", 1), (S1, "c-s1", 2), (S1, "c-s1b", 3), (S2, "c-s2", 1), (S3, "c-s3", 1)]
    # 无辍学班级: nobody dropped out in the month and nobody still out at its end.
    assert [c["class_id"] for c in m["no_dropout_classes"]] == ["c-s1c", "c-s2", "c-s3"]
    assert {c["class_id"]: c["no_dropout"] for c in m["classes"]} == {
        "c-s1": False, "c-s1b": False, "c-s1c": True, "c-s2": True, "c-s3": True}
    t = m["totals"]
    assert flows(t) == (18, 1, 1, 1, 2, 1, 18, 2, 2, 20) and t["dropout_rate"] == 0.1
    assert (t["classes"], t["no_dropout_classes"]) == (5, 3)
    schools = {s["school_code"]: s for s in m["schools"]}
    assert flows(schools[S1]) == (10, 1, 1, 0, 2, 1, 9, 2, 2, 11)
    assert (schools[S1]["township_code"], schools[S3]["township_code"], schools[S1]["classes"]) == (T1, T2, 3)
    # Attendance and roll-call completeness: unknown with a reason, never 0.
    for key in ("attendance_rate", "roll_call_completeness"):
        assert all(row[key] is None for row in (*m["classes"], *m["schools"], m["totals"]))
        assert m["unknown"][key]["value"] is None and "roll_call.recorded" in m["unknown"][key]["reason"]
        assert m["unknown"][key]["awaiting"] == ["baoxue.attendance.roll_call.recorded",
                                                 "baoxue.attendance.roll_call.missing"]


async def test_other_months_and_levels(county):
    # October: c-s1 had 8 attending at the start; jR dropped out (10-20), cR's visit on 10-21.
    october = {c["class_id"]: c for c in (await monthly(county, COUNTY, "2026-10")).json()["classes"]}
    assert flows(october["c-s1"]) == (8, 0, 0, 0, 1, 0, 7, 1, 1, 8)
    assert october["c-s1"]["dropout_rate"] == 0.125
    assert flows(october["c-s2"]) == (7, 0, 0, 0, 0, 1, 5, 0, 0, 7)  # p6 out 10-01; u1 taught at home
    # September: everyone's record starts on 09-01, so nobody was enrolled at the month's start.
    september = {c["class_id"]: c for c in (await monthly(county, COUNTY, "2026-09")).json()["classes"]}
    assert flows(september["c-s1"]) == (0, 8, 0, 0, 0, 0, 8, 0, 0, 8)
    # A school and a township see their own classes only.
    assert [c["class_id"] for c in (await monthly(county, S1, "2026-11")).json()["classes"]] == [
        "c-s1c", "c-s1", "c-s1b"]
    assert [c["class_id"] for c in (await monthly(county, T2, "2026-11")).json()["classes"]] == ["c-s3"]
    # School staff read their school's report; another township's official cannot see it.
    assert (await monthly(county, S1, "2026-11", headers=bearer("school_staff", S1))).json()["totals"]["classes"] == 3
    r = await county.get("/v1/reports/monthly", params={"org_code": S1, "month": "2026-11"},
                         headers=bearer("township_official", T2))
    assert r.status_code == 404
    for bad in ("2026-13", "2026/11", "26-11"):
        r = await county.get("/v1/reports/monthly", params={"org_code": COUNTY, "month": bad})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "month", r.text


async def test_monthly_exports_have_chinese_headings_say_unknown_and_are_audited(county):
    text = (await monthly(county, COUNTY, "2026-11", "csv")).content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "【班级】" and lines[1].startswith("学校代码,学校,班级编号,年级,校内排名,月初在读,本月新入学")
    assert "【无辍学班级】" in text
    r = await monthly(county, COUNTY, "2026-11", "xlsx")
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["班级", "学校", "无辍学班级"]
    rows = list(book["班级"].values)
    head = rows[0]
    first = dict(zip(head, rows[1]))
    assert (first["班级编号"], first["校内排名"], first["本月新入学"], first["出勤率"], first["点名完整率"]) == (
        "c-s1c", 1, 1, "未知", "未知")
    assert dict(zip(head, rows[3]))["本月辍学率"] == 0.5
    log = (await county.get("/v1/audit", params={"action": "read"}, headers=COUNTY_OFFICIAL)).json()
    assert [(e["route"], e["scope_path"]) for e in log["items"]] == [
        ("/v1/reports/monthly", "/410000/410100/410122/")] * 2


async def test_weekly_indicators_unknown_or_counted_never_invented(county):
    w = (await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W47"})).json()
    monitoring, responsibility = w["indicators"]["monitoring"], w["indicators"]["responsibility"]
    assert (monitoring["name"], monitoring["standing"]) == ("动态监测", "unknown")
    part = monitoring["parts"]["roll_call_completeness"]
    # The fixture county sends no roll-call events: unknown, never 0 %.
    assert part["value"] is None and part["counted"] is None and "no roll call was expected" in part["reason"]
    assert (responsibility["name"], responsibility["standing"]) == ("责任落实", "known")
    # W47 (cut-off 11-20 24:00): cD, confirmed 11-11, moved to persuading 11-19: 1 of 1.
    cases = responsibility["parts"]["cases"]
    assert (cases["value"], cases["numerator"], cases["denominator"]) == (1.0, 1, 1)
    assert "plan_item.added" in cases["counted"] and "lower bound" not in cases["counted"]
    # Schools with their chain set by the cut-off: S1 (county, 城关镇 and school named); S2's school
    # named nobody, S3's township named no head: 1 of 3.
    schools = responsibility["parts"]["schools"]
    assert (schools["numerator"], schools["denominator"]) == (1, 3) and "包校" in schools["counted"]
    # W46 (cut-off 11-13 24:00): cD confirmed, not yet persuading, but with a 劝返责任人 and a plan
    # since 11-12: counted; no standing chain was put yet: 0 of 3 schools.
    before = w["totals"]["previous"]
    assert (before["confirmed_open_cases"], before["cases_with_responsible_and_plan"]) == (1, 1)
    w46 = (await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W46"})).json()
    assert w46["indicators"]["responsibility"]["parts"]["schools"]["numerator"] == 0
    towns = {t["code"]: t for t in w["townships"]}
    assert (towns[T1]["current"]["cases_with_responsible_and_plan"], towns[T2]["current"]["confirmed_open_cases"]) == (1, 0)
    w45 = (await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W45"})).json()
    cases45 = w45["indicators"]["responsibility"]["parts"]["cases"]
    assert (cases45["value"], cases45["denominator"]) == (None, 0) and "no open case" in cases45["reason"]
    book = load_workbook(io.BytesIO((await county.get("/v1/reports/weekly", params={
        "org_code": COUNTY, "week": "2026-W47", "format": "xlsx"})).content))
    rows = {(r[0], r[1]): r[2] for r in list(book["责任落实与动态监测"].values)[1:]}
    assert rows[("动态监测", "点名完整率")].startswith("未知（")
    assert rows[("责任落实", "在办案件落实劝返责任人和帮扶计划")] == "1.000000 (1/1)"
    page = (await county.get(f"/v1/reports/weekly/{COUNTY}/2026-W47.html")).text
    assert "<td>动态监测</td><td>点名完整率</td><td>未知（" in page and "1.000000 (1/1)" in page


def sha(body) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                          .encode()).hexdigest()


async def test_a_submission_is_frozen_and_shows_what_changed_since(county):
    url = f"/v1/reports/weekly/{COUNTY}/2026-W47/submissions"
    live = (await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W47"})).json()
    r = await county.post(url, headers=COUNTY_OFFICIAL)
    assert r.status_code == 201, r.text
    sent = r.json()
    # The digest is over the report's JSON exactly as GET answers it, written canonically.
    assert sent["sha256"] == sha(live)
    assert (sent["submitted_by"], sent["submitted_at"], sent["period"]) == (
        "test-county_official", "2026-11-20T09:00:00Z", "2026-W47")
    listed = (await county.get(url, headers=COUNTY_OFFICIAL)).json()["items"]
    assert [s["id"] for s in listed] == [sent["id"]]
    page = (await county.get(f"{url}/{sent['id']}", headers=bearer("city_official", CITY))).json()
    assert page["changed"] is False and page["changes"] == [] and sha(page["figures"]) == sent["sha256"]
    html = await county.get(f"{url}/{sent['id']}.html", headers=bearer("city_official", CITY))
    assert html.status_code == 200 and "报送后数据无变化" in html.text and sent["sha256"] in html.text

    # A case in S3 opened on Thursday arrives after the submission: the figures move, the
    # submission does not, and its page names what changed.
    await feed_reporting(county, [_case("cK", "k1", S3, "2026-11-19T02:00:00")])
    page = (await county.get(f"{url}/{sent['id']}", headers=COUNTY_OFFICIAL)).json()
    assert sha(page["figures"]) == sent["sha256"] and page["changed"] is True
    moved = {c["path"]: (c["submitted"], c["now"]) for c in page["changes"]}
    assert moved["totals.current.cases_opened"] == (1, 2)
    assert moved[f"townships[{T2}].current.cases_opened"] == (0, 1)
    assert moved[f"schools[{S3}].current.open_cases"] == (0, 1)
    assert "as_of" not in moved  # not a figure
    html = (await county.get(f"{url}/{sent['id']}.html", headers=COUNTY_OFFICIAL)).text
    assert f"报送后数据有变化：{len(moved)} 项" in html and "<td>totals.current.cases_opened</td><td>1</td><td>2</td>" in html

    r = await county.post(f"/v1/reports/weekly/{T1}/2026-W47/submissions", headers=COUNTY_OFFICIAL)
    assert r.status_code == 422  # a township does not submit to the city
    r = await county.get(f"{url}/999999", headers=COUNTY_OFFICIAL)
    assert r.status_code == 404
    r = await county.post(f"/v1/reports/weekly/{COUNTY}/2026-47/submissions", headers=COUNTY_OFFICIAL)
    assert r.status_code == 422

    monthly_url = f"/v1/reports/monthly/{COUNTY}/2026-11/submissions"
    r = await county.post(monthly_url, headers=COUNTY_OFFICIAL)
    assert r.status_code == 201, r.text
    now = (await monthly(county, COUNTY, "2026-11")).json()
    assert r.json()["sha256"] == sha(now) and r.json()["kind"] == "monthly"
    assert [s["id"] for s in (await county.get(monthly_url, headers=COUNTY_OFFICIAL)).json()["items"]] == [r.json()["id"]]
    assert (await county.get(f"{monthly_url}/{r.json()['id']}", headers=COUNTY_OFFICIAL)).json()["changed"] is False


async def test_a_city_sees_who_submitted_by_the_deadline_and_who_is_late(county):
    from tests.reporting_fixture import NAMES, PATHS, _org

    NAMES[OTHER_COUNTY] = ("新密市", "county")
    try:
        topic, other = _org(COUNTY)
        other.data.update(code=OTHER_COUNTY, name="新密市", path=[PROVINCE, CITY, OTHER_COUNTY])
        await feed_reporting(county, [(topic, _event("baoxue.registry.org.registered", OTHER_COUNTY, "2026-08-01T00:00:00",
                                           other.data))])
    finally:
        NAMES.pop(OTHER_COUNTY)
    assert PATHS  # the fixture's own paths are untouched
    city = bearer("city_official", CITY)

    async def standings() -> dict:
        r = await county.get("/v1/reports/weekly/submissions", params={"org_code": CITY, "week": "2026-W47"},
                             headers=city)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["deadline"] == "2026-11-20T10:00:00Z"  # Friday 18:00 China time
        return {c["code"]: c["standing"] for c in body["counties"]}

    assert await standings() == {COUNTY: "pending", OTHER_COUNTY: "pending"}
    assert (await county.post(f"/v1/reports/weekly/{COUNTY}/2026-W47/submissions", headers=COUNTY_OFFICIAL)).status_code == 201
    county.clock.set(datetime(2026, 11, 20, 10, 30, tzinfo=UTC))  # 18:30: past the deadline
    assert await standings() == {COUNTY: "on_time", OTHER_COUNTY: "missing"}
    r = await county.post(f"/v1/reports/weekly/{OTHER_COUNTY}/2026-W47/submissions",
                          headers=bearer("county_official", OTHER_COUNTY))
    assert r.status_code == 201
    # A correction after the deadline does not make the on-time county late.
    assert (await county.post(f"/v1/reports/weekly/{COUNTY}/2026-W47/submissions", headers=COUNTY_OFFICIAL)).status_code == 201
    assert await standings() == {COUNTY: "on_time", OTHER_COUNTY: "late"}
    assert len((await county.get(f"/v1/reports/weekly/{COUNTY}/2026-W47/submissions", headers=city)).json()["items"]) == 2
    # The county's own official sees only its county; another county's cannot submit for it.
    r = await county.post(f"/v1/reports/weekly/{COUNTY}/2026-W47/submissions",
                          headers=bearer("county_official", OTHER_COUNTY))
    assert r.status_code == 404
