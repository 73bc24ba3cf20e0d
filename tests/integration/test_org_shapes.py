"""Every real shape of the org tree, and the school systems, through the four services.

The registry accepts each shape; attendance's 48-hour rule opens a case in cases, whose two dual
reports go to the areas the kinds above the school name (never a depth); reporting rolls the
child up at the level the school's system gives; every official sees what lies under their org
and nothing else. All shapes share one set of running services (one start, real broker, real
SQL on each backend) to keep the suite fast; each assertion names its shape.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from registry.domain.national_id import compose
from tests.conftest import bearer, running
from tests.kafka_helpers import eventually

NO_BROKER = "127.0.0.1:1"
_seq = itertools.count(101, 2)  # odd: male


@dataclass(frozen=True)
class Shape:
    name: str
    orgs: tuple[tuple[str, str, str, str | None], ...]  # (code, name, kind, parent), province first
    system: str
    grade: int
    level: str
    government: str  # the reporting area: its two offices receive the dual reports
    education: str   # the county-level area
    official: tuple[str, str]  # (role, org) of the county-level official who sees and acknowledges

    @property
    def school(self) -> str:
        return self.orgs[-1][0]

    @property
    def township(self) -> str | None:
        return next((c for c, _, k, _ in self.orgs if k == "township"), None)


HENAN = ("410000", "河南省", "province", None)
ZHENGZHOU = ("410100", "郑州市", "city", "410000")
ZHONGMOU = ("410122", "中牟县", "county", "410100")
SHANGHAI = ("310000", "上海市", "province", None)
GUANGDONG = ("440000", "广东省", "province", None)
DONGGUAN = ("441900", "东莞市", "city", "440000")

SHAPES = [
    # 省直辖县级行政单位: 济源 sits directly under 河南省, with its towns under it.
    Shape("county-level unit under a province", (
        HENAN, ("419001", "济源市", "county", "410000"), ("419001100", "沁园街道", "township", "419001"),
        ("4190011001", "沁园中学", "school", "419001100")),
        "6+3", 7, "junior", "419001100", "419001", ("county_official", "419001")),
    # A municipality is province-level: 浦东新区 directly under 上海市, a five-four school in it,
    # whose grade 6 is junior middle (预备年级).
    Shape("district under a municipality", (
        SHANGHAI, ("310115", "浦东新区", "county", "310000"), ("310115101", "潍坊新村街道", "township", "310115"),
        ("3101151001", "潍坊中学", "school", "310115101")),
        "5+4", 6, "junior", "310115101", "310115", ("county_official", "310115")),
    # 东莞 has no counties: a town directly under the city, and a school directly under the city.
    Shape("town under a city with no counties", (
        GUANGDONG, DONGGUAN, ("441900121", "虎门镇", "township", "441900"),
        ("4419001211", "虎门镇中心小学", "school", "441900121")),
        "6+3", 4, "primary", "441900121", "441900", ("city_official", "441900")),
    Shape("school directly under a city with no counties", (
        GUANGDONG, DONGGUAN, ("4419000001", "东莞市第一中学", "school", "441900")),
        "nine_year", 6, "primary", "441900", "441900", ("city_official", "441900")),
    # Schools run by a county, a city (市直) and a province (省直).
    Shape("county-run school", (HENAN, ZHENGZHOU, ZHONGMOU, ("4101220001", "中牟县实验学校", "school", "410122")),
          "6+3", 8, "junior", "410122", "410122", ("county_official", "410122")),
    Shape("city-run school", (HENAN, ZHENGZHOU, ("4101000001", "郑州市第一中学", "school", "410100")),
          "6+3", 9, "junior", "410100", "410100", ("city_official", "410100")),
    Shape("province-run school", (HENAN, ("4100000001", "河南省实验中学", "school", "410000")),
          "5+4", 5, "primary", "410000", "410000", ("province_official", "410000")),
]


def ok(resp, status: int = 200) -> dict:
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json()


async def register(registry, shape: Shape) -> dict:
    """The shape's orgs (a province by its own officials), a class and one child, a poor household."""
    province = bearer("province_official", shape.orgs[0][0])
    for code, name, kind, parent in shape.orgs:
        body = {"code": code, "name": name, "kind": kind, "parent_code": parent}
        if kind == "school":
            body["system"] = shape.system
        r = await registry.post("/v1/orgs", json=body, headers=province)
        assert r.status_code in (201, 409), f"{shape.name}: {code}: {r.text}"
    school = ok(await registry.get(f"/v1/orgs/{shape.school}"))
    assert (school["system"], school["path"]) == (shape.system, [o[0] for o in shape.orgs]), shape.name
    klass = ok(await registry.post(f"/v1/schools/{shape.school}/classes", headers=province,
                                   json={"grade": shape.grade, "name": f"{shape.grade}年级(1)班"}), 201)
    seq, born = next(_seq), date(2026 - 6 - shape.grade, 3, 1)
    student = ok(await registry.post("/v1/students", headers=province, json={
        "national_id": compose("410122", born, seq), "name": "张小军", "gender": "male", "birth_date": born.isoformat(),
        "school_code": shape.school, "class_id": klass["id"], "flags": ["poor_household"]}), 201)
    return {"class_id": klass["id"], "student_id": student["id"]}


