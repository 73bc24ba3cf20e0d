"""Idempotency-Key on the POSTs of every service, over HTTP on SQLite and PostgreSQL: a retry
whose first answer was lost gets that answer and writes nothing twice; another request under
the key is a 422; a key still in flight is a 409; keys expire."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from shared.clock import FixedClock
from shared.idempotency import KeyStore, fingerprint, idempotency_keys
from shared.messaging import outbox
from tests.conftest import bearer, running
from tests.factories import (
    SCHOOL,
    a_school,
    add_plan_item,
    feed_reporting,
    local,
    open_case,
    post_and_lose_the_answer,
    school_with_class,
    student_body,
)
from tests.reporting_fixture import COUNTY, events

NO_BROKER = "127.0.0.1:1"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def count(client, table, *where) -> int:
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def test_registry_a_retry_after_a_lost_answer_gets_the_first_answer_and_writes_nothing(databases):
    async with running("registry", databases.url("registry"), NO_BROKER) as registry:
        klass = await school_with_class(registry)
        school = bearer("school_staff", klass["school_code"])
        body, k = student_body(klass), key()
        await post_and_lose_the_answer(registry.app, "/v1/students", body, {**school, **k})
        retry = await registry.post("/v1/students", json=body, headers={**school, **k})
        assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true", retry.text
        again = await registry.post("/v1/students", json=body, headers={**school, **k})
        assert again.json() == retry.json() and again.headers["content-type"] == "application/json"
        assert (await registry.get("/v1/students", headers=school)).json()["total"] == 1
        assert await count(registry, outbox, outbox.c.event_type == "baoxue.registry.student.enrolled") == 1
        # Without a key the same body is a second request: the duplicate record is refused.
        assert (await registry.post("/v1/students", json=body, headers=school)).status_code == 409
        # The same key with another body: 422, nothing done.
        other = await registry.post("/v1/students", json={**body, "name": "另一个孩子"}, headers={**school, **k})
        assert other.status_code == 422 and other.json()["type"] == "/problems/idempotency-key-reused"
        assert other.json()["errors"][0]["pointer"] == "/header/idempotency-key"
        # An error answer keeps nothing: the same key may carry the corrected request.
        k2 = key()
        bad = await registry.post("/v1/students", json={**student_body(klass), "gender": "x"}, headers={**school, **k2})
        assert bad.status_code == 422
        fixed = await registry.post("/v1/students", json=student_body(klass), headers={**school, **k2})
        assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers
        # Keys are per caller: the province with the same key runs its own request (a duplicate).
        theirs = await registry.post("/v1/students", json=body, headers=k)
        assert theirs.status_code == 409 and "idempotent-replayed" not in theirs.headers
        # A key that is not one (spaces) is named.
        r = await registry.post("/v1/students", json=body, headers={**school, "Idempotency-Key": "a b"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/header/idempotency-key"


async def test_attendance_in_flight_is_409_then_a_dead_first_request_lets_the_retry_run_and_keys_expire(databases):
    clock = FixedClock(local(19, 9))
    async with a_school(databases, clock) as school:
        client, runtime = school.client, school.runtime
        (student,) = await school.enroll(1)
        body = {"student_id": student, "start": "2026-11-19T00:00:00Z", "end": "2026-11-20T00:00:00Z",
                "reason": "发烧"}
        k = {**key(), **bearer("school_staff", SCHOOL)}
        # Another replica is running this very request: it holds the key.
        store = KeyStore(runtime.sessionmaker, clock, ttl=timedelta(hours=24), lease=timedelta(seconds=35))
        outcome, _ = await store.claim(subject="test-school_staff", path="/v1/leaves", key=k["Idempotency-Key"],
                                       fingerprint=fingerprint(b"", "application/json", json.dumps(body).encode()))
        assert outcome.kind == "claimed"
        busy = await client.post("/v1/leaves", json=body, headers=k)
        assert busy.status_code == 409 and busy.json()["type"] == "/problems/request-in-flight"
        assert busy.headers["retry-after"] == "35"
        assert (await client.get("/v1/leaves")).json()["total"] == 0
        # That replica died: it committed nothing (a write commits with its answer), so once its
        # lease is over the retry runs, once.
        clock.advance(seconds=36)
        first = await client.post("/v1/leaves", json=body, headers=k)
        assert first.status_code == 201, first.text
        replay = await client.post("/v1/leaves", json=body, headers=k)
        assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
        assert (await client.get("/v1/leaves")).json()["total"] == 1
        # Concurrent sends under one key: one leave, whatever each send is answered.
        k2 = {**key(), **bearer("school_staff", SCHOOL)}
        body2 = {**body, "start": "2026-11-23T00:00:00Z", "end": "2026-11-24T00:00:00Z"}
        answers = await asyncio.gather(*(client.post("/v1/leaves", json=body2, headers=k2) for _ in range(6)))
        assert {a.status_code for a in answers} <= {201, 409} and 201 in {a.status_code for a in answers}
        assert (await client.get("/v1/leaves")).json()["total"] == 2
        # After 24 hours the key is forgotten: pruned, and the same key is a new request.
        clock.advance(hours=24, seconds=1)
        assert await store.prune() >= 2
        assert await count(client, idempotency_keys) == 0
        assert (await client.post("/v1/leaves", json=body, headers=k)).status_code == 201
        assert (await client.get("/v1/leaves")).json()["total"] == 3


async def test_cases_a_plan_item_retried_is_added_once(databases):
    async with running("cases", databases.url("cases"), NO_BROKER,
                       clock=FixedClock(datetime(2026, 11, 17, tzinfo=UTC))) as cases:
        _, case_id = await open_case(cases)
        item = {"kind": "persuasion", "description": "每周上门劝返", "owner": "李老师", "due_on": "2026-11-30"}
        k = key()
        await post_and_lose_the_answer(cases.app, f"/v1/cases/{case_id}/plan-items", item,
                                       {**bearer(), **k})
        retry = await cases.post(f"/v1/cases/{case_id}/plan-items", json=item, headers=k)
        assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
        await add_plan_item(cases, case_id)  # without a key: a second item, as asked
        detail = (await cases.get(f"/v1/cases/{case_id}")).json()
        assert len(detail["plan_items"]) == 2


async def test_reporting_a_submission_retried_is_kept_once(databases):
    clock = FixedClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    async with running("reporting", databases.url("reporting"), NO_BROKER, clock=clock) as reporting:
        await feed_reporting(reporting, events())
        url, official = f"/v1/reports/weekly/{COUNTY}/2026-W47/submissions", bearer("county_official", COUNTY)
        k = key()
        first = await reporting.post(url, headers={**official, **k})
        again = await reporting.post(url, headers={**official, **k})
        assert first.status_code == again.status_code == 201 and again.json() == first.json()
        assert len((await reporting.get(url, headers=official)).json()["items"]) == 1


async def test_every_post_documents_the_header(databases):
    async with running("attendance", databases.url("attendance"), NO_BROKER) as client:
        document = client.app.openapi()
    posts = [op for ops in document["paths"].values() for m, op in ops.items() if m == "post"]
    assert posts and all(any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in op["parameters"])
                         for op in posts)
