"""Registry record changes over HTTP on a real database: the status lifecycle (every pair),
transfers with receipt and their overdue sweep, promotion, and search."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, date, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from registry.domain.lifecycle import TRANSITIONS
from registry.domain.model import StudentStatus as S
from registry.usecases.transfers import flag_overdue_transfers
from shared.clock import FixedClock
from shared.envelope import TOPIC_REGISTRY
from shared.messaging import outbox
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import eventually, read_events

NO_BROKER = "127.0.0.1:1"
SCHOOL_B = "4101221002"


@pytest.fixture
async def registry(databases):
    # Hundreds of writes in a few seconds: above a person's write budget, on purpose.
    async with running("registry", databases.url("registry"), NO_BROKER, writes_per_minute=100_000) as client:
        yield client


async def _outbox(client, event_type: str) -> list[dict]:
    async with client.app.state.runtime.sessionmaker() as s:
        rows = (await s.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)
                                .order_by(outbox.c.id))).scalars().all()
    return [json.loads(p) for p in rows]


async def _enroll(client, klass: dict, **extra) -> dict:
    r = await client.post("/v1/students", json=student_body(klass, **extra))
    assert r.status_code == 201, r.text
    return r.json()


async def _into(client, klass: dict, other: dict, status: S) -> str:
    """A fresh record in the given status, reached through the public API."""
    sid = (await _enroll(client, klass))["id"]
    if status is S.enrolled:
        return sid
    if status in (S.transferred_out, S.transferred_in):
        r = await client.post(f"/v1/students/{sid}/transfers", json={"to_school_code": other["school_code"]})
        assert r.status_code == 201, r.text
        if status is S.transferred_in:
            r = await client.post(f"/v1/students/transfers/{r.json()['id']}/confirm", json={"class_id": other["id"]})
            assert r.status_code == 200, r.text
        return sid
    r = await client.post(f"/v1/students/{sid}/status-changes", json={"status": status.value, "reason": "paperwork"})
    assert r.status_code == 201, r.text
    return sid


async def test_every_status_pair_through_the_api(registry):
    """10 x 10 pairs: a legal change is 201 with a history row and an event; an illegal one is
    a 409 problem that names the allowed changes and writes nothing."""
    klass = await school_with_class(registry)
    other = await school_with_class(registry, school=SCHOOL_B)
    failures = []
    for current, target in itertools.product(S, S):
        sid = await _into(registry, klass, other, current)
        events_before = len(await _outbox(registry, "baoxue.registry.student.status_changed"))
        r = await registry.post(f"/v1/students/{sid}/status-changes",
                                json={"status": target.value, "reason": "paperwork"})
        legal = target in TRANSITIONS[current]
        events_after = len(await _outbox(registry, "baoxue.registry.student.status_changed"))
        record = (await registry.get(f"/v1/students/{sid}")).json()
        if legal:
            ok = r.status_code == 201 and record["status"] == target.value and events_after == events_before + 1
        else:
            ok = (r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
                  and record["status"] == current.value and events_after == events_before)
        if not ok:
            failures.append(f"{current.value} -> {target.value}: {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures)


async def test_a_change_is_recorded_with_date_reason_actor_and_event(registry):
    klass = await school_with_class(registry)
    sid = (await _enroll(registry, klass, enrolled_on="2026-09-01"))["id"]
    staff = bearer("school_staff", klass["school_code"])
    r = await registry.post(f"/v1/students/{sid}/status-changes", headers=staff,
                            json={"status": "dropped_out", "reason": "went to work in the city",
                                  "effective_on": "2026-11-02"})
    assert r.status_code == 201, r.text
    history = (await registry.get(f"/v1/students/{sid}/status-changes")).json()
    assert [(h["previous_status"], h["status"], h["effective_on"], h["actor"]) for h in history] == [
        ("enrolled", "dropped_out", "2026-11-02", "test-school_staff")]
    event = (await _outbox(registry, "baoxue.registry.student.status_changed"))[-1]
    assert event["status"] == "dropped_out" and event["previous_status"] == "enrolled"
    assert event["org_path"][-1] == klass["school_code"] and event["grade"] == 7
    assert event["reason"] == "went to work in the city" and event["actor"] == "test-school_staff"
    # Missing reason, a future date: 422 with the field, and nothing written.
    for body, field in (({"status": "suspended"}, "reason"),
                        ({"status": "suspended", "reason": "x", "effective_on": "2999-01-01"}, "effective_on")):
        r = await registry.post(f"/v1/students/{(await _enroll(registry, klass))['id']}/status-changes", json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    # A transfer status is not a plain status change.
    r = await registry.post(f"/v1/students/{sid}/status-changes", json={"status": "transferred_out"})
    assert r.status_code == 409


async def test_transfer_with_receipt_moves_the_record(registry):
    a = await school_with_class(registry)
    b = await school_with_class(registry, school=SCHOOL_B, grade=8)
    student = await _enroll(registry, a)
    sender, receiver = bearer("school_staff", a["school_code"]), bearer("school_staff", b["school_code"])
    r = await registry.post(f"/v1/students/{student['id']}/transfers", headers=sender,
                            json={"to_school_code": b["school_code"], "reason": "family moved"})
    assert r.status_code == 201, r.text
    transfer = r.json()
    assert transfer["status"] == "pending" and transfer["days_pending"] == 0 and not transfer["overdue"]
    assert (await registry.get(f"/v1/students/{student['id']}")).json()["status"] == "transferred_out"
    # Both sides see it; the receiver's list shows it pending.
    listed = (await registry.get("/v1/students/transfers", params={"status": "pending"}, headers=receiver)).json()
    assert [t["id"] for t in listed["items"]] == [transfer["id"]]
    # A second transfer of the same child waits for the first to settle.
    assert (await registry.post(f"/v1/students/{student['id']}/transfers", headers=sender,
                                json={"to_school_code": b["school_code"]})).status_code == 409
    # Only the receiving school confirms, into one of its own classes.
    assert (await registry.post(f"/v1/students/transfers/{transfer['id']}/confirm", headers=sender,
                                json={"class_id": a["id"]})).status_code == 404
    r = await registry.post(f"/v1/students/transfers/{transfer['id']}/confirm", headers=receiver,
                            json={"class_id": a["id"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "class_id"
    r = await registry.post(f"/v1/students/transfers/{transfer['id']}/confirm", headers=receiver,
                            json={"class_id": b["id"]})
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    moved = (await registry.get(f"/v1/students/{student['id']}")).json()
    assert (moved["status"], moved["school_code"], moved["class_id"], moved["grade"]) == (
        "transferred_in", b["school_code"], b["id"], 8)
    assert (await registry.post(f"/v1/students/transfers/{transfer['id']}/confirm", headers=receiver,
                                json={"class_id": b["id"]})).status_code == 409
    # The events: out at the old school, in at the new one with the new placement.
    events = await _outbox(registry, "baoxue.registry.student.status_changed")
    assert [(e["status"], e["school_code"], e["class_id"]) for e in events] == [
        ("transferred_out", a["school_code"], a["id"]), ("transferred_in", b["school_code"], b["id"])]
    assert events[1]["org_path"][-1] == b["school_code"] and events[1]["grade"] == 8


async def test_a_cancelled_transfer_restores_the_status(registry):
    a = await school_with_class(registry)
    sid = (await _enroll(registry, a))["id"]
    r = await registry.post(f"/v1/students/{sid}/transfers", json={"destination": "广东省东莞市某小学"})
    assert r.status_code == 201
    r = await registry.post(f"/v1/students/transfers/{r.json()['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert (await registry.get(f"/v1/students/{sid}")).json()["status"] == "enrolled"
    r = await registry.post(f"/v1/students/{sid}/transfers", json={})
    assert r.status_code == 422  # neither a school nor a destination


async def test_overdue_transfers_are_announced_once_even_by_racing_replicas(databases, broker):
    url = databases.url("registry")
    clock = FixedClock(datetime(2026, 10, 1, 2, 0, tzinfo=UTC))
    async with running("registry", url, broker.bootstrap, clock=clock, transfer_sweep_interval_s=3600) as reg:
        a = await school_with_class(reg)
        pending = []
        for _ in range(3):
            sid = (await _enroll(reg, a))["id"]
            r = await reg.post(f"/v1/students/{sid}/transfers", json={"destination": "外省", "effective_on": "2026-10-01"})
            pending.append(r.json()["id"])
        await reg.post(f"/v1/students/transfers/{pending[2]}/cancel")  # settled: never overdue
        clock.advance(days=29)
        assert (await reg.get("/v1/students/transfers", params={"overdue": "true"})).json()["total"] == 0
        # A second replica (another engine on the same database). It starts before the transfers
        # are due: a sweep job's first pass runs at start-up, and would otherwise race the test's.
        labels = {"service": "registry", "job": "overdue_transfers", "outcome": "ok"}

        async def passes() -> float:
            return REGISTRY.get_sample_value("baoxue_job_runs_total", labels) or 0.0
        before = await passes()
        async with running("registry", url, broker.bootstrap, clock=clock, migrated=True,
                           transfer_sweep_interval_s=3600) as replica:

            async def first_pass_done() -> bool:
                return await passes() > before
            await eventually(first_pass_done, timeout=10)
            clock.advance(days=1)
            listed = (await reg.get("/v1/students/transfers", params={"overdue": "true"})).json()
            assert sorted(t["id"] for t in listed["items"]) == sorted(pending[:2])
            assert all(t["days_pending"] == 30 for t in listed["items"])
            # Both sweep at once, then again.
            runtimes = [reg.app.state.runtime, replica.app.state.runtime]

            async def sweep(runtime):
                async with runtime.uow(clock=clock) as uow:
                    return await flag_overdue_transfers(uow, overdue_after_days=30)
            counts = await asyncio.gather(*(sweep(r) for r in runtimes))
            assert sum(counts) == 2 and await sweep(runtimes[1]) == 0
        events = await read_events(broker.bootstrap, TOPIC_REGISTRY, until=lambda evs: len(
            [e for e in evs if e.type == "baoxue.registry.transfer.overdue"]) >= 2, timeout=20)
        # Two relays on one SQLite outbox may both send a row (at least once on the wire); the ids
        # say it is one fact each, and consumers drop the repeat.
        overdue = list({e.id: e for e in events if e.type == "baoxue.registry.transfer.overdue"}.values())
        assert sorted(e.data["transfer_id"] for e in overdue) == sorted(pending[:2])
        assert all(e.data["days_pending"] == 30 and e.data["org_path"][-1] == a["school_code"] for e in overdue)
        async with reg.app.state.runtime.sessionmaker() as s:
            assert (await s.execute(select(func.count()).select_from(outbox).where(
                outbox.c.event_type == "baoxue.registry.transfer.overdue"))).scalar_one() == 2


async def test_year_end_promotion(registry):
    junior = await school_with_class(registry, grade=7)
    r = await registry.post(f"/v1/schools/{junior['school_code']}/classes",
                            json={"grade": 9, "name": "九年级(1)班"})
    top = r.json()
    assert top["school_year"] == 2026  # the school year that began in September 2026
    leaving = [(await _enroll(registry, top))["id"] for _ in range(2)]
    dropped = (await _enroll(registry, top))["id"]
    await registry.post(f"/v1/students/{dropped}/status-changes", json={"status": "dropped_out", "reason": "work"})
    staying = (await _enroll(registry, junior))["id"]
    r = await registry.post(f"/v1/schools/{junior['school_code']}/promotions",
                            json={"school_year": 2026, "effective_on": "2026-11-20"})
    assert r.status_code == 201, r.text
    assert r.json() | {} == {"school_code": junior["school_code"], "school_year": 2026, "promoted_classes": 1,
                             "graduated_classes": 1, "graduated_students": 2}
    classes = {c["id"]: c for c in (await registry.get(f"/v1/schools/{junior['school_code']}/classes")).json()}
    assert classes[junior["id"]]["grade"] == 8 and classes[junior["id"]]["school_year"] == 2027
    assert classes[top["id"]]["name"] == "九年级(1)班（2027届）"
    statuses = {sid: (await registry.get(f"/v1/students/{sid}")).json()["status"] for sid in [*leaving, dropped, staying]}
    assert statuses == {leaving[0]: "graduated", leaving[1]: "graduated", dropped: "dropped_out", staying: "enrolled"}
    assert (await registry.get(f"/v1/students/{staying}")).json()["grade"] == 8
    promoted = await _outbox(registry, "baoxue.registry.class.promoted")
    assert [(e["class_id"], e["grade"], e["previous_grade"]) for e in promoted] == [(junior["id"], 8, 7)]
    # The same year again: nothing left to promote.
    assert (await registry.post(f"/v1/schools/{junior['school_code']}/promotions",
                                json={"school_year": 2026})).status_code == 409


async def test_search_by_every_filter(registry):
    a = await school_with_class(registry, grade=7)
    b = await school_with_class(registry, school=SCHOOL_B, grade=8)
    s1 = await _enroll(registry, a, name="张三丰", household_region="410122", flags=["left_behind"])
    s2 = await _enroll(registry, b, name="李四", household_region="410183")
    await registry.post(f"/v1/students/{s2['id']}/status-changes", json={"status": "suspended", "reason": "ill"})

    async def ids(**params) -> set[str]:
        r = await registry.get("/v1/students", params=params)
        assert r.status_code == 200, r.text
        return {s["id"] for s in r.json()["items"]}
    assert await ids(grade=7) == {s1["id"]}
    assert await ids(class_id=b["id"]) == {s2["id"]}
    assert await ids(status="suspended") == {s2["id"]}
    assert await ids(flag="left_behind") == {s1["id"]}
    assert await ids(household_region="410100") == {s1["id"], s2["id"]}  # a city matches its counties
    assert await ids(household_region="410183") == {s2["id"]}
    assert await ids(org_code="410122100") == {s1["id"], s2["id"]}
    assert await ids(org_code="420000") == set()
    assert await ids(name="三") == {s1["id"]}
    assert await ids(school_code=a["school_code"], grade=8) == set()
    r = await registry.get("/v1/students", params={"grade": 10})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "grade"
    assert s1["household_region"] == "410122"
    assert date.fromisoformat(s1["enrolled_on"])