async def test_every_shape_is_accepted_routed_scoped_and_rolled_up(databases, broker):
    bootstrap = broker.bootstrap
    async with running("registry", databases.url("registry"), bootstrap) as registry, \
            running("attendance", databases.url("attendance"), bootstrap, detector_interval_s=0.2,
                    absence_counting="wall_clock") as attendance, \
            running("cases", databases.url("cases"), bootstrap, verify_deadline_hours=0.0003,
                    escalation_interval_s=0.2) as cases, \
            running("reporting", databases.url("reporting"), bootstrap) as reporting:
        placed = {s.name: await register(registry, s) for s in SHAPES}

        # Absent three whole days without leave (wall-clock counting: whatever weekday this runs).
        today = date.today()
        for shape in SHAPES:
            p = placed[shape.name]
            province = bearer("province_official", shape.orgs[0][0])
            await eventually(lambda: _known(attendance, p["student_id"], province), timeout=30)
            for back in (3, 2, 1):
                for session in ("am", "pm"):
                    ok(await attendance.post("/v1/roll-calls", headers=province, json={
                        "school_code": shape.school, "class_id": p["class_id"],
                        "date": (today - timedelta(days=back)).isoformat(), "session": session,
                        "marks": [{"student_id": p["student_id"], "status": "absent"}]}))

        for shape in SHAPES:
            p = placed[shape.name]
            official = bearer(*shape.official)
            # Nobody checks these cases: at the (short) verification deadline the two reports go,
            # unverified, to the two offices of the reporting area, by kind: the nearest township,
            # else the nearest county-level area (<area>-GOV and <area>-EDU until it names its own).
            # (Unconfirmed, so the registry keeps the child enrolled, as the figures below expect.)
            case = await eventually(lambda: _case(cases, p["student_id"], official), timeout=30)
            assert {(r["recipient"], r["recipient_org_code"], r["unverified"]) for r in case["reports"]} == {
                ("government", f"{shape.government}-GOV", True),
                ("education", f"{shape.government}-EDU", True)}, shape.name
            assert case["responsibility"]["county_official"] == {"org_code": shape.education}, shape.name

            # Scope: the county-level official sees the child and the case in every service and
            # acknowledges the education report for the office of their area (or the township below).
            students = ok(await registry.get("/v1/students", params={"school_code": shape.school}, headers=official))
            assert [s["id"] for s in students["items"]] == [p["student_id"]], shape.name
            ok(await attendance.get(f"/v1/students/{p['student_id']}/absence", headers=official))
            ok(await cases.get(f"/v1/cases/{case['id']}", headers=official))
            acked = ok(await cases.post(f"/v1/cases/{case['id']}/reports/education/ack", headers=official))
            assert acked["acknowledged_at"], shape.name
            # An official of another shape's area sees none of it.
            stranger = bearer(*next(s.official for s in SHAPES if s.official[1] not in [o[0] for o in shape.orgs]))
            assert (await cases.get(f"/v1/cases/{case['id']}", headers=stranger)).status_code == 404, shape.name
            assert (await registry.get(f"/v1/students/{p['student_id']}", headers=stranger)).status_code == 404

            # Reporting: the child at the level the school's system gives, and rolled up into
            # every area above the school, whatever its kind: each area counts exactly the shapes
            # whose path passes through it.
            school = await eventually(lambda: _summary_with_case(reporting, shape.school, official), timeout=30)
            assert (school["levels"][shape.level]["enrolled"], school["levels"][shape.level]["open_cases"]) == (1, 1), \
                (shape.name, school["levels"])
            assert list(school["systems"]) == [shape.system], shape.name
            for code, *_ in shape.orgs[:-1]:
                under = [s for s in SHAPES if code in [o[0] for o in s.orgs]]
                # Once reporting has read every shape's enrolment (they arrive in any order).
                area = await eventually(lambda: _area_with(reporting, code, shape.orgs[0][0], len(under)), timeout=30)
                assert area["enrolled"] == len(under), (shape.name, code)
                assert area["levels"][shape.level]["enrolled"] == sum(s.level == shape.level for s in under), \
                    (shape.name, code)
                assert area["systems"][shape.system]["enrolled"] == sum(s.system == shape.system for s in under)

            week = f"{today.isocalendar().year}-W{today.isocalendar().week:02d}"
            weekly = ok(await reporting.get("/v1/reports/weekly", params={"org_code": shape.education, "week": week},
                                            headers=official))
            row = next(r for r in weekly["schools"] if r["code"] == shape.school)
            assert row["township_code"] == shape.township, shape.name
            assert row["current"]["levels"][shape.level]["open_cases"] == 1, shape.name
            if shape.township:
                assert shape.township in [t["code"] for t in weekly["townships"]], shape.name
            ranked = ok(await reporting.get("/v1/reports/rankings", params={
                "org_code": shape.education, "unit": "school", "level": shape.level}, headers=official))
            # The 年辍学率 is over the school year's census: a child enrolled today is on it only
            # if today is the census day (1 September); otherwise the school has nobody to rate.
            census = date(today.year if (today.month, today.day) >= (9, 1) else today.year - 1, 9, 1)
            rate = 0.0 if today == census else None
            assert {"code": shape.school, "value": rate, "enrolled": 1} in [
                {k: r[k] for k in ("code", "value", "enrolled")} for r in ranked["rows"]], shape.name
            ledger = ok(await reporting.get("/v1/ledgers/poor-households", params={"org_code": shape.education},
                                            headers=official))
            assert p["student_id"] in [r["student_id"] for r in ledger["items"]], shape.name

        # Rankings by kind: 济源, directly under the province, ranks among 河南's counties with
        # 中牟; 东莞 among 广东's cities; the schools of a city or the province are in no county.
        henan = bearer("province_official", "410000")
        counties = ok(await reporting.get("/v1/reports/rankings", params={"org_code": "410000", "unit": "county"},
                                          headers=henan))
        assert sorted((r["code"], r["enrolled"]) for r in counties["rows"]) == [("410122", 1), ("419001", 1)]
        cities = ok(await reporting.get("/v1/reports/rankings", params={"org_code": "440000", "unit": "city"},
                                        headers=bearer("province_official", "440000")))
        assert [(r["code"], r["enrolled"]) for r in cities["rows"]] == [("441900", 2)]

        # 东莞's weekly page has a row for its town and one for the school it runs directly.
        week = f"{today.isocalendar().year}-W{today.isocalendar().week:02d}"
        page = await reporting.get(f"/v1/reports/weekly/441900/{week}.html", headers=bearer("city_official", "441900"))
        assert page.status_code == 200 and "虎门镇" in page.text and "东莞市第一中学（直属）" in page.text

        # A school's system corrected (浦东's school was six-three after all): org.registered is
        # sent again and reporting counts its grade 6 as primary, on every day.
        pudong = next(s for s in SHAPES if s.system == "5+4" and s.grade == 6)
        official = bearer(*pudong.official)
        ok(await registry.patch(f"/v1/orgs/{pudong.school}", json={"system": "6+3"}, headers=official))

        async def recounted():
            r = ok(await reporting.get("/v1/reports/summary", params={"org_code": pudong.school}, headers=official))
            return r if r["levels"]["primary"]["enrolled"] == 1 else None

        fixed = await eventually(recounted, timeout=30)
        assert (fixed["levels"]["junior"]["enrolled"], fixed["levels"]["primary"]["open_cases"]) == (0, 1)
        assert list(fixed["systems"]) == ["6+3"]


