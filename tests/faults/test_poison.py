"""Poison messages: set aside in the dead-letter table and topic with the reason, the consumer
keeps going, and the operator lists and replays them over HTTP (cases, through the real broker)."""

from __future__ import annotations

import asyncio
import base64
import uuid

import pytest
from sqlalchemy import select

from reporting.adapters.tables import orgs
from shared.clock import SystemClock
from shared.consumer import EventConsumer
from shared.db import make_engine, make_sessionmaker
from shared.deadletters import set_aside
from shared.envelope import DEAD_LETTER_RECORDED, TOPIC_ATTENDANCE, TOPIC_DEADLETTER, TOPIC_REGISTRY, Event
from shared.events.registry import OrgRegistered, StudentStatusChanged
from shared.messaging import dead_letters, inbox, outbox
from shared.routes import Batched
from shared.uow import UnitsOfWork
from tests.conftest import TEST_JWT_SECRET, bearer, migrate, running, settings_for
from tests.factories import threshold
from tests.kafka_helpers import (
    eventually,
    group_has_consumed_everything,
    poison_record,
    publish,
    publish_many,
    publish_raw,
    read_events,
)

pytestmark = pytest.mark.timeout(120)
OPS = bearer("ops", "410000")


def ce(event_type: str, **drop: bool) -> list[tuple[str, bytes]]:
    headers = Event(type=event_type, source="/baoxue/elsewhere", subject="s", data={}).headers()
    return [(k, v) for k, v in headers if not drop.get(k)]


