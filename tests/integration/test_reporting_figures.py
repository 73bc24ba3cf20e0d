"""The fixture county's figures, fed through the real projection handlers on SQLite and
PostgreSQL, against expectations computed by hand (see tests/reporting_fixture)."""

from __future__ import annotations

from tests.conftest import bearer, running
from tests.factories import feed_reporting, summary_of
from tests.reporting_fixture import COUNTY, S1, S2, S3, T1, T2


async def test_county_summary_counts_the_return_and_leaves_out_the_graduate_and_the_false_alarm(county):
    s = await summary_of(county, COUNTY, "2026-11-20")
    junior, primary = s["levels"]["junior"], s["levels"]["primary"]
    # Junior: S1 j1-j4, jR (returned), jF (false alarm) attend, jD dropped out, jG graduated;
    # S3 k1-k3 attend and jT transferred in. on_roll 11, cohort 12 (with the graduate).
    assert {k: junior[k] for k in ("enrolled", "dropped_out", "returned", "graduated", "on_roll", "open_cases")} == {
        "enrolled": 10, "dropped_out": 1, "returned": 1, "graduated": 1, "on_roll": 11, "open_cases": 1}
    # The day's shares (not the statutory rates): 1 dropout on the roll of 11; the old "retention"
    # with the graduate in its cohort.
    assert junior["day_dropout_share"] == round(1 / 11, 6) and junior["day_retention_share"] == round(11 / 12, 6)
    # The statutory rates of 2026-2027 to 11-20: 11 junior children in school at the census
    # (S1's eight, S3's three; jG graduated in July), two dropouts this year (jR, who came back,
    # still counts; jD); jT moved within the county, no transfer at its level.
    assert (junior["start_roll"], junior["year_dropouts"], junior["net_roll"]) == (11, 2, 11)
    assert junior["dropout_rate"] == round(2 / 11, 6) and junior["retention_rate"] == round(9 / 11, 6)
    assert junior["status"] == "off_target"
    # Primary: p1-p5 attend, p6's transfer out is unconfirmed, so p6 stays on S2's roll, as
    # does u1, taught at home.
    assert (primary["enrolled"], primary["dropped_out"], primary["on_roll"]) == (5, 0, 7)
    assert primary["start_roll"] == 7  # p6 (transfer unconfirmed) and u1 (taught at home) are in school
    assert primary["dropout_rate"] == 0 and primary["retention_rate"] == 1 and primary["status"] == "on_target"
    assert (s["enrolled"], s["dropped_out"], s["on_roll"]) == (15, 1, 18)
    assert s["day_dropout_share"] == round(1 / 18, 6) and s["day_retention_share"] == round(18 / 19, 6)
    assert s["dropout_rate"] == round(2 / 18, 6) and s["retention_rate"] == round(16 / 18, 6)
    assert s["school_year"] == {"name": "2026-2027", "first_day": "2026-09-01", "last_day": "2027-08-31",
                                "through": "2026-11-20"}
    assert s["status"] == "off_target" and s["as_of"].startswith("2026-11-19T03:00:00")


async def test_a_transfer_confirmed_elsewhere_leaves_the_sending_school_and_joins_the_receiving_one(county):
    s1 = await summary_of(county, S1, "2026-11-20")
    assert (s1["enrolled"], s1["dropped_out"], s1["on_roll"], s1["graduated"]) == (6, 1, 7, 1)
    assert s1["day_dropout_share"] == round(1 / 7, 6) and s1["day_retention_share"] == round(7 / 8, 6)
    # The year: S1 had 8 at the census; jR and jD dropped out; jT left by transfer, so the base
    # net of transfers is 7: 年辍学率 2/8, 在校生巩固率 (7 - 2)/7.
    assert (s1["start_roll"], s1["year_dropouts"], s1["transfers_out"], s1["net_roll"]) == (8, 2, 1, 7)
    assert s1["dropout_rate"] == 0.25 and s1["retention_rate"] == round(5 / 7, 6)
    s3 = await summary_of(county, S3, "2026-11-20")
    assert (s3["enrolled"], s3["on_roll"], s3["dropout_rate"]) == (4, 4, 0)
    assert (s3["start_roll"], s3["transfers_in"], s3["net_roll"], s3["retention_rate"]) == (3, 1, 4, 1)
    # While the transfer waited for its receipt (11-04) jT was still on S1's roll, and jR was
    # the dropout (not yet returned) while jD still attended.
    before = await summary_of(county, S1, "2026-11-04")
    assert (before["enrolled"], before["dropped_out"], before["returned"], before["on_roll"]) == (6, 1, 0, 8)
    assert (await summary_of(county, S3, "2026-11-04"))["on_roll"] == 3


