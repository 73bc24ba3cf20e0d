"""The walking skeleton's story, step by step over the public HTTP APIs only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from registry.domain.national_id import compose
from tests.conftest import bearer
from tests.factories import CITY, COUNTY, PROVINCE, SCHOOL, TOWNSHIP, ok
from tests.kafka_helpers import eventually

GUARDIAN_PHONE = "13800000000"


@dataclass(frozen=True)
class Place:
    """Where the story's school sits: its orgs province first, (code, name, kind, parent)."""
    orgs: tuple[tuple[str, str, str, str | None], ...]

    @property
    def school(self) -> str:
        return self.orgs[-1][0]

    @property
    def province(self) -> str:
        return self.orgs[0][0]


# A junior middle school of a township of a county of a city: the tidy tree.
ZHONGMOU = Place(((PROVINCE, "河南省", "province", None), (CITY, "郑州市", "city", PROVINCE),
                  (COUNTY, "中牟县", "county", CITY), (TOWNSHIP, "城关镇", "township", COUNTY),
                  (SCHOOL, "城关镇第一初级中学", "school", TOWNSHIP)))
# The most unusual shape: a school directly under a prefecture city that has no counties.
DONGGUAN, DONGGUAN_SCHOOL = "441900", "4419000001"
DONGGUAN_CITY_SCHOOL = Place((("440000", "广东省", "province", None), (DONGGUAN, "东莞市", "city", "440000"),
                              (DONGGUAN_SCHOOL, "东莞市第一中学", "school", DONGGUAN)))


@dataclass
class School:
    class_id: str
    absent_student: str
    present_student: str
    national_ids: tuple[str, ...] = ()
    code: str = SCHOOL


async def register_school_and_students(registry: httpx.AsyncClient, place: Place = ZHONGMOU) -> School:
    """The place's orgs (by an official of its province), a grade 7 class and two children."""
    admin = bearer("province_official", place.province)
    for code, name, kind, parent in place.orgs:
        ok(await registry.post("/v1/orgs", headers=admin,
                               json={"code": code, "name": name, "kind": kind, "parent_code": parent}), 201)
    klass = ok(await registry.post(f"/v1/schools/{place.school}/classes", headers=admin,
                                   json={"grade": 7, "name": "七年级(1)班"}), 201)
    ids, nids = [], []
    for seq, (name, gender) in enumerate([("王小明", "male"), ("李小红", "female")]):
        born = date(2013, 4, 1 + seq)
        nid = compose("410122", born, 11 + seq)  # sequence 011 odd -> male, 012 even -> female
        student = ok(await registry.post("/v1/students", headers=admin, json={
            "national_id": nid, "name": name, "gender": gender, "birth_date": born.isoformat(),
            "school_code": place.school, "class_id": klass["id"], "flags": ["left_behind"],
            "guardians": [{"name": "王大山", "relation": "father", "phone": GUARDIAN_PHONE}]}), 201)
        assert student["status"] == "enrolled"
        ids.append(student["id"])
        nids.append(nid)
    return School(class_id=klass["id"], absent_student=ids[0], present_student=ids[1], national_ids=tuple(nids),
                  code=place.school)


async def wait_until_attendance_knows(attendance: httpx.AsyncClient, *student_ids: str) -> None:
    async def known():
        return all([(await attendance.get(f"/v1/students/{s}/absence")).status_code == 200 for s in student_ids])

    await eventually(known, timeout=60)


async def mark_absent_for_three_days(attendance: httpx.AsyncClient, school: School, today: date) -> None:
    """Absent, unexcused, from 08:00 three days ago: more than 48 wall-clock hours ago."""
    for back in (3, 2, 1):
        for session in ("am", "pm"):
            ok(await attendance.post("/v1/roll-calls", json={
                "school_code": school.code, "class_id": school.class_id,
                "date": (today - timedelta(days=back)).isoformat(),
                "session": session, "marks": [{"student_id": school.absent_student, "status": "absent"},
                                              {"student_id": school.present_student, "status": "present"}]}))


async def the_case(cases: httpx.AsyncClient, student_id: str, timeout: float = 60) -> dict:
    async def one_case():
        page = ok(await cases.get("/v1/cases", params={"student_id": student_id}))
        return page["items"][0] if page["total"] else None

    found = await eventually(one_case, timeout=timeout)
    return ok(await cases.get(f"/v1/cases/{found['id']}"))