async def test_poison_is_set_aside_published_listed_and_replayable(databases, broker):
    student = str(uuid.uuid4())
    key = student.encode()  # the student's partition: the good event waits behind the poison
    await publish_raw(broker.bootstrap, TOPIC_ATTENDANCE, b"{not json", ce("baoxue.attendance.student.returned"), key=key)
    await publish_raw(broker.bootstrap, TOPIC_ATTENDANCE, b"{}", ce("baoxue.attendance.student.teleported"), key=key)
    await publish_raw(broker.bootstrap, TOPIC_ATTENDANCE, b"{}", ce("baoxue.attendance.student.returned", ce_id=True),
                      key=key)
    # A known type whose data does not fit its model: set aside at once, naming the field.
    broken = Event(type="baoxue.attendance.absence.threshold_reached", source="/baoxue/attendance",
                   subject=student, data={"episode_id": "e1"})
    await publish(broker.bootstrap, TOPIC_ATTENDANCE, broken)
    await publish(broker.bootstrap, TOPIC_ATTENDANCE, threshold(student, "2026-11-14T00:00:00+00:00"))

    async with running("cases", databases.url("cases"), broker.bootstrap) as cases:
        async def opened():
            return (await cases.get("/v1/cases", params={"student_id": student})).json()["total"] == 1

        await eventually(opened, timeout=60)  # the consumer kept going past all four
        listed = (await cases.get("/v1/dead-letters", headers=OPS)).json()
        assert listed["total"] == 4
        reasons = [d["reason"] for d in listed["items"]]
        assert "not JSON" in reasons[0]
        assert "unknown event type 'baoxue.attendance.student.teleported'" in reasons[1]
        assert "ce_id" in reasons[2]
        assert reasons[3].startswith(f"invalid {broken.type} data: /student_id: Field required")
        assert listed["items"][3]["event_id"] == broken.id and all(d["replayed_at"] is None for d in listed["items"])
        assert "value" not in listed["items"][0]  # children's data stays out of the ops view

        # Each is on the dead-letter topic once, with the reason in a header and the record whole.
        published = await read_events(broker.bootstrap, TOPIC_DEADLETTER, until=lambda evs: len(evs) >= 4)
        published.sort(key=lambda e: e.data["dead_letter_id"])  # keyed by origin: several partitions
        assert [e.type for e in published] == [DEAD_LETTER_RECORDED] * 4
        assert {e.source for e in published} == {"/baoxue/cases"}
        assert [e.extensions["deadletterreason"] for e in published] == reasons
        assert base64.b64decode(published[0].data["value_base64"]) == b"{not json"
        assert published[0].data["dead_letter_id"] == listed["items"][0]["id"]

        # Unreadable or not understood: replay refuses and the row stays pending.
        for item in listed["items"]:
            r = await cases.post(f"/v1/dead-letters/{item['id']}/replay", headers=OPS)
            assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
        pending = (await cases.get("/v1/dead-letters", params={"pending": "true"}, headers=OPS)).json()
        assert pending["total"] == 4
        assert (await cases.post("/v1/dead-letters/999999/replay", headers=OPS)).status_code == 404
        assert (await cases.get("/v1/dead-letters", headers=bearer("province_official"))).status_code == 403

        # A good event set aside (say, the handler had a bug, since fixed) is applied by a replay,
        # once: a second replay and a replay of an event applied before change nothing.
        other = str(uuid.uuid4())
        runtime = cases.app.state.runtime
        good = threshold(other, "2026-11-15T00:00:00+00:00")
        async with runtime.uow() as uow:
            assert await set_aside(uow, "cases", poison_record(good.value(), good.headers(), topic=TOPIC_ATTENDANCE),
                                   "handler failed 3 times: seeded")
            await uow.commit()
        fixed = (await cases.get("/v1/dead-letters", params={"pending": "true"}, headers=OPS)).json()["items"][-1]
        first = (await cases.post(f"/v1/dead-letters/{fixed['id']}/replay", headers=OPS)).json()
        again = (await cases.post(f"/v1/dead-letters/{fixed['id']}/replay", headers=OPS)).json()
        assert first["replay_outcome"] == "applied" and again == first
        assert (await cases.get("/v1/cases", params={"student_id": other})).json()["total"] == 1
        async with runtime.uow() as uow:  # the same event set aside twice (redelivered elsewhere)
            await set_aside(uow, "cases", poison_record(good.value(), good.headers(), topic=TOPIC_ATTENDANCE), "again")
            await uow.commit()
        twin = (await cases.get("/v1/dead-letters", params={"pending": "true"}, headers=OPS)).json()["items"][-1]
        replayed = (await cases.post(f"/v1/dead-letters/{twin['id']}/replay", headers=OPS)).json()
        assert replayed["replay_outcome"] == "duplicate"
        assert (await cases.get("/v1/cases", params={"student_id": other})).json()["total"] == 1
        done = (await cases.get("/v1/dead-letters", params={"pending": "false"}, headers=OPS)).json()
        assert [d["id"] for d in done["items"]] == [fixed["id"], twin["id"]]


async def test_a_payload_that_does_not_fit_its_model_is_set_aside_at_first_delivery_naming_the_field(databases):
    # reporting registers models: the data is validated before any attempt, so the reason is the
    # validation's (not "handler failed 3 times"), and a good event behind it is applied.
    bad = Event(type=OrgRegistered.TYPE, source="/baoxue/registry", subject="410122",
                data={"code": "410122", "name": "中牟县", "kind": "county", "path": "410122"})
    good = Event(type=OrgRegistered.TYPE, source="/baoxue/registry", subject="410000",
                 data=OrgRegistered(code="410000", name="河南省", kind="province", parent_code=None,
                                    path=["410000"]).payload())
    async with running("reporting", databases.url("reporting"), "127.0.0.1:1") as reporting:
        consumer = reporting.app.state.runtime.consumers[0]
        for event in (bad, good):
            await consumer.apply(poison_record(event.value(), event.headers()), asyncio.Event())
        (item,) = (await reporting.get("/v1/dead-letters", headers=OPS)).json()["items"]
        assert item["event_id"] == bad.id
        assert item["reason"].startswith(f"invalid {OrgRegistered.TYPE} data: ")
        assert "/parent_code: Field required" in item["reason"] and "/path: Input should be a valid list" in item["reason"]
        async with reporting.app.state.runtime.uow() as uow:  # the good one went through its handler
            assert (await uow.session.execute(select(orgs.c.code))).scalars().all() == ["410000"]


