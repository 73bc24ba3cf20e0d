"""The statutory figures of a school year (年辍学率, 在校生巩固率, 九年义务教育巩固率) for the fixture
county with its school-year additions (tests/reporting_fixture/school_years.py), through the real
projection handlers and HTTP on SQLite and PostgreSQL. Every expectation is worked out by hand
from the fixture (README.md, "Statutory rates")."""

from __future__ import annotations

import pytest

from tests.conftest import bearer, running
from tests.factories import feed_reporting, summary_of
from tests.reporting_fixture import CITY, COUNTY, PROVINCE, S1, S2, S3, T1, T2, events
from tests.reporting_fixture.school_years import K2, S4, school_year_events


@pytest.fixture
async def county(databases):
    async with running("reporting", databases.url("reporting"), "127.0.0.1:1") as client:
        await feed_reporting(client, events() + school_year_events())
        yield client


def year(block: dict) -> tuple:
    return tuple(block[k] for k in ("start_roll", "year_dropouts", "transfers_in", "transfers_out", "net_roll"))


async def test_the_school_year_story(county):
    """One load of the county per backend (the suite's time); each part says what it proves."""
    # -- A dropout from last school year is not in this year's numerator.
    # S3 on 09-30: jL (out since 2026-03-10) and w1 (did not come back on 09-01) are both out on
    # the day; only w1 dropped out in 2026-2027. At the census S3 had k1-k3, y1, z1 in school and
    # w1, whose dropout took effect on the census day itself: 6.
    s3 = await summary_of(county, S3, "2026-09-30")
    assert s3["dropped_out"] == 2
    assert year(s3) == (6, 1, 0, 0, 6) and s3["dropout_rate"] == round(1 / 6, 6)
    # jL is 2025-2026's dropout: 1 of the 2 in school at that census (jL, w1).
    last = await summary_of(county, S3, "2026-08-31")
    assert last["school_year"]["name"] == "2025-2026"
    assert year(last) == (2, 1, 0, 0, 2) and last["dropout_rate"] == 0.5


    # -- each child once where they were at the start and joiners where they dropped out.
    # S3 to 11-20: y1 (at S3's census, dropped out at S1 after moving there) is S3's; z1 dropped out
    # twice and counts once; x1 joined on 10-15, is on no census, and counts where it dropped out;
    # w1. jT came in by transfer: 6 + 1 in the base.
    s3 = await summary_of(county, S3, "2026-11-20")
    assert year(s3) == (6, 4, 1, 0, 7)
    assert s3["dropout_rate"] == round(4 / 6, 6) and s3["retention_rate"] == round(3 / 7, 6)
    # S1: its eight and m1 at the census; jR and jD; jT left by transfer. y1 arrived and dropped
    # out here but was S3's at the start: not S1's.
    s1 = await summary_of(county, S1, "2026-11-20")
    assert year(s1) == (9, 2, 0, 1, 8)
    assert s1["dropout_rate"] == round(2 / 9, 6) and s1["retention_rate"] == 0.75
    assert s1["dropped_out"] == 2 and s1["levels"]["junior"]["year_dropouts"] == 2  # on the day: jD, y1


    # -- graduates do not raise retention year after year.
    # S4: a1-a3 graduated in July, b3 dropped out in October. The day's old share puts every
    # graduate in its cohort: (3 on the roll + 3 graduates - 1) / 6. The statutory rate counts
    # the three in school at the census: (3 - 1) / 3, and 2025-2026's class of graduates was
    # retained in its own year (6 of 6), not again in this one.
    s4 = await summary_of(county, S4, "2026-11-20")
    assert s4["day_retention_share"] == round(5 / 6, 6)
    assert year(s4) == (3, 1, 0, 0, 3) and s4["retention_rate"] == round(2 / 3, 6)
    last = await summary_of(county, S4, "2026-08-31")
    assert year(last) == (6, 0, 0, 0, 6) and last["retention_rate"] == 1


    # -- a child who moved from primary to junior middle counts once at county level.
    # m1p graduated from S2's grade 6 in July; as m1 the child is in S1's grade 7 from 09-01. The
    # day's cohort at county level holds them twice (m1 on the roll, m1p graduated); each school
    # year's census holds them once: junior in 2026-2027, primary in 2025-2026.
    k = await summary_of(county, COUNTY, "2026-11-20")
    junior, primary = k["levels"]["junior"], k["levels"]["primary"]
    # On the roll on the day: the 18 of the fixture, jL, w1, m1, x1, y1, z1, b1-b3.
    assert (k["on_roll"], k["graduated"]) == (27, 5)
    assert (junior["start_roll"], primary["start_roll"], k["start_roll"]) == (18, 7, 25)
    # County junior: S1 9 + S3 6 + S4 3 at the census; jR, jD, y1, z1, w1, x1, b3 this year; the
    # moves (jT, y1) stay inside the county.
    assert year(junior) == (18, 7, 0, 0, 18)
    assert junior["dropout_rate"] == round(7 / 18, 6) and junior["retention_rate"] == round(11 / 18, 6)
    assert k["dropout_rate"] == 0.28 and k["retention_rate"] == 0.72
    last = await summary_of(county, COUNTY, "2026-08-31")
    # 2025-2026: m1p in primary; jG, jL, w1, a1-a3, b1-b3 in junior; jL dropped out.
    assert (last["levels"]["primary"]["start_roll"], last["levels"]["junior"]["start_roll"]) == (1, 9)
    assert last["levels"]["junior"]["year_dropouts"] == 1
    s2 = await summary_of(county, S2, "2026-11-20")
    assert s2["start_roll"] == 7  # p1-p6, u1: m1p is no longer S2's


    # -- nine year retention is null where the records do not reach the cohorts entry.
    k = await summary_of(county, COUNTY, "2026-11-20")
    nine = k["nine_year_retention"]
    # The class graduating in 2026-2027 entered grade 1 in 2018-2019; the earliest record under
    # the county is jG's, from 2023-09-01.
    assert (nine["value"], nine["graduates"], nine["entrants"], nine["cohort_entered"]) == (None, None, None, "2018-2019")
    assert "2018-09-01" in nine["reason"] and "2023-09-01" in nine["reason"]


