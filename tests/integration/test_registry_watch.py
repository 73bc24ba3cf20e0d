"""No child hidden behind a status, over HTTP on a real database: boarding elsewhere (寄读) with
its host, end and receipt (回执), suspension (休学) with its end, the watch list, the watchdog on two
replicas (once each, and cases opens the case), and transfers started by the receiving school.

Seed 002: 严把休、转、寄手续关。要求外寄的学生及家长或所在学校必须开回回执证明 — the receipt is the
host school's, or the family's recorded by the home school with its evidence.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from registry.usecases.transfers import flag_overdue_transfers
from registry.usecases.watch import flag_overdue_off_roll
from shared.clock import FixedClock
from shared.envelope import TOPIC_REGISTRY
from shared.messaging import outbox
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import eventually, read_events

NO_BROKER = "127.0.0.1:1"
SCHOOL_A, SCHOOL_B, SCHOOL_C = "4101221001", "4101221002", "4101221003"
T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)  # 10:00 in China, 1 September 2026
BOARDING, SUSPENSION = "baoxue.registry.boarding.overdue", "baoxue.registry.suspension.overdue"


@pytest.fixture
async def registry(databases):
    clock = FixedClock(T0)
    async with running("registry", databases.url("registry"), NO_BROKER, clock=clock,
                       writes_per_minute=100_000, transfer_sweep_interval_s=3600) as client:
        client.clock = clock  # type: ignore[attr-defined]
        yield client


async def _enroll(client, klass: dict, **extra) -> dict:
    r = await client.post("/v1/students", json=student_body(klass, enrolled_on="2026-09-01", **extra))
    assert r.status_code == 201, r.text
    return r.json()


async def _change(client, sid: str, headers=None, **body):
    return await client.post(f"/v1/students/{sid}/status-changes", json={"reason": "paperwork", **body},
                             headers=headers)


async def _outbox(client, event_type: str) -> list[dict]:
    async with client.app.state.runtime.sessionmaker() as s:
        rows = (await s.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)
                                .order_by(outbox.c.id))).scalars().all()
    return [json.loads(p) for p in rows]


async def _watch(client, headers=None, **params) -> dict[str, dict]:
    r = await client.get("/v1/students/watch", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {item["student_id"]: item for item in r.json()["items"]}


def _fields(resp) -> list[str]:
    return [e["field"] for e in resp.json()["errors"]]


async def test_boarding_elsewhere_names_its_host_and_end_and_gets_the_hosts_receipt(registry):
    a = await school_with_class(registry, school=SCHOOL_A)
    await school_with_class(registry, school=SCHOOL_B)
    await school_with_class(registry, school=SCHOOL_C)
    home, host, third = (bearer("school_staff", s) for s in (SCHOOL_A, SCHOOL_B, SCHOOL_C))
    registry.clock.advance(days=3)

    # Inconsistent terms: 422 naming the field, nothing written.
    sid = (await _enroll(registry, a))["id"]
    for body, field in (({"host_school_code": "9999999999"}, "host_school_code"),
                        ({"host_school_code": SCHOOL_A}, "host_school_code"),
                        ({"host_school_name": "东莞市某小学"}, "host_region"),
                        ({"host_school_code": SCHOOL_B, "expected_end": "2026-09-01"}, "expected_end")):
        r = await _change(registry, sid, status="boarding_elsewhere", **body)
        assert r.status_code == 422 and _fields(r) == [field], r.text
        assert r.headers["content-type"] == "application/problem+json"
    r = await _change(registry, sid, status="suspended", host_school_code=SCHOOL_B)
    assert r.status_code == 422 and _fields(r) == ["host_school_code"]
    assert (await registry.get(f"/v1/students/{sid}")).json()["status"] == "enrolled"
    assert await _watch(registry) == {}

    # A host in the system: it sees the child on its own watch list and confirms the receipt itself.
    r = await _change(registry, sid, status="boarding_elsewhere", host_school_code=SCHOOL_B,
                      expected_end="2027-01-20", headers=home)
    assert r.status_code == 201, r.text
    period = r.json()["period_id"]
    assert r.json()["missing"] == ["receipt"]
    item = (await _watch(registry, home))[sid]
    assert (item["status"], item["since"], item["days_off"], item["missing"], item["overdue"]) == (
        "boarding_elsewhere", "2026-09-04", 0, ["receipt"], [])
    assert (item["host_school_code"], item["expected_end"], item["period_id"]) == (SCHOOL_B, "2027-01-20", period)
    assert sid in await _watch(registry, host) and await _watch(registry, third) == {}
    assert sid in await _watch(registry, org_code=SCHOOL_B) and await _watch(registry, org_code=SCHOOL_C) == {}
    assert (await registry.post(f"/v1/students/off-roll/{period}/receipt", json={}, headers=third)).status_code == 404
    registry.clock.advance(days=2)
    r = await registry.post(f"/v1/students/off-roll/{period}/receipt", json={}, headers=host)
    assert r.status_code == 200, r.text
    assert (r.json()["received_on"], r.json()["receipt_by"], r.json()["missing"]) == (
        "2026-09-06", "test-school_staff", [])
    assert (await registry.post(f"/v1/students/off-roll/{period}/receipt", json={}, headers=host)).status_code == 409
    assert (await _watch(registry, home))[sid]["missing"] == []

    # A host outside the system: the home school records the paper receipt, with its evidence.
    far = (await _enroll(registry, a))["id"]
    r = await _change(registry, far, status="boarding_elsewhere", host_school_name="广东省东莞市某小学",
                      host_region="441900", expected_end="2027-01-20")
    outside = r.json()["period_id"]
    r = await registry.post(f"/v1/students/off-roll/{outside}/receipt", json={}, headers=home)
    assert r.status_code == 422 and _fields(r) == ["evidence"]
    r = await registry.post(f"/v1/students/off-roll/{outside}/receipt", headers=home,
                            json={"evidence": "东莞市某小学回执, 盖章扫描件"})
    assert r.status_code == 200 and r.json()["receipt_evidence"] == "东莞市某小学回执, 盖章扫描件", r.text

    # The old shape (no host, no end) is accepted; the answer and the list say what is missing,
    # and the school supplies it later.
    bare = (await _enroll(registry, a))["id"]
    r = await _change(registry, bare, status="boarding_elsewhere")
    assert r.status_code == 201 and r.json()["missing"] == ["host", "expected_end", "receipt"], r.text
    legacy = r.json()["period_id"]
    r = await registry.patch(f"/v1/students/off-roll/{legacy}", headers=home, json={"host_region": "441900"})
    assert r.status_code == 422 and _fields(r) == ["host_school_name"]
    assert (await registry.patch(f"/v1/students/off-roll/{legacy}", headers=host,
                                 json={"expected_end": "2027-01-20"})).status_code == 404  # the home school's
    r = await registry.patch(f"/v1/students/off-roll/{legacy}", headers=home,
                             json={"host_school_code": SCHOOL_B, "expected_end": "2027-01-20"})
    assert r.status_code == 200 and r.json()["missing"] == ["receipt"], r.text

    # Back on the roll: the period closes and the child leaves the list.
    assert (await _change(registry, sid, status="enrolled")).status_code == 201
    assert sid not in await _watch(registry)
    r = await registry.get(f"/v1/students/off-roll/{period}", headers=home)
    assert r.json()["closed_on"] == "2026-09-06" and r.json()["missing"] == []
    assert (await registry.post(f"/v1/students/off-roll/{period}/receipt", json={"evidence": "x"})).status_code == 409
    assert (await registry.get(f"/v1/students/off-roll/{period}", headers=third)).status_code == 404


async def test_the_watch_list_shows_suspensions_and_transfers_out_by_time_off(registry):
    a = await school_with_class(registry, school=SCHOOL_A)
    b = await school_with_class(registry, school=SCHOOL_B)
    ill, moved, fine = [await _enroll(registry, a) for _ in range(3)]
    head_teacher = bearer("head_teacher", SCHOOL_A, classes=[a["id"]])
    other_class = bearer("head_teacher", SCHOOL_A, classes=[b["id"]])
    r = await registry.post(f"/v1/students/{moved['id']}/transfers", json={"to_school_code": SCHOOL_B})
    transfer = r.json()["id"]
    registry.clock.advance(days=10)
    r = await _change(registry, ill["id"], status="suspended", reason="肺结核住院", expected_end="2026-12-31")
    assert r.status_code == 201 and r.json()["missing"] == [], r.text
    registry.clock.advance(days=1)
    assert (await _change(registry, fine["id"], status="suspended", reason="骨折")).json()["missing"] == [
        "expected_end"]
    registry.clock.advance(days=19)  # 1 October: the transfer is 30 days old, the suspensions 20 and 19

    r = await registry.get("/v1/students/watch", params={"org_code": "410122", "limit": 2}, headers=head_teacher)
    assert r.json()["total"] == 3 and [i["student_id"] for i in r.json()["items"]] == [moved["id"], ill["id"]]
    listed = await _watch(registry, head_teacher)
    assert (listed[moved["id"]]["status"], listed[moved["id"]]["transfer_id"], listed[moved["id"]]["days_off"],
            listed[moved["id"]]["missing"], listed[moved["id"]]["overdue"]) == (
        "transferred_out", transfer, 30, ["receipt"], ["receipt"])
    assert (listed[ill["id"]]["days_off"], listed[ill["id"]]["missing"], listed[ill["id"]]["overdue"]) == (
        20, [], [])
    assert listed[fine["id"]]["missing"] == ["expected_end"] and listed[fine["id"]]["overdue"] == []
    assert await _watch(registry, other_class) == {}  # a head teacher sees their own classes only
    assert await _watch(registry, bearer("county_official", "420102")) == {}
    # The receiving school sees the child it is waiting for.
    assert set(await _watch(registry, bearer("school_staff", SCHOOL_B))) == {moved["id"]}


async def test_the_watchdog_fires_once_on_two_replicas_and_cases_opens_the_case(databases, broker):
    url = databases.url("registry")
    clock = FixedClock(T0)
    settings = {"clock": clock, "transfer_sweep_interval_s": 3600, "writes_per_minute": 100_000}
    async with running("registry", url, broker.bootstrap, **settings) as reg:
        a = await school_with_class(reg, school=SCHOOL_A)
        await school_with_class(reg, school=SCHOOL_B)
        kids = {name: (await _enroll(reg, a))["id"] for name in (
            "no_receipt", "past_end", "received", "suspended_past_end", "suspended_no_end", "suspended_ok",
            "returned")}
        for name, body in {
            "no_receipt": {"host_school_code": SCHOOL_B, "expected_end": "2027-01-20"},
            "past_end": {"host_school_name": "某校", "host_region": "441900", "expected_end": "2026-09-20"},
            "received": {"host_school_code": SCHOOL_B, "expected_end": "2027-01-20"},
            "returned": {"host_school_code": SCHOOL_B, "expected_end": "2027-01-20"},
        }.items():
            r = await _change(reg, kids[name], status="boarding_elsewhere", effective_on="2026-09-01", **body)
            assert r.status_code == 201, r.text
            if name in ("past_end", "received"):
                r = await reg.post(f"/v1/students/off-roll/{r.json()['period_id']}/receipt", json={"evidence": "回执"})
                assert r.status_code == 200, r.text
        for name, end in (("suspended_past_end", "2026-09-30"), ("suspended_no_end", None),
                          ("suspended_ok", "2026-10-31")):
            r = await _change(reg, kids[name], status="suspended", reason="病休", expected_end=end)
            assert r.status_code == 201, r.text
        clock.advance(days=1)
        assert (await _change(reg, kids["returned"], status="enrolled")).status_code == 201

        labels = {"service": "registry", "job": "overdue_off_roll", "outcome": "ok"}

        async def passes() -> float:
            return REGISTRY.get_sample_value("baoxue_job_runs_total", labels) or 0.0
        before = await passes()
        async with running("registry", url, broker.bootstrap, migrated=True, **settings) as replica:
            # The replica's start-up pass runs before anything is due; wait for it, so it cannot
            # race the test's own sweeps unseen.
            await eventually(lambda: _more(passes, before), timeout=10)
            runtimes = [reg.app.state.runtime, replica.app.state.runtime]

            async def sweep(runtime) -> int:
                async with runtime.uow(clock=clock) as uow:
                    return await flag_overdue_off_roll(uow, overdue_after_days=30)
            clock.set(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))  # day 29: only past_end is late
            assert sum(await asyncio.gather(*(sweep(r) for r in runtimes))) == 1
            clock.set(datetime(2026, 10, 1, 2, 0, tzinfo=UTC))  # day 30; suspended_past_end ended 09-30
            counts = await asyncio.gather(*(sweep(r) for r in runtimes))
            assert sum(counts) == 3 and await sweep(runtimes[1]) == 0 and await sweep(runtimes[0]) == 0
        watched = await _watch(reg)
        assert watched[kids["no_receipt"]]["overdue"] == ["receipt"]
        assert watched[kids["suspended_ok"]]["overdue"] == [] and kids["returned"] not in watched

        boarding, suspension = await _outbox(reg, BOARDING), await _outbox(reg, SUSPENSION)
        assert sorted((e["student_id"], e["missing"]) for e in boarding) == sorted(
            [(kids["past_end"], "return"), (kids["no_receipt"], "receipt")])
        assert sorted(e["student_id"] for e in suspension) == sorted(
            [kids["suspended_past_end"], kids["suspended_no_end"]])
        late = next(e for e in boarding if e["missing"] == "return")
        assert (late["days_off"], late["host_school_name"], late["org_path"][-1]) == (29, "某校", SCHOOL_A)
        assert all(e["reason"] == "病休" and e["overdue_after_days"] == 30 for e in suspension)

        # Extending the suspension is a new promise: when it passes too, it is announced again.
        period = watched[kids["suspended_past_end"]]["period_id"]
        r = await reg.patch(f"/v1/students/off-roll/{period}", json={"expected_end": "2026-10-15"})
        assert r.status_code == 200 and r.json()["overdue"] == [], r.text
        async with reg.app.state.runtime.uow(clock=clock) as uow:
            assert await flag_overdue_off_roll(uow, overdue_after_days=30) == 0
        clock.set(datetime(2026, 10, 16, 2, 0, tzinfo=UTC))
        async with reg.app.state.runtime.uow(clock=clock) as uow:
            assert await flag_overdue_off_roll(uow, overdue_after_days=30) == 1
        events = await read_events(broker.bootstrap, TOPIC_REGISTRY, until=lambda evs: len(
            {e.id for e in evs if e.type in (BOARDING, SUSPENSION)}) >= 5, timeout=30)
    # Two relays on one outbox may both send a row (at least once on the wire): one id per fact.
    overdue = {e.id: e for e in events if e.type in (BOARDING, SUSPENSION)}
    assert len(overdue) == 5
    assert [e.data["expected_end"] for e in overdue.values() if e.data["student_id"] == kids["suspended_past_end"]
            ] == ["2026-09-30", "2026-10-15"]

    # Cases opens one case per child, whatever the repeats on the wire.
    async with running("cases", databases.url("cases"), broker.bootstrap) as cases:
        async def case_of(student_id: str):
            page = (await cases.get("/v1/cases", params={"student_id": student_id})).json()
            return page["items"] if page["total"] else None
        for name, origin in (("no_receipt", "boarding_overdue"), ("past_end", "boarding_overdue"),
                             ("suspended_past_end", "suspension_overdue"),
                             ("suspended_no_end", "suspension_overdue")):
            found = await eventually(lambda: case_of(kids[name]), timeout=60)
            assert [(c["origin"], c["school_code"]) for c in found] == [(origin, SCHOOL_A)], name
        for name in ("received", "returned"):
            assert await case_of(kids[name]) is None


async def _more(passes, before: float) -> bool:
    return await passes() > before


async def test_the_receiving_school_asks_and_the_sending_school_confirms(registry):
    a = await school_with_class(registry, school=SCHOOL_A)
    b = await school_with_class(registry, school=SCHOOL_B, grade=8)
    sender, receiver = bearer("school_staff", SCHOOL_A), bearer("school_staff", SCHOOL_B)
    body = student_body(a, enrolled_on="2026-09-01", name="李小花")
    student = (await registry.post("/v1/students", json=body)).json()
    ask = {"national_id": body["national_id"], "name": "李小花", "class_id": b["id"], "reason": "随父母迁居"}

    # The child is found by ID number and name together; a class of another school is not yours.
    r = await registry.post("/v1/students/transfer-requests", headers=receiver, json={**ask, "name": "李小草"})
    assert r.status_code == 404
    assert (await registry.post("/v1/students/transfer-requests", headers=receiver,
                                json={**ask, "class_id": a["id"]})).status_code == 404
    r = await registry.post("/v1/students/transfer-requests", headers=receiver, json=ask)
    assert r.status_code == 201, r.text
    transfer = r.json()
    assert (transfer["started_by"], transfer["from_school_code"], transfer["to_school_code"], transfer["status"]) == (
        "receiver", SCHOOL_A, SCHOOL_B, "pending")
    # Nothing moved yet; both sides see it pending; a second request or a transfer out waits.
    assert (await registry.get(f"/v1/students/{student['id']}")).json()["status"] == "enrolled"
    for side in (sender, receiver):
        listed = (await registry.get("/v1/students/transfers", params={"status": "pending"}, headers=side)).json()
        assert [t["id"] for t in listed["items"]] == [transfer["id"]]
    assert (await registry.post("/v1/students/transfer-requests", headers=receiver, json=ask)).status_code == 409
    assert (await registry.post(f"/v1/students/{student['id']}/transfers", headers=sender,
                                json={"destination": "外省"})).status_code == 409
    # The receiver cannot confirm its own request, nor the sender withdraw it.
    confirm = f"/v1/students/transfers/{transfer['id']}/confirm"
    assert (await registry.post(confirm, headers=receiver, json={})).status_code == 404
    assert (await registry.post(f"/v1/students/transfers/{transfer['id']}/cancel", headers=sender)).status_code == 404
    r = await registry.post(confirm, headers=sender, json={"class_id": a["id"]})
    assert r.status_code == 422 and _fields(r) == ["class_id"]
    registry.clock.advance(days=2)
    r = await registry.post(confirm, headers=sender, json={})
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    moved = (await registry.get(f"/v1/students/{student['id']}")).json()
    assert (moved["status"], moved["school_code"], moved["class_id"], moved["grade"]) == (
        "transferred_in", SCHOOL_B, b["id"], 8)
    events = await _outbox(registry, "baoxue.registry.student.status_changed")
    assert [(e["status"], e["school_code"], e["effective_on"]) for e in events] == [
        ("transferred_out", SCHOOL_A, "2026-09-01"), ("transferred_in", SCHOOL_B, "2026-09-01")]

    # A request the sending school never confirms is overdue like any transfer; its asker withdraws it.
    other = student_body(a, enrolled_on="2026-09-01", name="王小明")
    await registry.post("/v1/students", json=other)
    r = await registry.post("/v1/students/transfer-requests", headers=receiver, json={
        "national_id": other["national_id"], "name": "王小明", "class_id": b["id"]})
    late = r.json()["id"]
    registry.clock.advance(days=30)
    async with registry.app.state.runtime.uow(clock=registry.clock) as uow:
        assert await flag_overdue_transfers(uow, overdue_after_days=30) == 1
    (event,) = await _outbox(registry, "baoxue.registry.transfer.overdue")
    assert (event["transfer_id"], event["started_by"], event["days_pending"]) == (late, "receiver", 30)
    r = await registry.post(f"/v1/students/transfers/{late}/cancel", headers=receiver)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert len(await _outbox(registry, "baoxue.registry.student.status_changed")) == 2  # the record never moved

    # The sending school's record moved on meanwhile (the child dropped out): nothing to confirm.
    gone = student_body(a, enrolled_on="2026-09-01", name="赵小军")
    gone_id = (await registry.post("/v1/students", json=gone)).json()["id"]
    r = await registry.post("/v1/students/transfer-requests", headers=receiver, json={
        "national_id": gone["national_id"], "name": "赵小军", "class_id": b["id"]})
    assert (await _change(registry, gone_id, status="dropped_out", reason="外出务工")).status_code == 201
    r = await registry.post(f"/v1/students/transfers/{r.json()['id']}/confirm", headers=sender, json={})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
    assert (await registry.get(f"/v1/students/{gone_id}")).json()["school_code"] == SCHOOL_A


async def test_records_already_off_the_roll_get_a_period_at_migration(databases):
    """Migration 0005 gives a record already boarding or suspended its period (start and reason
    from its history, nothing else known), so the watch list and the watchdog see it at once."""
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from tests.conftest import alembic_config

    url = databases.url("registry", empty=True)
    config = alembic_config("registry", url)
    await asyncio.to_thread(command.upgrade, config, "0004")
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO orgs (code, name, kind, path, path_key) VALUES "
                                "('410000', 'p', 'province', '[\"410000\"]', '/410000/'), "
                                "('4100001', 's', 'school', '[\"410000\", \"4100001\"]', '/410000/4100001/')"))
        await conn.execute(text("INSERT INTO classes (id, school_code, grade, name) VALUES ('c', '4100001', 7, '七1')"))
        for sid, status in (("s1", "suspended"), ("s2", "boarding_elsewhere"), ("s3", "enrolled")):
            await conn.execute(text(
                "INSERT INTO students (id, student_number, national_id, name, gender, birth_date, school_code, "
                "class_id, status, enrolled_on, guardians) VALUES (:id, :id, :id, 'x', 'male', '2013-04-01', "
                "'4100001', 'c', :status, '2026-09-01', '[]')"), {"id": sid, "status": status})
        await conn.execute(text(
            "INSERT INTO status_history (student_id, previous_status, status, effective_on, reason, actor, "
            "school_code, recorded_at) VALUES ('s1', 'enrolled', 'suspended', '2026-10-08', '病休', 'a', "
            "'4100001', '2026-10-08T00:00:00+00:00')"))
    await asyncio.to_thread(command.upgrade, config, "head")
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT student_id, kind, started_on, reason, expected_end, closed_at FROM off_roll_periods "
            "ORDER BY student_id"))).all()
    await engine.dispose()
    assert [(r[0], r[1], str(r[2]), r[3], r[4], r[5]) for r in rows] == [
        ("s1", "suspended", "2026-10-08", "病休", None, None),
        ("s2", "boarding_elsewhere", "2026-09-01", None, None, None)]
