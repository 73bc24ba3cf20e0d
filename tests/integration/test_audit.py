"""The audit log: every write and every read of a full record, queryable by officials in scope."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.clock import FixedClock
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body


async def test_reads_of_full_records_and_every_write_are_audited_for_the_officials_of_that_region(databases):
    async with running("registry", databases.url("registry"), "127.0.0.1:1") as registry:
        klass = await school_with_class(registry)
        school = bearer("school_staff", klass["school_code"])
        created = await registry.post("/v1/students", json=student_body(klass), headers=school)
        student = created.json()
        bad = await registry.post("/v1/students", json={**student_body(klass), "gender": "x"}, headers=school)
        assert bad.status_code == 422
        county = bearer("county_official", "410122")
        read = await registry.get(f"/v1/students/{student['id']}", headers=county)
        await registry.get("/v1/students", headers=county)  # a list is not a full record: not audited

        log = (await registry.get("/v1/audit", headers=county)).json()
        mine = [(e["actor_role"], e["action"], e["route"], e["status"]) for e in log["items"]
                if e["actor_role"] in ("school_staff", "county_official")]
        assert mine == [
            ("county_official", "read", "/v1/students/{student_id}", 200),
            ("school_staff", "write", "/v1/students", 422),
            ("school_staff", "write", "/v1/students", 201),
        ]
        # The refused write reached no record: it is filed under the school's full path, so its
        # staff and everyone above them see it.
        own = (await registry.get("/v1/audit", headers=school)).json()["items"]
        assert [(e["status"], e["scope_path"]) for e in own if e["status"] == 422] == [
            (422, "/410000/410100/410122/410122100/4101221001/")]
        # A write's row commits in the write's own transaction, once, with the request's id.
        write = next(e for e in log["items"] if e["action"] == "write" and e["status"] == 201)
        assert write["request_id"] == created.headers["x-request-id"]
        newest = log["items"][0]
        assert newest["path"] == f"/v1/students/{student['id']}"
        assert newest["scope_path"] == "/410000/410100/410122/410122100/4101221001/"
        assert newest["request_id"] == read.headers["x-request-id"]
        # The province sees it too; another county and a head teacher do not.
        assert (await registry.get("/v1/audit", params={"action": "read"})).json()["total"] == 1
        assert (await registry.get("/v1/audit", headers=bearer("county_official", "420102"))).json()["total"] == 0
        assert (await registry.get("/v1/audit", headers=bearer("head_teacher", klass["school_code"]))).status_code == 403
        # No body, no personal data in the log.
        assert student_body(klass)["name"] not in str(log) and student["national_id"][-6:] not in str(log)


async def test_every_audit_row_carries_the_time_of_the_apps_clock_not_the_wall_clock(databases):
    """The rows written at a write's commit (the unit of work's hook) and those the middleware
    writes (a read, a refusal) both take their time from the injected clock."""
    clock = FixedClock(datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC))
    async with running("registry", databases.url("registry"), "127.0.0.1:1", clock=clock) as registry:
        klass = await school_with_class(registry)
        clock.advance(hours=1)
        created = await registry.post("/v1/students", json=student_body(klass))
        assert created.status_code == 201, created.text
        clock.advance(hours=1)
        assert (await registry.post("/v1/students", json={**student_body(klass), "gender": "x"})).status_code == 422
        clock.advance(hours=1)
        assert (await registry.get(f"/v1/students/{created.json()['id']}")).status_code == 200
        log = (await registry.get("/v1/audit", params={"limit": 3})).json()["items"]
    assert [(e["action"], e["status"], datetime.fromisoformat(e["at"])) for e in log] == [
        ("read", 200, datetime(2031, 3, 4, 8, 6, 7, tzinfo=UTC)),
        ("write", 422, datetime(2031, 3, 4, 7, 6, 7, tzinfo=UTC)),
        ("write", 201, datetime(2031, 3, 4, 6, 6, 7, tzinfo=UTC)),
    ]
