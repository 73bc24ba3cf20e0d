"""Two replicas of each consuming service in one consumer group, six partitions a topic: each
replica is given partitions, a backlog has its effects exactly once, and a replica of each
service SIGKILLed in the middle of it loses nothing (the survivor takes its partitions over).

The four consuming services run in one scenario, two cohorts of children:

- absent children: enrolled (attendance, cases, reporting read it), then an absence threshold
  each (cases, reporting), which opens one case announced on the cases topic and issues its two
  dual reports at the verification deadline (reporting reads both);
- dropouts: a registry record and an enrolment each, then a confirmed dropout from cases (the
  registry's one input), which the registry applies to the record and announces as a
  ``student.status_changed`` (attendance, cases, reporting read it).

Each service's second replica is SIGKILLed a third of the way through that service's own
stream (a third of its inputs applied, so two thirds are left to the survivor; the two replicas
share the first third, as a group does). The kills fall within seconds of each other, each
mid-stream for its service, so the six-second session timeouts after them overlap rather than
follow one another. The services are independent there (own group, own database), so killing
them together proves for each what killing them in turn would, in one wait instead of four.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections import Counter as Tally
from datetime import date

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import insert, select

from shared.envelope import TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_DEADLETTER, TOPIC_REGISTRY, TOPIC_REPORTS, Event
from shared.kafka import CONTRACT_TOPICS
from shared.messaging import dead_letters, inbox, outbox
from shared.routes import Routes
from tests.factories import CHAIN, PATH, Counter, enrolled, stack_for, threshold
from tests.kafka_helpers import eventually, group_has_consumed_everything, publish_many, read_all

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

PARTITIONS = 6
ABSENT, DROPOUTS = 300, 150  # children in each cohort (the dropouts feed all four services)
SERVICES = ("registry", "attendance", "cases", "reporting")
ABSENT_SINCE = "2026-11-14T00:00:00+00:00"  # the absent children's episodes
DROPPED_SINCE = "2026-11-10T00:00:00+00:00"  # the dropouts' confirmed absence
ENROLLED_ON = date(2026, 9, 1)


def subscriptions() -> dict[str, list[str]]:
    """What each service's consumer subscribes to: the topics of the events its bootstrap handles."""
    from attendance.bootstrap import HANDLERS as attendance
    from cases.bootstrap import HANDLERS as cases
    from registry.bootstrap import HANDLERS as registry
    from reporting.usecases.projections import HANDLERS as reporting

    return {"registry": Routes(registry).topics, "attendance": Routes(attendance).topics,
            "cases": Routes(cases).topics, "reporting": Routes(reporting).topics}


TOPICS = subscriptions()


async def create_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=1)
                                   for t in CONTRACT_TOPICS])
    finally:
        await admin.close()


def assigned(stack, name: str) -> set[TopicPartition] | None:
    """The partitions the group last gave that process, from its log (`consumer.assigned`;
    Tansu's DescribeGroups names the members but not their assignments), or None before any."""
    last = None
    for line in (stack.var_dir / "log" / f"{name}.log").read_text(errors="replace").splitlines():
        if line.startswith("{") and (entry := json.loads(line)).get("msg") == "consumer.assigned":
            last = {TopicPartition(tp.rpartition("/")[0], int(tp.rpartition("/")[2])) for tp in entry["partitions"]}
    return last


def every_partition(service: str) -> set[TopicPartition]:
    return {TopicPartition(t, p) for t in TOPICS[service] for p in range(PARTITIONS)}


def split_between(members: list[set[TopicPartition] | None], service: str):
    """The processes' partitions when each has some and together they have all of them once."""
    if not all(members):
        return None
    together = [tp for m in members for tp in m]
    return members if len(together) == len(set(together)) and set(together) == every_partition(service) else None


def confirmed(student_id: str) -> Event:
    """A confirmed dropout, as the cases service announces one (``moves.decide_move``)."""
    return Event(type="baoxue.cases.case.status_changed", source="/baoxue/cases", subject=student_id, data={
        "case_id": str(uuid.uuid4()), "student_id": student_id, "status": "confirmed", "previous_status": "verifying",
        "at": DROPPED_SINCE, "actor": "test-county-official", "causes": ["weariness_of_study"], "cause_note": None,
        "origin": "absence", "dropped_out_since": DROPPED_SINCE})


