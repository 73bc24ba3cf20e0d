"""Leave as schools grant it, over HTTP on SQLite and PostgreSQL: a head teacher approves short
leave for their own class, consecutive leave counting together; longer leave is the school
office's; how the request came (a guardian's call...) is recorded beside who recorded it."""

from __future__ import annotations

from shared.clock import FixedClock
from tests.conftest import bearer
from tests.factories import CLASS, SCHOOL, a_school, local

HEAD = bearer("head_teacher", SCHOOL, classes=[CLASS])
OFFICE = bearer("school_staff", SCHOOL)


async def _leave(client, student: str, first: int, last: int, **extra) -> dict:
    """Leave over whole local days of November 2026 (Beijing midnight to midnight)."""
    r = await client.post("/v1/leaves", headers=HEAD, json={
        "student_id": student, "start": local(first).isoformat(), "end": local(last + 1).isoformat(),
        "reason": "病假", **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_head_teacher_grants_a_day_and_the_school_office_anything_longer(databases):
    async with a_school(databases, FixedClock(local(19, 7))) as school:
        client = school.client
        child, other = await school.enroll(2)
        thursday = await _leave(client, child, 19, 19, requested_via="guardian_phone")
        assert (thursday["requested_by"], thursday["requested_via"]) == ("test-head_teacher", "guardian_phone")
        r = await client.post(f"/v1/leaves/{thursday['id']}/approve", headers=HEAD)
        assert r.status_code == 200 and r.json()["decided_by"] == "test-head_teacher", r.text
        # Friday's leave joins Thursday's: two school days, beyond the head teacher's one.
        friday = await _leave(client, child, 20, 20, requested_via="in_person")
        r = await client.post(f"/v1/leaves/{friday['id']}/approve", headers=HEAD)
        assert r.status_code == 403 and r.json()["type"] == "/problems/leave-needs-school-office", r.text
        assert (r.json()["school_days"], r.json()["allowance"]) == (2, 1)
        assert (await client.post(f"/v1/leaves/{friday['id']}/approve", headers=OFFICE)).status_code == 200
        # Monday's touches Friday's across the weekend (no school day between): three school days together.
        monday = await _leave(client, child, 23, 23, requested_via="note")
        r = await client.post(f"/v1/leaves/{monday['id']}/reject", headers=HEAD)
        assert r.status_code == 403 and r.json()["school_days"] == 3
        # A week later, a day on its own is the head teacher's again; a two-day leave is not.
        assert (await client.post(f"/v1/leaves/{(await _leave(client, child, 26, 26))['id']}/approve",
                                  headers=HEAD)).status_code == 200
        two = await _leave(client, other, 24, 25)
        assert (await client.post(f"/v1/leaves/{two['id']}/approve", headers=HEAD)).json()["school_days"] == 2
        # A weekend is no school day: Saturday to Monday is one.
        weekend = await _leave(client, other, 21, 23)
        assert (await client.post(f"/v1/leaves/{weekend['id']}/approve", headers=HEAD)).status_code == 200
        # The head teacher of another class does not see the child's leave at all.
        stranger = bearer("head_teacher", SCHOOL, classes=["c-7-2"])
        assert (await client.post(f"/v1/leaves/{two['id']}/approve", headers=stranger)).status_code == 404
        # Only the three ways a request arrives.
        r = await client.post("/v1/leaves", headers=HEAD, json={
            "student_id": child, "start": local(27).isoformat(), "end": local(28).isoformat(), "reason": "事假",
            "requested_via": "wechat"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/requested_via"


async def test_the_allowance_is_a_setting(databases):
    async with a_school(databases, FixedClock(local(19, 7)), head_teacher_leave_max_days=3) as school:
        (child,) = await school.enroll(1)
        three = await _leave(school.client, child, 18, 20)
        assert (await school.client.post(f"/v1/leaves/{three['id']}/approve", headers=HEAD)).status_code == 200