async def test_any_level_and_date(county):
    t1 = await summary_of(county, T1, "2026-11-20")
    assert (t1["enrolled"], t1["dropped_out"], t1["on_roll"]) == (11, 1, 14)
    assert t1["day_dropout_share"] == round(1 / 14, 6)
    assert (t1["start_roll"], t1["year_dropouts"]) == (15, 2) and t1["dropout_rate"] == round(2 / 15, 6)
    t2 = await summary_of(county, T2, "2026-11-20")
    assert (t2["enrolled"], t2["status"]) == (4, "on_target")
    assert (await summary_of(county, S2, "2026-11-20"))["levels"]["junior"]["status"] is None
    # Before the term: only jG's earlier record (enrolled 2023, graduated 2026-07-01). The day's
    # share has nobody to count; school year 2025-2026 had jG at its census, who graduated (no dropout).
    summer = await summary_of(county, COUNTY, "2026-08-15")
    assert (summer["enrolled"], summer["graduated"], summer["day_dropout_share"]) == (0, 1, None)
    assert summer["school_year"]["name"] == "2025-2026"
    assert (summer["start_roll"], summer["dropout_rate"], summer["retention_rate"]) == (1, 0, 1)
    province = await summary_of(county, "410000", "2026-11-20")
    assert province["enrolled"] == 15


