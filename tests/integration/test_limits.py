"""Abuse limits: oversized bodies, write floods and slow requests get problems, not outages."""

from __future__ import annotations

from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers.get("x-request-id")
    return resp.json()


async def test_a_body_over_the_limit_is_refused_before_any_route_runs(databases):
    async with running("registry", databases.url("registry"), "127.0.0.1:1", max_body_bytes=4096) as registry:
        klass = await school_with_class(registry)
        huge = {**student_body(klass), "name": "王" * 5000}
        assert "4096 bytes" in _problem(await registry.post("/v1/students", json=huge), 413)["detail"]
        # A streamed body with no Content-Length is counted as it arrives.
        async def chunks():
            for _ in range(8):
                yield b"x" * 1024

        _problem(await registry.post("/v1/students", content=chunks(), headers={"content-type": "application/json"}), 413)
        assert (await registry.get("/v1/students")).json()["total"] == 0


async def test_writes_beyond_a_clients_budget_get_429_with_retry_after_and_others_are_unaffected(databases):
    # 60 writes a minute: a burst of 10, then one a second.
    async with running("registry", databases.url("registry"), "127.0.0.1:1", writes_per_minute=60) as registry:
        klass = await school_with_class(registry)
        school = bearer("school_staff", klass["school_code"])
        statuses = [(await registry.post("/v1/students", json=student_body(klass), headers=school)).status_code
                    for _ in range(11)]
        assert statuses == [201] * 10 + [429]
        limited = await registry.post("/v1/students", json=student_body(klass), headers=school)
        assert int(_problem(limited, 429)["detail"].split("retry in ")[1].split(" ")[0]) >= 1
        assert int(limited.headers["retry-after"]) >= 1
        assert (await registry.get("/v1/students")).status_code == 200  # reads are not limited
        other = bearer("county_official", "410122")  # another client has its own budget
        assert (await registry.post("/v1/students", json=student_body(klass), headers=other)).status_code == 201


async def test_the_write_budget_follows_the_verified_subject_not_the_header(tmp_path):
    """Case and whitespace variants of one token, or tokens that do not verify, get no fresh
    budget: a verified token counts against its subject, anything else against the address."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"
    async with running("registry", url, "127.0.0.1:1", writes_per_minute=60) as registry:  # burst 10
        klass = await school_with_class(registry)
        token = bearer("school_staff", klass["school_code"])["Authorization"].split(" ", 1)[1]
        variants = [f"Bearer {token}", f"bearer {token}", f"BEARER  {token} ", f"Bearer {token}\t"]
        statuses = [(await registry.post("/v1/students", json=student_body(klass),
                                         headers={"Authorization": variants[i % 4]})).status_code for i in range(11)]
        assert statuses[-1] == 429 and statuses.count(201) == 10, statuses
        forged = [(await registry.post("/v1/students", json={},
                                       headers={"Authorization": f"Bearer junk{i}"})).status_code for i in range(11)]
        assert forged == [401] * 10 + [429]  # no subject: one budget for the address


async def test_a_request_running_past_the_timeout_is_abandoned_with_504(databases):
    async with running("registry", databases.url("registry"), "127.0.0.1:1", request_timeout_s=1e-6) as registry:
        _problem(await registry.get("/v1/students"), 504)