async def _known(attendance, student_id: str, headers) -> bool:
    return (await attendance.get(f"/v1/students/{student_id}/absence", headers=headers)).status_code == 200


async def _area_with(reporting, code: str, province: str, enrolled: int) -> dict | None:
    area = ok(await reporting.get("/v1/reports/summary", params={"org_code": code},
                                  headers=bearer("province_official", province)))
    return area if area["enrolled"] == enrolled else None


async def _case(cases, student_id: str, headers) -> dict | None:
    page = (await cases.get("/v1/cases", params={"student_id": student_id}, headers=headers)).json()
    if not page.get("total"):
        return None
    case = (await cases.get(f"/v1/cases/{page['items'][0]['id']}", headers=headers)).json()
    return case if len(case["reports"]) == 2 else None


async def _summary_with_case(reporting, org_code: str, headers) -> dict | None:
    r = await reporting.get("/v1/reports/summary", params={"org_code": org_code}, headers=headers)
    return r.json() if r.status_code == 200 and r.json()["open_cases"] == 1 else None


# --- the registry alone: shapes refused, systems, reorganisation, promotion ------------------

@pytest.fixture
async def registry(databases):
    async with running("registry", databases.url("registry"), NO_BROKER) as client:
        yield client


def _problem(resp, status: int, pointer: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    if pointer:
        assert [e["pointer"] for e in body["errors"]] == [pointer], body
    return body


async def test_impossible_shapes_and_systems_are_refused_naming_the_field(registry):
    for code, name, kind, parent in (HENAN, ZHENGZHOU):
        ok(await registry.post("/v1/orgs", json={"code": code, "name": name, "kind": kind, "parent_code": parent}), 201)
    _problem(await registry.post("/v1/orgs", json={"code": "410000100", "name": "某镇", "kind": "township",
                                                   "parent_code": "410000"}), 422, "/parent_code")
    _problem(await registry.post("/v1/orgs", json={"code": "410122", "name": "中牟县", "kind": "county",
                                                   "parent_code": "410100", "system": "5+4"}), 422, "/system")
    _problem(await registry.post("/v1/orgs", json={"code": "S9", "name": "x", "kind": "school", "parent_code": "410100",
                                                   "system": "7+2"}), 422, "/system")
    _problem(await registry.get("/v1/orgs/410122"), 404)  # nothing half-written
    # A school registered without a system is six-three.
    school = ok(await registry.post("/v1/orgs", json={"code": "S1", "name": "市一中", "kind": "school",
                                                      "parent_code": "410100"}), 201)
    assert school["system"] == "6+3"


async def test_a_system_is_corrected_and_a_move_under_another_parent_is_refused(registry):
    for code, name, kind, parent in (HENAN, ZHENGZHOU, ZHONGMOU, ("410108", "惠济区", "county", "410100")):
        ok(await registry.post("/v1/orgs", json={"code": code, "name": name, "kind": kind, "parent_code": parent}), 201)
    ok(await registry.post("/v1/orgs", json={"code": "S1", "name": "一中", "kind": "school", "parent_code": "410122"}),
       201)
    county = bearer("county_official", "410122")
    fixed = ok(await registry.patch("/v1/orgs/S1", json={"system": "5+4", "name": "中牟一中"}, headers=county))
    assert (fixed["system"], fixed["name"], fixed["parent_code"]) == ("5+4", "中牟一中", "410122")
    # 行政区划调整: neither PATCH nor a second POST moves an org; nothing changes.
    moved = _problem(await registry.patch("/v1/orgs/S1", json={"parent_code": "410108"}), 409, "/parent_code")
    assert moved["type"].endswith("reorganisation-not-supported") and "transfer" in moved["detail"]
    _problem(await registry.post("/v1/orgs", json={"code": "410122", "name": "中牟县", "kind": "county",
                                                   "parent_code": "410000"}), 409, "/parent_code")
    assert ok(await registry.get("/v1/orgs/S1"))["path"] == ["410000", "410100", "410122", "S1"]
    ok(await registry.patch("/v1/orgs/S1", json={"parent_code": "410122"}))  # unchanged: fine
    _problem(await registry.patch("/v1/orgs/410122", json={"system": "5+4"}), 422, "/system")
    _problem(await registry.patch("/v1/orgs/S1", json={"system": None}), 422, "/system")
    _problem(await registry.patch("/v1/orgs/S1", json={"kind": "county"}), 422)
    # A county official changes what lies below the county, not the county itself or a neighbour.
    _problem(await registry.patch("/v1/orgs/410122", json={"name": "x"}, headers=county), 404)
    _problem(await registry.patch("/v1/orgs/410108", json={"name": "x"}, headers=county), 404)


@pytest.mark.parametrize("system, grades, graduated, moved_up", [
    ("5+4", (1, 5), {5}, {1: 2}),              # a five-four primary school graduates grade 5
    ("6+3", (1, 5), set(), {1: 2, 5: 6}),      # a six-three primary school keeps its grade 5
    ("6+3", (5, 6), {6}, {5: 6}),
    ("nine_year", (6, 9), {9}, {6: 7}),        # the stage change inside a nine-year school
    ("5+4", (5, 6, 9), {9}, {5: 6, 6: 7}),     # a five-four school with both stages
])
async def test_year_end_follows_the_school_system(registry, system, grades, graduated, moved_up):
    for code, name, kind, parent in (HENAN, ZHENGZHOU, ZHONGMOU):
        ok(await registry.post("/v1/orgs", json={"code": code, "name": name, "kind": kind, "parent_code": parent}), 201)
    ok(await registry.post("/v1/orgs", json={"code": "S1", "name": "学校", "kind": "school", "parent_code": "410122",
                                             "system": system}), 201)
    children = {}
    for grade in grades:
        klass = ok(await registry.post("/v1/schools/S1/classes", json={
            "grade": grade, "name": f"{grade}班", "school_year": 2026}), 201)
        born = date(2026 - 6 - grade, 3, 1)
        children[grade] = ok(await registry.post("/v1/students", json={
            "national_id": compose("410122", born, next(_seq)), "name": "学生", "gender": "male",
            "birth_date": born.isoformat(), "school_code": "S1", "class_id": klass["id"]}), 201)["id"]
    result = ok(await registry.post("/v1/schools/S1/promotions", json={"school_year": 2026}), 201)
    assert result["graduated_students"] == len(graduated)
    for grade, student_id in children.items():
        record = ok(await registry.get(f"/v1/students/{student_id}"))
        if grade in graduated:
            assert record["status"] == "graduated", (system, grade)
        else:
            assert (record["status"], record["grade"]) == ("enrolled", moved_up[grade]), (system, grade)