async def test_a_batch_applies_around_failing_handlers_once_each_in_order_and_sets_the_poison_aside(databases, broker):
    # One partition's burst, fetched together: good events of two types, one type with a handler
    # per record and one with a batch handler (``Batched``: runs of consecutive events in one call),
    # a repeat, a payload that does not fit its model and, of each type, one whose handler fails.
    # The batch's transaction is rolled back and split; every good event's effect (an outbox row
    # with a fresh id: applying twice would leave two) is there once, in the burst's order, and the
    # failing ones and the invalid one are set aside, once each.
    url = databases.url("reporting")
    await asyncio.to_thread(migrate, "reporting", url)
    group = f"batch-{uuid.uuid4().hex[:8]}"
    settings = settings_for("reporting", database_url=url, kafka_bootstrap=broker.bootstrap, environment="test",
                            jwt_secret=TEST_JWT_SECRET, consumer_group=group)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    runs: list[int] = []

    async def echo(uow, received) -> None:
        if received.data.name == "poison":
            raise RuntimeError("a handler bug")
        uow.emit(received.data, subject=received.data.code)

    async def echo_many(uow, run) -> None:
        runs.append(len(run))
        if any(received.data.status == "poison" for received in run):
            raise RuntimeError("a batch handler bug")
        for received in run:
            uow.emit(received.data, subject=str(received.data.student_id))

    def org(code: str, name: str = "乡镇") -> Event:
        return Event(type=OrgRegistered.TYPE, source="/baoxue/registry", subject="batch", data=OrgRegistered(
            code=code, name=name, kind="township", parent_code="410122", path=["410000", code]).payload())

    def status(student_id: str, to: str = "suspended") -> Event:
        return Event(type=StudentStatusChanged.TYPE, source="/baoxue/registry", subject="batch",
                     data=StudentStatusChanged(student_id=student_id, status=to).payload())

    orgs_ = [org(f"41012210{i}") for i in range(6)]
    students = [status(str(uuid.UUID(int=i + 1))) for i in range(6)]
    poison, poison_status = org("410122199", name="poison"), status(str(uuid.UUID(int=99)), to="poison")
    invalid = Event(type=OrgRegistered.TYPE, source="/baoxue/registry", subject="batch", data={"code": "x"})
    good = [orgs_[0], *students[:3], orgs_[1], orgs_[2], *students[3:5], orgs_[3], orgs_[4], students[5], orgs_[5]]
    burst = [*good[:2], poison, *good[2:4], poison_status, *good[4:7], invalid, *good[7:], good[0], students[1]]
    await publish_many(broker.bootstrap, TOPIC_REGISTRY, burst)

    units = UnitsOfWork(sm, source="/baoxue/reporting", clock=SystemClock())
    consumer = EventConsumer(settings, units, handlers={OrgRegistered: echo, StudentStatusChanged: Batched(echo_many)})
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(lambda: group_has_consumed_everything(broker.bootstrap, group, [TOPIC_REGISTRY]), timeout=60)
    finally:
        stop.set()
        await task
        await consumer.close()
    async with sm() as s:
        echoed = (await s.execute(select(outbox.c.subject).where(
            outbox.c.event_type.in_([OrgRegistered.TYPE, StudentStatusChanged.TYPE])).order_by(outbox.c.id))).scalars()
        claimed = (await s.execute(select(inbox.c.event_id))).scalars().all()
        set_aside_ids = (await s.execute(select(dead_letters.c.reason, dead_letters.c.value))).all()
    await engine.dispose()
    subject = {OrgRegistered.TYPE: "code", StudentStatusChanged.TYPE: "student_id"}
    assert list(echoed) == [e.data[subject[e.type]] for e in good]  # once each, in the burst's order
    assert sorted(claimed) == sorted(e.id for e in good)
    assert max(runs) > 1  # the batch handler was given runs of events, not one at a time
    reasons = sorted(reason.split(":")[0] for reason, _ in set_aside_ids)
    assert reasons == ["handler failed 3 times"] * 2 + [f"invalid {OrgRegistered.TYPE} data"]