async def test_the_weekly_report_and_rankings_carry_the_statutory_rates(county):
    r = await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W47"})
    w = r.json()
    assert year(w["totals"]["current"]["levels"]["junior"]) == (18, 7, 0, 0, 18)
    townships = {t["code"]: t["current"] for t in w["townships"]}
    # T2 = S3 + S4: 9 at the census, 5 dropouts, jT in: 5/9 and (10 - 5)/10.
    assert year(townships[T2]) == (9, 5, 1, 0, 10)
    assert townships[T2]["dropout_rate"] == round(5 / 9, 6) and townships[T2]["retention_rate"] == 0.5
    # On W46's Friday (11-13) every one of the seven had dropped out already.
    assert w["totals"]["previous"]["year_dropouts"] == 7 and w["totals"]["change"]["dropout_rate"] == 0
    r = await county.get("/v1/reports/rankings", params={"org_code": COUNTY, "unit": "school", "date": "2026-11-20"})
    rows = {row["code"]: (row["value"], row["start_roll"], row["year_dropouts"]) for row in r.json()["rows"]}
    assert rows == {S2: (0.0, 7, 0), S1: (round(2 / 9, 6), 9, 2), S4: (round(1 / 3, 6), 3, 1),
                    S3: (round(4 / 6, 6), 6, 4)}


async def put_targets(client, org: str, body: dict, who=("county_official", COUNTY)):
    return await client.put(f"/v1/targets/{org}", json=body, headers=bearer(*who))