async def test_summary_problems_and_scope(county):
    r = await county.get("/v1/reports/summary", params={"org_code": COUNTY, "date": "2026-13-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date"
    r = await county.get("/v1/reports/summary", params={"org_code": COUNTY},
                         headers=bearer("township_official", T2))
    assert r.status_code == 404


async def weekly(client, org: str, week: str, fmt: str = "json"):
    r = await client.get("/v1/reports/weekly", params={"org_code": org, "week": week, "format": fmt})
    assert r.status_code == 200, r.text
    return r


ACTIVITY = ("new_absence_episodes", "cases_opened", "cases_returned", "cases_closed", "home_visits", "open_cases",
            "unacknowledged_dual_reports", "overdue_transfers")


def activity(block: dict) -> tuple:
    return tuple(block[k] for k in ACTIVITY)


async def test_weekly_report_with_friday_cut_off_and_the_previous_week(county):
    w = (await weekly(county, COUNTY, "2026-W47")).json()
    assert w["period"] == {"start": "2026-11-13T16:00:00Z", "cutoff": "2026-11-20T16:00:00Z"}
    now, before = w["totals"]["current"], w["totals"]["previous"]
    # W47: jF's episode and case (a false alarm, closed 11-17), cD's second visit on 11-18; cD
    # stays open (11 days), its education report unacknowledged; p6's transfer still overdue.
    assert activity(now) == (1, 1, 0, 1, 1, 1, 1, 1)
    assert now["open_cases_by_age"] == {"0-7": 0, "8-30": 1, "31-90": 0, "90+": 0}
    assert (now["enrolled"], now["dropped_out"], now["returned"]) == (15, 1, 1)
    assert now["dropout_rate"] == round(2 / 18, 6) and now["status"] == "off_target"
    assert w["school_year"]["name"] == "2026-2027" and w["school_year"]["through"] == "2026-11-20"
    # W46: jD's episode, case and first visit; cR returned and closed; cD 4 days old.
    assert activity(before) == (1, 1, 1, 1, 1, 1, 1, 1)
    assert before["open_cases_by_age"]["0-7"] == 1
    assert w["totals"]["change"]["cases_returned"] == -1 and w["totals"]["change"]["dropped_out"] == 0
    townships = {r["code"]: r for r in w["townships"]}
    assert set(townships) == {T1, T2}
    assert (townships[T1]["current"]["enrolled"], townships[T1]["current"]["dropped_out"]) == (11, 1)
    assert activity(townships[T1]["current"]) == (1, 1, 0, 1, 1, 1, 1, 1)
    assert townships[T1]["current"]["dropout_rate"] == round(2 / 15, 6)
    assert activity(townships[T2]["current"]) == (0,) * 8 and townships[T2]["current"]["enrolled"] == 4
    schools = {r["code"]: r for r in w["schools"]}
    assert {c: r["township_code"] for c, r in schools.items()} == {S1: T1, S2: T1, S3: T2}
    assert activity(schools[S2]["current"]) == (0, 0, 0, 0, 0, 0, 0, 1)
    assert schools[S1]["previous"]["cases_returned"] == 1 and schools[S1]["current"]["dropout_rate"] == 0.25


async def test_weekly_report_as_csv_and_xlsx_with_chinese_headings(county):
    import io

    from openpyxl import load_workbook

    text = (await weekly(county, COUNTY, "2026-W47", "csv")).content.decode("utf-8-sig")
    assert text.splitlines()[0] == "【汇总】" and "指标,本周,上周,变化" in text and "【学校】" in text
    assert "城关镇第一初级中学" in text
    r = await weekly(county, COUNTY, "2026-W47", "xlsx")
    assert "attachment" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["汇总", "乡镇", "学校", "在办案件账龄", "责任落实与动态监测"]
    rows = list(book["乡镇"].values)
    assert rows[0][:4] == ("乡镇代码", "乡镇", "在读人数", "辍学人数")
    assert rows[1][:4] == (T1, "城关镇", 11, 1)
    summary_rows = {row[0]: row[1:] for row in book["汇总"].values}
    assert summary_rows["复学"] == (0, 1, -1)


async def test_weekly_problems(county):
    for bad in ("2026-47", "2026-W60"):
        r = await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": bad})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "week", r.text
    r = await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W47", "format": "pdf"})
    assert r.status_code == 422
    r = await county.get("/v1/reports/weekly", params={"org_code": "nowhere", "week": "2026-W47"})
    assert r.status_code == 404


async def ledger(client, name: str, **params):
    r = await client.get(f"/v1/ledgers/{name}", params={"org_code": COUNTY, **params})
    assert r.status_code == 200, r.text
    return r


async def test_the_three_ledgers(county):
    poor = (await ledger(county, "poor-households")).json()
    assert poor["total"] == 1 and poor["items"][0]["name"] == "p1" and poor["items"][0]["flags"] == ["poor_household"]
    assert poor["items"][0]["national_id_masked"] == "4101**********0113"
    unable = (await ledger(county, "unable-to-study")).json()["items"]
    assert [(r["name"], r["status"], r["status_reason"], r["arrangement"]) for r in unable] == [
        ("u1", "home_teaching", "重度残疾", "送教上门")]
    dropouts = {r["name"]: r for r in (await ledger(county, "dropouts")).json()["items"]}
    assert set(dropouts) == {"jD", "jR"}  # jF's false alarm is not a dropout
    jd, jr = dropouts["jD"], dropouts["jR"]
    assert (jd["status"], jd["dropped_on"], jd["dropout_reason"], jd["case_id"], jd["home_visits"]) == (
        "dropped_out", "2026-11-10", "working away", "cD", 2)
    assert jd["first_visit_at"].startswith("2026-11-10T08:00") and jd["returned_at"] is None
    assert (jr["status"], jr["dropped_on"], jr["case_id"], jr["home_visits"], jr["outcome"]) == (
        "enrolled", "2026-10-20", "cR", 1, "returned")
    assert jr["returned_at"].startswith("2026-11-12T08:00")


async def test_ledger_filters_pagination_and_exports(county):
    import io

    from openpyxl import load_workbook

    page = (await ledger(county, "dropouts", limit=1)).json()
    assert (page["total"], len(page["items"]), page["next_offset"]) == (2, 1, 1)
    assert (await ledger(county, "dropouts", status="dropped_out")).json()["total"] == 1
    assert (await ledger(county, "dropouts", school_code=S3)).json()["total"] == 0
    assert (await ledger(county, "poor-households", flag="left_behind")).json()["total"] == 0
    assert (await ledger(county, "poor-households", grade=3)).json()["total"] == 1
    text = (await ledger(county, "dropouts", format="csv", limit=1)).content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("姓名,身份证号,性别") and len(lines) == 3  # an export is every row, not a page
    book = load_workbook(io.BytesIO((await ledger(county, "unable-to-study", format="xlsx")).content))
    rows = list(book.worksheets[0].values)
    assert book.sheetnames == ["不具备学习条件儿童台账"] and rows[1][0] == "u1" and rows[1][-2] == "送教上门"
    r = await county.get("/v1/ledgers/everyone", params={"org_code": COUNTY})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ledger"
    # Every ledger read is audited, filed under the org, so the county's officials see who read it.
    log = (await county.get("/v1/audit", params={"action": "read"}, headers=bearer("county_official", COUNTY))).json()
    assert {(e["route"], e["scope_path"]) for e in log["items"]} == {
        ("/v1/ledgers/{ledger}", "/410000/410100/410122/")}
    assert log["total"] == 7  # the seven successful reads above (the 422 reached no ledger)


async def ranks(client, **params) -> list[tuple]:
    r = await client.get("/v1/reports/rankings", params={"org_code": COUNTY, "date": "2026-11-20", **params})
    assert r.status_code == 200, r.text
    return [(row["code"], row["rank"], row["value"]) for row in r.json()["rows"]]


async def test_rankings_by_rate_and_by_case_handling(county):
    # 年辍学率 of 2026-2027 to 11-20: T1 2 of 15 at the census, S1 2 of 8.
    assert await ranks(county) == [(T2, 1, 0.0), (T1, 2, round(2 / 15, 6))]
    assert await ranks(county, unit="school") == [(S2, 1, 0.0), (S3, 1, 0.0), (S1, 3, 0.25)]
    assert await ranks(county, unit="school", level="primary") == [(S2, 1, 0.0), (S1, None, None), (S3, None, None)]
    # T1: cD visited after 24 h, cR after 48 h, cF never (a false alarm): 36 h; T2 has no case.
    assert await ranks(county, by="time_to_first_visit") == [(T1, 1, 36.0), (T2, None, None)]
    # On 11-09 cD had no visit yet.
    assert await ranks(county, by="time_to_first_visit", date="2026-11-09") == [(T1, 1, 48.0), (T2, None, None)]
    assert await ranks(county, by="time_to_return") == [(T1, 1, 24 * 24.0), (T2, None, None)]
    r = await county.get("/v1/reports/rankings", params={"org_code": COUNTY, "by": "speed"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "by"


async def test_circular_names_no_dropout_classes_and_laggards(county):
    r = await county.get("/v1/reports/circular", params={"org_code": COUNTY, "date": "2026-11-20"})
    c = r.json()
    assert c["classes"] == 3
    assert [(k["class_id"], k["school_code"], k["on_roll"]) for k in c["no_dropout_classes"]] == [
        ("c-s2", S2, 7), ("c-s3", S3, 4)]
    assert {(g["code"], g["level"], g["status"]) for g in c["laggards"]} == {
        (S1, "junior", "off_target"), (T1, "junior", "off_target")}
    # Before jR dropped out (10-20) every class was free of dropouts and nobody lagged.
    early = (await county.get("/v1/reports/circular", params={"org_code": COUNTY, "date": "2026-10-19"})).json()
    assert len(early["no_dropout_classes"]) == 3 and early["laggards"] == []


async def test_a_promotion_gives_the_same_figures_whichever_partition_arrives_first(databases):
    """class.promoted is keyed by class, a child's events by child: in a replay either may come
    first. The grade (and level) on any day must not depend on it."""
    from tests.reporting_fixture import PROVINCE, _enrol, _event, _org, _status

    registry = "baoxue.registry.v1"
    promoted = (registry, _event("baoxue.registry.class.promoted", "c-s2", "2027-07-10T02:00:00", {
        "class_id": "c-s2", "school_code": S2, "name": "六年级(1)班", "grade": 7, "previous_grade": 6,
        "school_year": 2027}))
    orgs = [_org(c) for c in (PROVINCE, "410100", COUNTY, T1, S2)]
    children = [_enrol("a", S2, 6), _enrol("b", S2, 6), _enrol("c", S2, 6, on="2026-09-02"),
                _status("b", "dropped_out", "enrolled", "2027-03-01", "2027-03-01T02:00:00", S2, 6, "illness")]
    results = []
    for name, order in (("in_order", [*orgs, *children, promoted]), ("promotion_first", [*orgs, promoted, *children])):
        async with running("reporting", databases.url(name), "127.0.0.1:1") as client:
            await feed_reporting(client, order)
            before = await summary_of(client, S2, "2027-06-30")
            after = await summary_of(client, S2, "2027-07-11")
            dropouts = (await client.get("/v1/ledgers/dropouts", params={"org_code": S2})).json()["items"]
            results.append((before["levels"], after["levels"], [(r["name"], r["grade"]) for r in dropouts]))
    assert results[0] == results[1]
    before, after, dropouts = results[0]
    assert (before["primary"]["enrolled"], before["primary"]["dropped_out"], before["junior"]["on_roll"]) == (2, 1, 0)
    assert (after["junior"]["enrolled"], after["junior"]["dropped_out"], after["primary"]["on_roll"]) == (2, 1, 0)
    assert dropouts == [("b", 7)]


async def test_a_withdrawn_dual_report_no_longer_waits_for_acknowledgement(county):
    """An unverified report whose case turned out a false alarm is withdrawn (dual_report.withdrawn):
    from then on it is not counted as unacknowledged; before, it was."""
    from shared.envelope import TOPIC_REPORTS
    from tests.reporting_fixture import _event

    await feed_reporting(county, [(TOPIC_REPORTS, _event("baoxue.cases.dual_report.withdrawn", "rD-edu", "2026-11-17T00:00:00", {
        "report_id": "rD-edu", "case_id": "cD", "recipient": "education", "recipient_org_code": COUNTY,
        "issued_at": "2026-11-09T08:00:00+00:00", "unverified": True, "false_alarm_reason": "data_error",
        "withdrawn_at": "2026-11-17T00:00:00+00:00"}))])
    w = (await weekly(county, COUNTY, "2026-W47")).json()
    assert w["totals"]["current"]["unacknowledged_dual_reports"] == 0
    assert w["totals"]["previous"]["unacknowledged_dual_reports"] == 1