async def seed_registry(db: Counter, students: list[str]) -> None:
    """The dropouts' records as the registry holds them before the scenario (its school and class
    in the org tree of ``enrolled``), written in SQL: the registry's API is not under test here."""
    from registry.adapters.tables import classes, orgs
    from registry.adapters.tables import students as records

    async with db.engine.begin() as conn:
        for depth, org in enumerate(CHAIN):
            await conn.execute(insert(orgs).values(
                code=org["code"], name=org["name"], kind=org["kind"], parent_code=PATH[depth - 1] if depth else None,
                path=PATH[:depth + 1], system="6+3" if org["kind"] == "school" else None))
        await conn.execute(insert(classes).values(id="c1", school_code=PATH[-1], grade=7, name="七年级(1)班"))
        await conn.execute(insert(records), [
            {"id": s, "student_number": f"G{n:08d}", "national_id": None, "no_id_reason": "test record",
             "name": "王小明", "gender": "male", "birth_date": date(2013, 4, 1), "school_code": PATH[-1],
             "class_id": "c1", "status": "enrolled", "enrolled_on": ENROLLED_ON, "guardians": []}
            for n, s in enumerate(students)])


async def test_two_replicas_share_the_partitions_and_a_killed_one_loses_nothing(fault_databases, broker, tmp_path):
    # The databases are cloned at the services' heads (tests/conftest.py Templates): no migrate.
    stack = stack_for(SERVICES, fault_databases, broker, tmp_path, BAOXUE_KAFKA_TOPIC_PARTITIONS=str(PARTITIONS))
    absent = [str(uuid.uuid4()) for _ in range(ABSENT)]
    dropouts = [str(uuid.uuid4()) for _ in range(DROPOUTS)]
    dbs = {service: Counter(stack.database_url(service)) for service in SERVICES}
    try:
        await asyncio.gather(create_topics(broker.bootstrap), seed_registry(dbs["registry"], dropouts))
        for service in SERVICES:
            stack.start(service)
        others = {service: stack.start_replica(service) for service in SERVICES}
        await asyncio.to_thread(stack.wait_ready, [*SERVICES, *others.values()])
        # Each replica is given partitions of every topic its service reads (3 of the 6 here).
        await asyncio.gather(*(eventually(lambda s=service: _split(stack, [s, others[s]], s), timeout=60)
                               for service in SERVICES))

        # The backlog. Each service's inputs, and the rows its inbox must end with:
        #   registry: the dropouts' confirmations;
        #   attendance: both cohorts' enrolments, the dropouts' status changes;
        #   cases: those, and the absent children's thresholds;
        #   reporting: all of those, and each case.opened and its two dual_report.issued.
        await publish_many(broker.bootstrap, TOPIC_REGISTRY,
                           [enrolled(s) for s in absent] + [_enrolled_on(s, ENROLLED_ON) for s in dropouts])
        await publish_many(broker.bootstrap, TOPIC_ATTENDANCE, [threshold(s, ABSENT_SINCE) for s in absent])
        await publish_many(broker.bootstrap, TOPIC_CASES, [confirmed(s) for s in dropouts])
        a, d = len(absent), len(dropouts)
        expected = {"registry": d, "attendance": a + 2 * d, "cases": 2 * a + 2 * d, "reporting": 5 * a + 3 * d}

        # SIGKILL the second replica of each service a third of the way through its own stream.
        async def kill_mid_stream(service: str) -> None:
            async def started() -> bool:
                return await dbs[service].rows(inbox) >= expected[service] // 3

            await eventually(started, timeout=90, interval=0.02)
            stack.kill(others[service])
            assert await dbs[service].rows(inbox) < expected[service], f"{service}: the backlog was done before the kill"

        await asyncio.gather(*(kill_mid_stream(service) for service in SERVICES))

        # The survivor takes every partition over, and applies what the killed one had not. The
        # counts are waited for first (the services feed each other: cases' output is reporting's
        # input, the registry's is the others'), then nothing is left in any outbox or on any
        # partition: no effect is still to come when the counts are taken.
        await asyncio.gather(*(eventually(lambda s=service: _split(stack, [s], s), timeout=60) for service in SERVICES))
        issued = outbox.c.event_type == "baoxue.cases.dual_report.issued"
        await asyncio.gather(
            *(eventually(lambda s=service: _at_least(dbs[s].rows(inbox), expected[s]), timeout=120)
              for service in SERVICES),
            # The jobs of both replicas claim in the database: two reports per case, none twice.
            eventually(lambda: _at_least(dbs["cases"].rows(outbox, issued), 2 * a), timeout=120))
        await eventually(lambda: _settled(broker.bootstrap, dbs), timeout=60)

        # Exactly once: one inbox row per input event, each effect counted, nothing set aside.
        for service in SERVICES:
            assert await dbs[service].rows(inbox) == expected[service], service
            assert await dbs[service].rows(dead_letters) == 0, service
        assert await read_all(broker.bootstrap, TOPIC_DEADLETTER) == []
        await _registry_applied_each_once(dbs["registry"], dropouts)
        await _attendance_applied_each_once(dbs["attendance"], absent, dropouts)
        await _cases_applied_each_once(dbs["cases"], absent, dropouts)
        await _reporting_applied_each_once(dbs["reporting"], absent, dropouts)

        # On the output topics, read to the high watermark: one case.opened per absent child, one
        # status change per dropout. The relays publish at least once (Tansu has no idempotent
        # producer), so a record sent again by the survivor after the kill carries the same
        # ce_id, which consumers drop as a repeat.
        assert _once_each(await read_all(broker.bootstrap, TOPIC_CASES), "baoxue.cases.case.opened") == Tally(absent)
        assert _once_each(await read_all(broker.bootstrap, TOPIC_REGISTRY),
                          "baoxue.registry.student.status_changed") == Tally(dropouts)
        reports = _once_each(await read_all(broker.bootstrap, TOPIC_REPORTS), "baoxue.cases.dual_report.issued")
        assert sorted(reports.values()) == [2] * a
    finally:
        stack.stop()
        for db in dbs.values():
            await db.close()


