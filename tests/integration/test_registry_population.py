"""The population cross-check (排查比对) over HTTP on a real database: which records account for a
child. A June graduate of grade 9 has done their duty; a primary graduate owes junior middle (小升初)
from the next school year on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.clock import FixedClock
from tests.conftest import bearer, running
from tests.factories import org_tree, student_body

NO_BROKER = "127.0.0.1:1"
JUNIOR, PRIMARY, FIVE_FOUR = "4101221001", "4101221002", "4101221003"
COUNTY = bearer("county_official", "410122")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T02:00:00").replace(tzinfo=UTC)


@pytest.fixture
async def registry(databases):
    clock = FixedClock(at("2026-06-20"))
    async with running("registry", databases.url("registry"), NO_BROKER, clock=clock,
                       writes_per_minute=100_000) as client:
        client.clock = clock
        for org in [*org_tree(school=JUNIOR), {"code": PRIMARY, "name": "城关镇中心小学", "kind": "school",
                                                "parent_code": "410122100"},
                    {"code": FIVE_FOUR, "name": "城关镇五四制小学", "kind": "school", "parent_code": "410122100",
                     "system": "5+4"}]:
            assert (await client.post("/v1/orgs", json=org)).status_code in (201, 409)
        yield client


async def klass(client, school: str, grade: int, name: str, school_year: int | None = None) -> dict:
    r = await client.post(f"/v1/schools/{school}/classes",
                          json={"grade": grade, "name": name, **({"school_year": school_year} if school_year else {})})
    assert r.status_code == 201, r.text
    return r.json()


async def enrol(client, k: dict, born: date, seq: int) -> dict:
    body = student_body(k, born=born, seq=seq, enrolled_on="2025-09-01")
    r = await client.post("/v1/students", json=body)
    assert r.status_code == 201, r.text
    return body


async def check(client, people: list[dict], as_of: str) -> tuple[dict, list[dict]]:
    lines = ["身份证号,姓名,出生日期,住址"] + [f"{p['national_id']},{p['name']},{p['birth_date']},城关镇" for p in people]
    r = await client.post("/v1/population-checks", headers=COUNTY, data={"region_code": "410122", "as_of": as_of},
                          files={"file": ("户籍.csv", "\n".join(lines).encode())})
    assert r.status_code == 201, r.text
    findings = await client.get(f"/v1/population-checks/{r.json()['id']}/findings", headers=COUNTY,
                                params={"kind": "suspected_out_of_school"})
    return r.json(), findings.json()["items"]


async def test_graduates_of_grade_9_are_accounted_for_and_primary_leavers_owe_junior_middle(registry):
    grade9 = await klass(registry, JUNIOR, 9, "九年级(1)班")
    # A whole graduating cohort: 15 on 31 August 2026, the youngest and the oldest of the year.
    cohort = [await enrol(registry, grade9, born, 101 + 2 * i)
              for i, born in enumerate([date(2010, 9, 1), date(2011, 1, 15), date(2011, 8, 31)])]
    grade6 = await klass(registry, PRIMARY, 6, "六年级(1)班")
    went_on = await enrol(registry, grade6, date(2014, 3, 1), 201)
    never_came = await enrol(registry, grade6, date(2014, 5, 1), 203)
    # A five-four primary school graduates grade 5: that child owes junior middle just the same.
    grade5 = await klass(registry, FIVE_FOUR, 5, "五年级(1)班")
    five_four = await enrol(registry, grade5, date(2015, 2, 1), 205)

    registry.clock.set(at("2026-07-01"))
    for school in (JUNIOR, PRIMARY, FIVE_FOUR):
        r = await registry.post(f"/v1/schools/{school}/promotions", json={"school_year": 2025,
                                                                         "effective_on": "2026-06-30"})
        assert r.status_code == 201 and r.json()["graduated_students"] > 0, r.text
    grade7 = await klass(registry, JUNIOR, 7, "七年级(1)班", school_year=2026)
    r = await registry.post("/v1/students", json={**went_on, "school_code": JUNIOR, "class_id": grade7["id"],
                                                  "enrolled_on": "2026-07-01"})
    assert r.status_code == 201, r.text

    everyone = [*cohort, went_on, never_came, five_four]
    # Still summer: the primary graduate has until the school year starts.
    registry.clock.set(at("2026-08-20"))
    summary, suspects = await check(registry, everyone, "2026-08-20")
    assert (summary["school_age"], summary["suspected"]) == (6, 0), suspects

    # Autumn: the grade-9 cohort (15 on 31 August) is still not suspected; the primary leaver
    # with no junior-middle record is, and says why.
    registry.clock.set(at("2026-09-15"))
    summary, suspects = await check(registry, everyone, "2026-09-15")
    assert (summary["school_age"], summary["suspected"]) == (6, 2), suspects
    assert sorted((s["national_id"], s["reason"]) for s in suspects) == sorted(
        [(never_came["national_id"], "no_junior_middle_record"), (five_four["national_id"], "no_junior_middle_record")])


async def test_a_dropped_out_record_and_no_record_are_suspects_with_their_reason(registry):
    grade8 = await klass(registry, JUNIOR, 8, "八年级(1)班")
    left = await enrol(registry, grade8, date(2012, 4, 1), 301)
    sid = (await registry.get("/v1/students", params={"class_id": grade8["id"]})).json()["items"][0]["id"]
    r = await registry.post(f"/v1/students/{sid}/status-changes",
                            json={"status": "dropped_out", "effective_on": "2026-06-19", "reason": "went to work"})
    assert r.status_code == 201, r.text
    nobody = {**left, "national_id": student_body(grade8, born=date(2013, 2, 1), seq=303)["national_id"],
              "birth_date": "2013-02-01"}
    # An attending child past the age, enrolled without an ID: listed, known by the record.
    old = {k: v for k, v in student_body(grade8, born=date(2009, 5, 1), seq=305).items() if k != "national_id"}
    r = await registry.post("/v1/students", json={**old, "no_id_reason": "外籍", "enrolled_on": "2025-09-01"})
    assert r.status_code == 201, r.text
    summary, suspects = await check(registry, [left, nobody], "2026-06-20")
    assert sorted((s["national_id"], s["reason"]) for s in suspects) == sorted(
        [(left["national_id"], "dropped_out"), (nobody["national_id"], "no_record")])
    outside = (await registry.get(f"/v1/population-checks/{summary['id']}/findings", headers=COUNTY,
                                  params={"kind": "outside_compulsory_age"})).json()["items"]
    assert [(f["student_id"], f["national_id"]) for f in outside] == [(r.json()["id"], None)]
