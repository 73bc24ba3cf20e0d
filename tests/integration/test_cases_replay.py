"""Cases consumes through the real broker: redelivery and restarts yield one case, two reports.

The reports leave on confirmation or at the verification deadline (seed 000: 对48小时未到校又未履行请假
手续的学生，迅速查明原因，一经确定是辍学情况，立即向当地政府和教育部门报告); whichever comes first, and
however often events are redelivered, replicas sweep or the service restarts, one pair per case."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from shared.clock import FixedClock
from shared.envelope import TOPIC_ATTENDANCE, TOPIC_REGISTRY, TOPIC_REPORTS
from shared.messaging import dead_letters, outbox
from tests.conftest import bearer, running
from tests.factories import enrolled, threshold
from tests.kafka_helpers import eventually, publish, read_all


async def _count(sm, table, *where) -> int:
    async with sm() as s:
        return (await s.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def test_the_same_threshold_event_ten_times_and_after_a_restart_gives_one_case_two_reports(databases, broker):
    url = databases.url("cases")
    student = str(uuid.uuid4())
    first = threshold(student, "2026-11-14T00:00:00+00:00")
    await publish(broker.bootstrap, TOPIC_REGISTRY, enrolled(student))
    clock = FixedClock(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    fast = {"escalation_interval_s": 0.05}

    async with running("cases", url, broker.bootstrap, clock=clock, **fast) as cases, \
            running("cases", url, broker.bootstrap, clock=clock, migrated=True, **fast) as replica:
        # As in life, the enrolment is known long before an absence crosses 48 hours. (Kafka orders
        # nothing across topics: read from scratch together, the report could lack the guardians.)
        await eventually(lambda: _known(cases.app.state.runtime.sessionmaker), timeout=60)
        await publish(broker.bootstrap, TOPIC_ATTENDANCE, first, times=10)
        async def one_case():
            page = (await cases.get("/v1/cases", params={"student_id": student})).json()
            return page if page["total"] else None

        page = await eventually(one_case, timeout=60)
        sm = cases.app.state.runtime.sessionmaker
        issued = outbox.c.event_type == "baoxue.cases.dual_report.issued"
        assert await _count(sm, outbox, issued) == 0  # checked first: nothing before the deadline
        # Nobody decides: at the deadline both replicas sweep, and the pair leaves once, unverified.
        clock.advance(hours=24)
        await eventually(lambda: _count(sm, outbox, issued), timeout=30)
        # Confirmed after the deadline: the reports are out already, none is added.
        case_id = page["items"][0]["id"]
        assert (await replica.post(f"/v1/cases/{case_id}/transitions", json={
            "to": "confirmed", "causes": ["left_to_work"]})).status_code == 200
        await eventually(lambda: _all_sent(sm), timeout=30)
        assert page["total"] == 1 and await _count(sm, outbox, issued) == 2
        detail = (await cases.get(f"/v1/cases/{case_id}")).json()
        payloads = await _payloads(sm, "baoxue.cases.dual_report.issued")
        assert {(p["recipient_org_code"], p["unverified"]) for p in payloads} == {
            ("410122100-GOV", True), ("410122100-EDU", True)}
        # The report leaves the system: the guardian is named, the phone masked.
        assert payloads[0]["student"]["guardians"][0] == {"name": "王大山", "relation": "father", "phone": "138****0000"}
        assert payloads[0]["school"]["name"] == "城关镇第一初级中学"

    # Restart with the same database, then the event arrives ten more times.
    await publish(broker.bootstrap, TOPIC_ATTENDANCE, first, times=10)
    async with running("cases", url, broker.bootstrap, migrated=True, clock=clock, **fast) as cases:
        sm = cases.app.state.runtime.sessionmaker
        # A second episode while the case is open joins its timeline instead of opening another.
        # Same key, same partition: once it shows, the ten repeats before it were processed too.
        await publish(broker.bootstrap, TOPIC_ATTENDANCE, threshold(student, "2026-11-20T00:00:00+00:00"))

        async def episode_added():
            d = (await cases.get(f"/v1/cases/{detail['id']}")).json()
            return [e for e in d["timeline"] if e["kind"] == "absence_episode_added"]

        assert len(await eventually(episode_added, timeout=60)) == 1
        clock.advance(hours=48)  # sweeps after the restart find nothing more to issue, and escalate
        escalated = outbox.c.event_type == "baoxue.cases.dual_report.escalated"
        await eventually(lambda: _count(sm, outbox, escalated), timeout=30)
        await eventually(lambda: _all_sent(sm), timeout=30)
        assert (await cases.get("/v1/cases", params={"student_id": student})).json()["total"] == 1
        assert await _count(sm, outbox, outbox.c.event_type == "baoxue.cases.dual_report.issued") == 2
        assert await _count(sm, outbox, outbox.c.event_type == "baoxue.cases.case.opened") == 1
        on_topic = [e for e in await read_all(broker.bootstrap, TOPIC_REPORTS)
                    if e.data.get("case_id") == detail["id"]]
        # One pair issued; and, left unacknowledged past the deadline, each escalated once. (Two
        # relays may both publish a row: at least once on the wire, one event id, dropped by consumers.)
        distinct = {e.id: e for e in on_topic}.values()
        assert sorted((e.type.rsplit(".", 1)[-1], e.data["recipient"]) for e in distinct) == [
            ("escalated", "education"), ("escalated", "government"), ("issued", "education"), ("issued", "government")]


async def test_acknowledgement_is_idempotent_and_unknown_recipients_are_problems(databases, broker):
    student = str(uuid.uuid4())
    await publish(broker.bootstrap, TOPIC_ATTENDANCE, threshold(student, "2026-11-14T00:00:00+00:00"))
    async with running("cases", databases.url("cases"), broker.bootstrap) as cases:
        async def one_case():
            page = (await cases.get("/v1/cases", params={"student_id": student})).json()
            return page["items"][0] if page["total"] else None

        case = await eventually(one_case, timeout=60)
        for body in ({"to": "verifying"}, {"to": "confirmed", "causes": ["family"]}):
            assert (await cases.post(f"/v1/cases/{case['id']}/transitions", json=body)).status_code == 200
        url = f"/v1/cases/{case['id']}/reports/education/ack"
        # Only the recipient office acknowledges, or an official of its area (or above): to another
        # township's official and to the other line's office the education office's report is not
        # there; a teacher may not.
        assert (await cases.post(url, headers=bearer("township_official", "410122101"))).status_code == 404
        assert (await cases.post(url, headers=bearer("province_official", "420000"))).status_code == 404
        assert (await cases.post(url, headers=bearer("head_teacher", "410122100"))).status_code == 403
        assert (await cases.post(url, headers=bearer("recipient", "410122100-GOV"))).status_code == 404
        assert (await cases.post(url, headers=bearer("recipient", "410122100"))).status_code == 404
        bureau = bearer("recipient", "410122100-EDU")
        a, b = (await cases.post(url, headers=bureau)).json(), (await cases.post(url, headers=bureau)).json()
        assert a["acknowledged_at"] is not None and a == b
        sm = cases.app.state.runtime.sessionmaker
        assert await _count(sm, outbox, outbox.c.event_type == "baoxue.cases.dual_report.acknowledged") == 1
        bad = await cases.post(f"/v1/cases/{case['id']}/reports/police/ack", headers=bureau)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "recipient"
        assert (await cases.post("/v1/cases/nope/reports/education/ack", headers=bureau)).status_code == 404
        # Without the registry event the event's own org chain addresses both reports.
        detail = (await cases.get(f"/v1/cases/{case['id']}")).json()
        assert {(r["recipient"], r["recipient_org_code"]) for r in detail["reports"]} == {
            ("government", "410122100-GOV"), ("education", "410122100-EDU")}
        # An official of the area acknowledges for its government office, at any level (here the city).
        gov = f"/v1/cases/{case['id']}/reports/government/ack"
        r = await cases.post(gov, headers=bearer("city_official", "410100"))
        assert r.status_code == 200 and r.json()["acknowledged_at"] is not None


async def test_a_poison_message_is_set_aside_and_the_consumer_keeps_going(databases, broker):
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    await producer.send_and_wait(TOPIC_ATTENDANCE, b"{not json", key=b"x",
                                 headers=[("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t")])
    await producer.send_and_wait(TOPIC_ATTENDANCE, b"{}", key=b"x", headers=[("ce_type", b"t")])
    await producer.stop()
    student = str(uuid.uuid4())
    await publish(broker.bootstrap, TOPIC_ATTENDANCE, threshold(student, "2026-11-14T00:00:00+00:00"))
    async with running("cases", databases.url("cases"), broker.bootstrap) as cases:
        async def opened():
            return (await cases.get("/v1/cases", params={"student_id": student})).json()["total"] == 1

        await eventually(opened, timeout=60)
        sm = cases.app.state.runtime.sessionmaker

        async def set_aside():  # key x's partition is read apart from the student's: wait for it too
            async with sm() as s:
                found = (await s.execute(select(dead_letters.c.reason).order_by(dead_letters.c.id))).scalars().all()
            return found if len(found) >= 2 else None

        reasons = await eventually(set_aside, timeout=60)
        assert len(reasons) == 2 and "not JSON" in reasons[0] and "ce_id" in reasons[1]


async def _all_sent(sm) -> bool:
    return await _count(sm, outbox) > 0 and await _count(sm, outbox, outbox.c.sent_at.is_(None)) == 0


async def _known(sm) -> bool:
    from cases.adapters.tables import students

    return await _count(sm, students) == 1


async def _payloads(sm, event_type: str) -> list[dict]:
    async with sm() as s:
        rows = (await s.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type))).scalars().all()
    return [json.loads(r) for r in rows]