async def _registry_applied_each_once(db: Counter, dropouts: list[str]) -> None:
    """Each record dropped out once: one history row and one announcement per child."""
    from registry.adapters.tables import status_history, students

    assert Tally(await _column(db, status_history.c.student_id, status_history.c.status == "dropped_out")) \
        == Tally(dropouts)
    assert await db.rows(students, students.c.status == "dropped_out") == len(dropouts)
    assert await db.rows(outbox, outbox.c.event_type == "baoxue.registry.student.status_changed") == len(dropouts)


async def _attendance_applied_each_once(db: Counter, absent: list[str], dropouts: list[str]) -> None:
    """Every child on the roster; the dropouts off the roll since their dropout, the others on it."""
    from attendance.adapters.tables import placements, roster

    assert Tally(await _column(db, roster.c.student_id, roster.c.active)) == Tally(absent)
    assert Tally(await _column(db, roster.c.student_id, roster.c.status == "dropped_out")) == Tally(dropouts)
    dropped_on = date.fromisoformat(DROPPED_SINCE[:10])
    assert Tally(await _column(db, placements.c.student_id, placements.c.effective_on == dropped_on)) \
        == Tally(dropouts)


async def _cases_applied_each_once(db: Counter, absent: list[str], dropouts: list[str]) -> None:
    """One case per absent child, announced once; the dropouts' copies follow the registry."""
    from cases.adapters.tables import cases, students

    assert Tally(await _column(db, cases.c.child_id)) == Tally(absent)
    assert await db.rows(outbox, outbox.c.event_type == "baoxue.cases.case.opened") == len(absent)
    assert await db.rows(outbox, outbox.c.event_type == "baoxue.cases.dual_report.issued") == 2 * len(absent)
    assert Tally(await _column(db, students.c.student_id, students.c.status == "dropped_out")) == Tally(dropouts)


async def _reporting_applied_each_once(db: Counter, absent: list[str], dropouts: list[str]) -> None:
    """The read model: one row per child, case, episode and report, and a status history of one
    row per status event (an insert, not an upsert: an event applied twice would show twice)."""
    from reporting.adapters.tables import absence_episodes, cases, dual_reports, student_statuses, students

    assert Tally(await _column(db, students.c.student_id)) == Tally(absent + dropouts)
    assert Tally(await _column(db, student_statuses.c.student_id)) == Tally(absent + 2 * dropouts)
    assert Tally(await _column(db, absence_episodes.c.student_id)) == Tally(absent)
    assert Tally(await _column(db, cases.c.student_id)) == Tally(absent)
    assert sorted(Tally(await _column(db, dual_reports.c.case_id)).values()) == [2] * len(absent)


async def _settled(bootstrap: str, dbs: dict[str, Counter]) -> bool:
    """Every outbox sent, then every group through every record on its topics' partitions."""
    for db in dbs.values():
        if await db.rows(outbox, outbox.c.sent_at.is_(None)):
            return False
    for service in SERVICES:
        if not await group_has_consumed_everything(bootstrap, f"baoxue-{service}", TOPICS[service]):
            return False
    return True


def _once_each(events: list[Event], event_type: str) -> Tally:
    """How many distinct events (by ce_id) of that type name each subject."""
    return Tally({e.id: e.subject for e in events if e.type == event_type}.values())


def _enrolled_on(student_id: str, on: date) -> Event:
    event = enrolled(student_id)
    return dataclasses.replace(event, data={**event.data, "enrolled_on": on.isoformat()})


async def _split(stack, names: list[str], service: str):
    return split_between([assigned(stack, name) for name in names], service)


async def _column(db: Counter, column, *where) -> list:
    async with db.engine.connect() as conn:
        return list((await conn.execute(select(column).where(*where))).scalars())


async def _at_least(count, n: int) -> bool:
    return await count >= n