async def test_each_org_is_judged_against_its_own_targets(county):
    # Seed 002's school: 年辍学率 under 3 %, 在校生巩固率 at least 97 %; the county sets that for
    # itself, and S4 (1 of 3 lost this year: 0.333333; retention 2/3) a target of its own.
    r = await put_targets(county, COUNTY, {"junior_dropout_max": 0.03, "retention_min": 0.97})
    assert r.status_code == 200, r.text
    assert r.json()["own"] == {"junior_dropout_max": 0.03, "primary_dropout_max": None, "retention_min": 0.97}
    assert r.json()["sources"] == {"junior_dropout_max": COUNTY, "primary_dropout_max": "default",
                                   "retention_min": COUNTY}
    # 0.333333 misses 0.33 by 0.33 points, inside the half-point margin: at risk.
    assert (await put_targets(county, S4, {"junior_dropout_max": 0.33, "retention_min": 0.6})).status_code == 200
    s4 = await summary_of(county, S4, "2026-11-20")
    assert s4["status"] == "at_risk" and s4["target_sources"]["junior_dropout_max"] == S4
    # Replacing them: on target against its own, where the county's would have it off target.
    assert (await put_targets(county, S4, {"junior_dropout_max": 0.35, "retention_min": 0.6})).status_code == 200
    s4 = await summary_of(county, S4, "2026-11-20")
    assert (s4["status"], s4["targets"]["junior_dropout_max"], s4["targets"]["retention_min"]) == ("on_target", 0.35, 0.6)
    # S3 has none of its own: the county's (junior 3 %, 97 %), primary from the settings (0).
    got = (await county.get(f"/v1/targets/{S3}", headers=bearer("school_staff", S3))).json()
    assert got["own"] == {"junior_dropout_max": None, "primary_dropout_max": None, "retention_min": None}
    assert (got["effective"]["junior_dropout_max"], got["effective"]["primary_dropout_max"]) == (0.03, 0.0)
    assert got["sources"]["retention_min"] == COUNTY and got["set_at"] is None
    # The reports judge each unit against its own: S4 is no laggard in the circular or the week.
    c = (await county.get("/v1/reports/circular", params={"org_code": COUNTY, "date": "2026-11-20"})).json()
    assert {(g["code"], g["status"]) for g in c["laggards"]} == {
        (S1, "off_target"), (S3, "off_target"), (T1, "off_target"), (T2, "off_target")}
    w = (await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W47"})).json()
    assert {s["code"]: s["current"]["status"] for s in w["schools"]}[S4] == "on_target"

    # Who may set them: county, city and province officials, for their org and what lies under it.
    assert (await put_targets(county, S4, {"retention_min": 0.9}, ("township_official", T2))).status_code == 403
    assert (await put_targets(county, S4, {"retention_min": 0.9}, ("school_staff", S4))).status_code == 403
    assert (await put_targets(county, S4, {"retention_min": 0.9}, ("county_official", K2))).status_code == 404
    assert (await put_targets(county, COUNTY, {"retention_min": 0.9}, ("city_official", CITY))).status_code == 200
    for bad, field in (({"retention_min": 1.5}, "retention_min"), ({"dropout": 0.1}, "dropout")):
        r = await put_targets(county, S4, bad)
        assert r.status_code == 422 and field in r.text, r.text


async def test_the_citys_view_of_its_counties(county):
    # 郑州 (CITY) has 中牟 (28 % of 25 at the census lost this year: off target) and 新郑 (3 in
    # school, none lost: on target).
    params = {"org_code": CITY, "unit": "county", "date": "2026-11-20"}
    ranked = (await county.get("/v1/reports/rankings", params=params)).json()["rows"]
    assert [(r["code"], r["rank"], r["value"], r["start_roll"]) for r in ranked] == [
        (K2, 1, 0.0, 3), (COUNTY, 2, 0.28, 25)]
    # The province ranks its cities: 郑州 is 7 of 28 at the census.
    cities = (await county.get("/v1/reports/rankings", params={**params, "org_code": PROVINCE, "unit": "city"})).json()
    assert [(r["code"], r["value"], r["status"]) for r in cities["rows"]] == [(CITY, 0.25, "off_target")]
    # The city's circular names the lagging county (and its townships and schools), the county first.
    c = (await county.get("/v1/reports/circular", params={"org_code": CITY, "date": "2026-11-20"})).json()
    named = [(g["kind"], g["code"]) for g in c["laggards"] if g["kind"] == "county"]
    assert named == [("county", COUNTY)] and K2 not in {g["code"] for g in c["laggards"]}
    # The city's weekly report: a row per county, and the counties that lag (seed 000:
    # 市教体局对实施情况进行通报，对措施不力工作滞后的县(区)进行重点督促).
    w = (await county.get("/v1/reports/weekly", params={"org_code": CITY, "week": "2026-W47"})).json()
    rows = {r["code"]: r["current"] for r in w["counties"]}
    assert set(rows) == {COUNTY, K2}
    assert (rows[COUNTY]["start_roll"], rows[COUNTY]["year_dropouts"], rows[COUNTY]["status"]) == (25, 7, "off_target")
    assert (rows[K2]["start_roll"], rows[K2]["year_dropouts"], rows[K2]["status"]) == (3, 0, "on_target")
    assert [(r["code"], r["status"], r["levels"]) for r in w["lagging_counties"]] == [
        (COUNTY, "off_target", ["junior"])]
    # A county's own report has no county rows.
    own = (await county.get("/v1/reports/weekly", params={"org_code": COUNTY, "week": "2026-W47"})).json()
    assert own["counties"] == [] and own["lagging_counties"] == []
    import io

    from openpyxl import load_workbook
    xlsx = await county.get("/v1/reports/weekly", params={"org_code": CITY, "week": "2026-W47", "format": "xlsx"})
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames[:3] == ["汇总", "县区", "工作滞后县区"]
    assert list(book["工作滞后县区"].values)[1][:3] == (COUNTY, "中牟县", "off_target")
