"""Who may see which child: every route of every service, every role, inside and outside scope.

Generated from each service's OpenAPI: an operation without an `x-baoxue-access` rule, or
without a sample request below, fails the suite, so a new route cannot ship without a decision.
Callers all belong to county A (province 410000); the "outside" object lives in another province.
Outside its scope a caller gets 404 (ids cannot be probed), a list leaves it out, a disallowed
role gets 403 and no token 401 (OWASP API1:2023).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

import pytest

from registry.domain.national_id import compose
from shared.auth import Role
from shared.clock import SystemClock
from shared.envelope import Event
from shared.uow import UnitOfWork
from tests.conftest import bearer, running

A = {"province": "410000", "city": "410100", "county": "410122", "township": "410122100", "school": "4101221001"}
B = {"province": "420000", "city": "420100", "county": "420102", "township": "420102100", "school": "4201021001"}
KIND_BELOW = {"province": "city", "city": "county", "county": "township", "township": "school"}
_seq = itertools.count(101, 2)


@dataclass
class Place:
    codes: dict[str, str]
    class_id: str = ""
    student_id: str = ""
    case_id: str = ""
    leave_ids: dict[str, str] = field(default_factory=dict)  # attendance: a requested leave per decision route

    @property
    def leave_id(self) -> str:
        return self.leave_ids.get("approve", "")

    @property
    def path(self) -> list[str]:
        return [self.codes[k] for k in ("province", "city", "county", "township", "school")]

    @property
    def chain(self) -> list[dict[str, str]]:
        return [{"code": self.codes[k], "kind": k, "name": k} for k in ("province", "city", "county", "township", "school")]


@dataclass
class World:
    inside: Place = field(default_factory=lambda: Place(A))
    outside: Place = field(default_factory=lambda: Place(B))


CALLERS: dict[Role, str] = {
    Role.head_teacher: A["school"], Role.school_staff: A["school"], Role.township_official: A["township"],
    Role.county_official: A["county"], Role.city_official: A["city"], Role.province_official: A["province"],
    Role.recipient: A["township"], Role.ops: A["province"],
}
LEVEL = {Role.township_official: "township", Role.county_official: "county", Role.city_official: "city",
         Role.province_official: "province", Role.school_staff: "school", Role.head_teacher: "school"}


def headers_for(role: Role, world: World) -> dict[str, str]:
    return bearer(role.value, CALLERS[role], classes=[world.inside.class_id])


# (method, path) -> builds (url, json body) for a caller role and the place the request targets.
Request = Callable[[World, Role, Place], tuple[str, dict | None]]


def _student_body(place: Place) -> dict:
    born = date(2013, 4, 1)
    return {"national_id": compose("410122", born, next(_seq) % 1000), "name": "王小明", "gender": "male",
            "birth_date": born.isoformat(), "school_code": place.codes["school"], "class_id": place.class_id}


def _new_org(world: World, role: Role, place: Place) -> tuple[str, dict | None]:
    level = LEVEL.get(role, "township")
    kind = KIND_BELOW.get(level, "school")
    return "/v1/orgs", {"code": uuid.uuid4().hex[:12], "name": "新", "kind": kind, "parent_code": place.codes[level]}


REQUESTS: dict[tuple[str, str], Request] = {
    ("GET", "/healthz"): lambda w, r, p: ("/healthz", None),
    ("GET", "/readyz"): lambda w, r, p: ("/readyz", None),
    ("GET", "/metrics"): lambda w, r, p: ("/metrics", None),
    ("GET", "/v1/audit"): lambda w, r, p: ("/v1/audit?limit=500", None),
    # registry
    ("POST", "/v1/orgs"): _new_org,
    ("GET", "/v1/orgs/{code}"): lambda w, r, p: (f"/v1/orgs/{p.codes['county']}", None),
    ("POST", "/v1/schools/{school_code}/classes"): lambda w, r, p: (
        f"/v1/schools/{p.codes['school']}/classes", {"grade": 7, "name": uuid.uuid4().hex[:8]}),
    ("GET", "/v1/schools/{school_code}/classes"): lambda w, r, p: (f"/v1/schools/{p.codes['school']}/classes", None),
    ("POST", "/v1/students"): lambda w, r, p: ("/v1/students", _student_body(p)),
    ("GET", "/v1/students/{student_id}"): lambda w, r, p: (f"/v1/students/{p.student_id}", None),
    ("GET", "/v1/students"): lambda w, r, p: (f"/v1/students?school_code={p.codes['school']}", None),
    # attendance
    ("PUT", "/v1/calendars/{code}"): lambda w, r, p: (f"/v1/calendars/{p.codes['school']}", {}),
    ("GET", "/v1/calendars/{code}"): lambda w, r, p: (f"/v1/calendars/{p.codes['school']}", None),
    ("POST", "/v1/calendars/{code}/entries"): lambda w, r, p: (
        f"/v1/calendars/{p.codes['school']}/entries", {"entries": [{"date": "2026-10-01", "kind": "holiday"}]}),
    ("GET", "/v1/classes/{class_id}/roll-calls"): lambda w, r, p: (f"/v1/classes/{p.class_id}/roll-calls", None),
    ("GET", "/v1/leaves"): lambda w, r, p: ("/v1/leaves?limit=500", None),
    ("POST", "/v1/leaves/{leave_id}/approve"): lambda w, r, p: (f"/v1/leaves/{p.leave_ids['approve']}/approve", {}),
    ("POST", "/v1/leaves/{leave_id}/reject"): lambda w, r, p: (f"/v1/leaves/{p.leave_ids['reject']}/reject", None),
    ("GET", "/v1/students/{student_id}/attendance"): lambda w, r, p: (f"/v1/students/{p.student_id}/attendance", None),
    ("GET", "/v1/schools/{school_code}/attendance"): lambda w, r, p: (f"/v1/schools/{p.codes['school']}/attendance", None),
    ("POST", "/v1/roll-calls"): lambda w, r, p: ("/v1/roll-calls", {
        "school_code": p.codes["school"], "class_id": p.class_id, "date": "2026-11-16", "session": "am",
        "marks": [{"student_id": p.student_id, "status": "present"}]}),
    ("POST", "/v1/leaves"): lambda w, r, p: ("/v1/leaves", {
        "student_id": p.student_id, "start": "2026-11-16T00:00:00Z", "end": "2026-11-16T09:00:00Z", "reason": "病假"}),
    ("GET", "/v1/students/{student_id}/absence"): lambda w, r, p: (f"/v1/students/{p.student_id}/absence", None),
    # cases
    ("GET", "/v1/cases"): lambda w, r, p: (f"/v1/cases?org_code={p.codes['school']}", None),
    ("GET", "/v1/cases/{case_id}"): lambda w, r, p: (f"/v1/cases/{p.case_id}", None),
    ("POST", "/v1/cases/{case_id}/reports/{recipient}/ack"): lambda w, r, p: (
        f"/v1/cases/{p.case_id}/reports/{'education' if r is Role.county_official else 'government'}/ack", None),
    # reporting
    ("GET", "/v1/reports/summary"): lambda w, r, p: (
        f"/v1/reports/summary?org_code={p.codes[LEVEL.get(r, 'county')]}", None),
}
LIST_KEYS = {"/v1/students": "student_id", "/v1/cases": "case_id", "/v1/audit": None, "/v1/leaves": "leave_id"}


async def _seed(service: str, client, world: World) -> None:
    """Both places, through each service's own public API or its event handlers."""
    runtime = client.app.state.runtime
    for place in (world.inside, world.outside):
        place.class_id = place.class_id or str(uuid.uuid4())
        place.student_id = place.student_id or str(uuid.uuid4())
    if service == "registry":
        for place in (world.inside, world.outside):
            admin = bearer("province_official", place.codes["province"])
            parent = None
            for kind in ("province", "city", "county", "township", "school"):
                r = await client.post("/v1/orgs", headers=admin, json={
                    "code": place.codes[kind], "name": kind, "kind": kind, "parent_code": parent})
                assert r.status_code == 201, r.text
                parent = place.codes[kind]
            r = await client.post(f"/v1/schools/{place.codes['school']}/classes", headers=admin,
                                  json={"grade": 7, "name": "七年级(1)班"})
            place.class_id = r.json()["id"]
            r = await client.post("/v1/students", headers=admin, json=_student_body(place))
            assert r.status_code == 201, r.text
            place.student_id = r.json()["id"]
        return
    handlers = __import__(f"{service}.handlers", fromlist=["handlers"])
    for place in (world.inside, world.outside):
        events = [Event(type="baoxue.registry.student.enrolled", source="/baoxue/registry", subject=place.student_id,
                        data={"student_id": place.student_id, "name": "王小明", "national_id_masked": "4101**********0113",
                              "gender": "male", "birth_date": "2013-04-01", "school_code": place.codes["school"],
                              "class_id": place.class_id, "grade": 7, "org_path": place.path, "org_chain": place.chain,
                              "flags": [], "guardians": [], "status": "enrolled"})]
        async with UnitOfWork(runtime.sessionmaker, source="/baoxue/test", clock=SystemClock()) as uow:
            if service == "reporting":
                for level, code in place.codes.items():
                    await handlers.on_org_registered(uow, Event(
                        type="baoxue.registry.org.registered", source="/baoxue/registry", subject=code,
                        data={"code": code, "name": level, "kind": level,
                              "path": place.path[: place.path.index(code) + 1]}))
            await handlers.on_student_enrolled(uow, events[0])
            if service == "cases":
                await handlers.on_threshold_reached(uow, Event(
                    type="baoxue.attendance.absence.threshold_reached", source="/baoxue/attendance",
                    subject=place.student_id, data={
                        "student_id": place.student_id, "episode_id": str(uuid.uuid4()),
                        "episode_started_at": "2026-11-14T00:00:00+00:00", "hours": 50, "absent_sessions": 4,
                        "school_code": place.codes["school"], "class_id": place.class_id, "grade": 7,
                        "org_path": place.path, "org_chain": place.chain}))
            await uow.commit()
        if service == "attendance":
            from attendance.entrypoints.schemas import LeaveIn
            from shared.auth import Principal

            school = Principal("test-school-staff", Role.school_staff, place.codes["school"])
            for decision in ("approve", "reject"):
                async with UnitOfWork(runtime.sessionmaker, source="/baoxue/test", clock=SystemClock()) as uow:
                    leave = await handlers.record_leave(uow, LeaveIn(
                        student_id=place.student_id, start="2026-11-16T00:00:00Z", end="2026-11-16T09:00:00Z",
                        reason="病假"), school)
                place.leave_ids[decision] = leave["id"]
        if service == "cases":
            page = (await client.get(f"/v1/cases?student_id={place.student_id}",
                                     headers=bearer("province_official", place.codes["province"]))).json()
            place.case_id = page["items"][0]["id"]


