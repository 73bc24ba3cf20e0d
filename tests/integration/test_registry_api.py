"""Registry over HTTP on a real database; events checked on the real broker."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from shared.envelope import TOPIC_REGISTRY
from shared.messaging import outbox
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import read_events

NO_BROKER = "127.0.0.1:1"  # nothing listens: the relay waits, requests never do


@pytest.fixture
async def registry(databases):
    async with running("registry", databases.url("registry"), NO_BROKER) as client:
        yield client


async def _counts(client) -> tuple[int, int]:
    async with client.app.state.runtime.sessionmaker() as s:
        students = (await client.get("/v1/students")).json()["total"]
        return students, (await s.execute(select(func.count()).select_from(outbox))).scalar_one()


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == status
    return body


async def test_enroll_then_read_back(registry):
    klass = await school_with_class(registry)
    body = student_body(klass, flags=["poor_household", "learning_difficulty"],
                        guardians=[{"name": "王大山", "relation": "father", "phone": "13800000000"}])
    school = bearer("school_staff", klass["school_code"])  # the school office sees the full record
    created = (await registry.post("/v1/students", json=body, headers=school))
    assert created.status_code == 201, created.text
    student = created.json()
    assert student["status"] == "enrolled" and student["student_number"] == "G" + body["national_id"]
    assert student["grade"] == 7 and student["enrolled_on"] == date.today().isoformat()
    # Poor household and learning difficulty together make a "double difficulty" child (双困生).
    assert student["flags"] == ["learning_difficulty", "poor_household", "double_difficulty"]
    got = (await registry.get(f"/v1/students/{student['id']}", headers=school)).json()
    assert got == student
    assert (await registry.get("/v1/students", params={"flag": "poor_household"})).json()["total"] == 1
    assert (await registry.get("/v1/students", params={"flag": "disabled"})).json()["total"] == 0


@pytest.mark.parametrize("change, status, field", [
    ({"national_id": "11010519491231002"}, 422, "national_id"),            # 17 characters
    ({"national_id": "410122201304010110"}, 422, "national_id"),           # wrong check character
    ({"birth_date": "2013-04-02"}, 422, "birth_date"),                      # disagrees with the ID
    ({"gender": "female"}, 422, "gender"),                                  # disagrees with the ID
    ({"gender": "unknown"}, 422, "gender"),                                 # not an allowed value
    ({"birth_date": "2013-02-30"}, 422, "birth_date"),                     # impossible date
    ({"flags": ["rich"]}, 422, "flags.0"),
])
async def test_bad_enrolment_is_a_problem_naming_the_field_and_writes_nothing(registry, change, status, field):
    klass = await school_with_class(registry)
    before = await _counts(registry)
    body = {**student_body(klass, seq=11), **change}
    problem = _problem(await registry.post("/v1/students", json=body), status)
    assert field in {e["field"] for e in problem["errors"]}
    assert await _counts(registry) == before


async def test_a_child_active_elsewhere_is_refused_with_where(registry):
    klass = await school_with_class(registry)
    other = await school_with_class(registry, school="4101221002")
    body = student_body(klass)
    assert (await registry.post("/v1/students", json=body)).status_code == 201
    before = await _counts(registry)
    again = {**body, "school_code": other["school_code"], "class_id": other["id"]}
    problem = _problem(await registry.post("/v1/students", json=again), 409)
    assert problem["active_at"] == "城关镇第一初级中学 (4101221001)"
    assert await _counts(registry) == before
    # The other school's office learns that the child is enrolled, not where.
    problem = _problem(await registry.post("/v1/students", json=again,
                                           headers=bearer("school_staff", other["school_code"])), 409)
    assert "4101221001" not in problem["detail"] and "outside your region" in problem["active_at"]


async def test_class_of_another_school_and_unknown_codes(registry):
    klass = await school_with_class(registry)
    other = await school_with_class(registry, school="4101221002")
    wrong = {**student_body(klass), "class_id": other["id"]}
    assert _problem(await registry.post("/v1/students", json=wrong), 422)["errors"][0]["field"] == "class_id"
    _problem(await registry.post("/v1/students", json={**student_body(klass), "school_code": "NOPE"}), 404)
    _problem(await registry.get("/v1/students/does-not-exist"), 404)
    _problem(await registry.post("/v1/schools/410122/classes", json={"grade": 1, "name": "x"}), 422)  # a county
    _problem(await registry.post("/v1/orgs", json={"code": "X1", "name": "x", "kind": "school",
                                                  "parent_code": "4101221001"}), 422)  # school under a school


async def test_list_is_paginated(registry):
    klass = await school_with_class(registry)
    for _ in range(5):
        assert (await registry.post("/v1/students", json=student_body(klass))).status_code == 201
    first = (await registry.get("/v1/students", params={"limit": 2})).json()
    assert first["total"] == 5 and len(first["items"]) == 2 and first["next_offset"] == 2
    last = (await registry.get("/v1/students", params={"limit": 2, "offset": 4})).json()
    assert len(last["items"]) == 1 and last["next_offset"] is None
    ids = {s["id"] for p in (0, 2, 4) for s in (await registry.get("/v1/students", params={"limit": 2, "offset": p})).json()["items"]}
    assert len(ids) == 5
    _problem(await registry.get("/v1/students", params={"limit": 0}), 422)


async def test_enrolment_event_reaches_the_broker_in_cloudevents_binary_mode(databases, broker):
    async with running("registry", databases.url("registry"), broker.bootstrap) as registry:
        klass = await school_with_class(registry)
        student = (await registry.post("/v1/students", json=student_body(klass, flags=["left_behind"]))).json()
        events = await read_events(broker.bootstrap, TOPIC_REGISTRY, until=lambda evs: any(
            e.type == "baoxue.registry.student.enrolled" for e in evs))
    enrolled = [e for e in events if e.type == "baoxue.registry.student.enrolled"]
    assert len(enrolled) == 1
    ev = enrolled[0]
    assert ev.source == "/baoxue/registry" and ev.subject == student["id"] and ev.kafka_key == student["id"].encode()
    assert ev.data["org_path"] == ["410000", "410100", "410122", "410122100", "4101221001"]
    assert [o["kind"] for o in ev.data["org_chain"]] == ["province", "city", "county", "township", "school"]
    assert ev.data["national_id_masked"].count("*") == 10
    assert "national_id" not in ev.data and "student_number" not in ev.data  # both hold the full ID
    assert ev.data["grade"] == 7 and ev.data["level"] == "junior"


async def test_classes_are_listed_by_grade_and_a_duplicate_name_is_a_conflict(registry):
    klass = await school_with_class(registry)
    second = await registry.post(f"/v1/schools/{klass['school_code']}/classes", json={"grade": 8, "name": "八年级(1)班"})
    assert second.status_code == 201
    listed = (await registry.get(f"/v1/schools/{klass['school_code']}/classes")).json()
    assert [(c["grade"], c["name"]) for c in listed] == [(7, "7年级(1)班"), (8, "八年级(1)班")]
    problem = _problem(await registry.post(f"/v1/schools/{klass['school_code']}/classes",
                                           json={"grade": 7, "name": "7年级(1)班"}), 409)
    assert problem["class_id"] == klass["id"]
    _problem(await registry.get("/v1/schools/NOPE/classes"), 404)


@pytest.mark.parametrize("role, org, full_id, full_phone", [
    ("school_staff", "4101221001", True, True),
    ("county_official", "410122", True, True),
    ("township_official", "410122100", False, True),
    ("head_teacher", "4101221001", False, True),
    ("city_official", "410100", False, False),
    ("province_official", "410000", False, False),
])
async def test_id_numbers_and_phones_are_masked_unless_the_role_needs_them(registry, role, org, full_id, full_phone):
    klass = await school_with_class(registry)
    body = student_body(klass, guardians=[{"name": "王大山", "relation": "father", "phone": "13800000000"}])
    student_id = (await registry.post("/v1/students", json=body)).json()["id"]
    caller = bearer(role, org, classes=[klass["id"]])
    for got in [(await registry.get(f"/v1/students/{student_id}", headers=caller)).json(),
                (await registry.get("/v1/students", headers=caller)).json()["items"][0]]:
        nid = body["national_id"]
        assert got["national_id"] == (nid if full_id else nid[:4] + "*" * 10 + nid[-4:])
        assert got["student_number"] == "G" + got["national_id"]
        assert got["guardians"][0]["phone"] == ("13800000000" if full_phone else "138****0000")