@pytest.mark.parametrize("service", ["registry", "attendance", "cases", "reporting"])
async def test_every_route_answers_every_role_as_its_rule_says(service, databases):
    world = World()
    async with running(service, databases.url(service), "127.0.0.1:1", headers={}) as client:
        await _seed(service, client, world)
        operations = [(m.upper(), path, op) for path, ops in client.app.openapi()["paths"].items()
                      for m, op in ops.items()]
        unruled = [f"{m} {p}" for m, p, op in operations if "x-baoxue-access" not in op]
        unsampled = [f"{m} {p}" for m, p, _ in operations if (m, p) not in REQUESTS]
        assert not unruled, f"routes without an access rule: {unruled}"
        assert not unsampled, f"routes the matrix cannot call yet (add a sample request): {unsampled}"

        failures: list[str] = []
        for method, path, op in operations:
            rule = op["x-baoxue-access"]
            build = REQUESTS[(method, path)]
            if rule["roles"] == ["anonymous"]:
                url, body = build(world, Role.ops, world.inside)
                status = (await client.request(method, url, json=body)).status_code
                if status not in (200, 503):  # readyz is 503 here: no broker, by design of this test
                    failures.append(f"{method} {path} anonymous: {status}")
                continue
            url, body = build(world, Role.ops, world.inside)
            if (status := (await client.request(method, url, json=body)).status_code) != 401:
                failures.append(f"{method} {path} without a token: {status}, expected 401")
            for role in Role:
                headers = headers_for(role, world)
                for target in (world.inside, world.outside):
                    url, body = build(world, role, target)
                    resp = await client.request(method, url, json=body, headers=headers)
                    where = "inside" if target is world.inside else "outside"
                    expected = _expected(rule, role, where)
                    if not _matches(expected, resp, path, target, CALLERS[role]):
                        failures.append(f"{method} {path} as {role.value} {where}: {resp.status_code} "
                                        f"(expected {expected}) {resp.text[:160]}")
        assert not failures, "\n".join(failures)


def _expected(rule: dict, role: Role, where: str) -> str:
    if role.value not in rule["roles"]:
        return "403"
    if rule["scope"] == "list":
        return "listed" if where == "inside" else "hidden"
    if rule["scope"] == "none" or where == "inside":
        return "ok"
    return "404"


def _matches(expected: str, resp, path: str, target: Place, caller_org: str) -> bool:
    if expected == "403":
        return resp.status_code == 403
    if expected == "404":
        return resp.status_code == 404
    if expected in ("listed", "hidden"):  # lists are filtered to the caller's scope
        key = LIST_KEYS[path.split("?")[0]]
        if key is None:  # the audit log: every entry lies in the caller's region
            return resp.status_code == 200 and all(f"/{caller_org}/" in e["scope_path"] for e in resp.json()["items"])
        present = resp.status_code == 200 and any(item["id"] == getattr(target, key) for item in resp.json()["items"])
        return resp.status_code == 200 and present == (expected == "listed")
    return 200 <= resp.status_code < 300
