"""Reporting through the real broker: a summary reflects an event within 5 seconds of its
publication, and a rebuild by replay (``python -m reporting rebuild``) gives identical figures."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import case, func, select

from reporting.adapters.tables import roll_counts, student_statuses
from reporting.usecases.rebuild import TOPICS
from reporting.usecases.rolls import KEYS
from reporting.usecases.rolls import counted as rolls_recounted
from tests.conftest import ROOT, TEST_JWT_SECRET, bearer, running
from tests.factories import caught_up, inbox_rows, reporting_snapshot
from tests.kafka_helpers import eventually, group_has_consumed_everything
from tests.reporting_fixture import COUNTY, S1, _status, events

SUBMISSIONS = f"/v1/reports/weekly/{COUNTY}/2026-W47/submissions"


async def links_are_a_recount(client) -> None:
    """The links the projection keeps on each status row (the next row's date, the previous
    row's status, dropped out by then) are what windows over the whole history give now."""
    h = student_statuses
    order = (h.c.effective_on, h.c.at, h.c.id)
    recount = select(h.c.id, func.lead(h.c.effective_on, type_=h.c.effective_on.type).over(
                         partition_by=h.c.student_id, order_by=order),
                     func.lag(h.c.status).over(partition_by=h.c.student_id, order_by=order),
                     func.max(case((h.c.status == "dropped_out", 1), else_=0)).over(
                         partition_by=h.c.student_id, order_by=order) == 1).order_by(h.c.id)
    async with client.app.state.runtime.sessionmaker() as s:
        kept = (await s.execute(select(h.c.id, h.c.next_on, h.c.prev_status, h.c.was_out).order_by(h.c.id))).all()
        counted = (await s.execute(recount)).all()
    assert [tuple(r) for r in kept] == [(i, n, p, bool(o)) for i, n, p, o in counted]
    assert any(r.next_on for r in kept) and any(r.was_out for r in kept)  # the fixture has both
    # And the roll counts per class (reporting.usecases.rolls) are those of a recount.
    r = roll_counts
    async with client.app.state.runtime.sessionmaker() as s:
        rolls = Counter({tuple(row[:-1]): row[-1] for row in (await s.execute(
            select(*(r.c[k] for k in KEYS), r.c.epoch, r.c.n))).all()})
        recounted = Counter({tuple(row[:-1]): row[-1] for row in (await s.execute(rolls_recounted())).all()})
    assert rolls == recounted and sum(rolls.values()) == len({i for i, n, *_ in kept if n is None})


async def publish_all(bootstrap: str, evs) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, event in evs:
            await producer.send_and_wait(topic, event.value(), key=event.subject.encode(), headers=event.headers())
    finally:
        await producer.stop()


@pytest.mark.timing  # a five-second bound
async def test_a_summary_reflects_an_event_within_five_seconds(databases, broker):
    evs = events()
    await publish_all(broker.bootstrap, evs)
    async with running("reporting", databases.url("reporting"), broker.bootstrap) as client:
        await caught_up(client, len(evs))
        before = (await client.get("/v1/reports/summary", params={"org_code": S1, "date": "2026-11-30"})).json()
        assert before["dropped_out"] == 1
        _, change = _status("j1", "dropped_out", "enrolled", "2026-11-23", "2026-11-23T02:00:00", S1, 8, "illness")
        published = time.monotonic()
        await publish_all(broker.bootstrap, [("baoxue.registry.v1", change)])

        async def reflected():
            s = (await client.get("/v1/reports/summary", params={"org_code": S1, "date": "2026-11-30"})).json()
            return s if s["dropped_out"] == 2 else None

        after = await eventually(reflected, timeout=5, interval=0.05)
        took = time.monotonic() - published
        assert took < 5, took
        # The response says up to which event time it is current: this event's.
        assert after["as_of"].startswith("2026-11-23T02:00:00")


async def test_a_rebuild_by_replay_gives_identical_figures(databases, broker):
    evs = events()
    await publish_all(broker.bootstrap, evs)
    url = databases.url("reporting")
    async with running("reporting", url, broker.bootstrap) as client:
        await caught_up(client, len(evs))
        # S1's own targets (一县一策) are not a projection either: set before, kept by the rebuild.
        r = await client.put(f"/v1/targets/{S1}", json={"junior_dropout_max": 0.25, "retention_min": 0.7},
                             headers=bearer("county_official", COUNTY))
        assert r.status_code == 200, r.text
        first = await reporting_snapshot(client)
        await links_are_a_recount(client)
        # A county's submission is not a projection: the rebuild must keep it as it was.
        sent = (await client.post(SUBMISSIONS, headers=bearer("county_official", COUNTY))).json()
    assert first[f"summary {COUNTY} 2026-11-20"]["dropped_out"] == 1  # the figures are the fixture's
    assert first["dropouts"]["total"] == 2
    # Against its own targets S1 (2 of 8 lost this year, 0.25; retention 5/7) is on target.
    assert first[f"summary {S1} 2026-11-20"]["status"] == "on_target"
    assert first["targets"]["own"]["junior_dropout_max"] == 0.25

    env = {**os.environ, "BAOXUE_DATABASE_URL": url, "BAOXUE_KAFKA_BOOTSTRAP": broker.bootstrap,
           "BAOXUE_ENVIRONMENT": "test", "BAOXUE_JWT_SECRET": TEST_JWT_SECRET}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "reporting", "rebuild"], env=env,
                                   cwd=ROOT / "services" / "reporting", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"from {len(evs)} records" in done.stdout

    async with running("reporting", url, broker.bootstrap, migrated=True) as client:
        assert await inbox_rows(client) == len(evs)
        again = await reporting_snapshot(client)
        await links_are_a_recount(client)
        # The service's own group resumes after the replay and goes through every record again;
        # once it has, nothing was applied twice.
        settings = client.app.state.runtime.settings
        await eventually(lambda: group_has_consumed_everything(broker.bootstrap, settings.consumer_group, TOPICS),
                         timeout=60)
        assert await inbox_rows(client) == len(evs)
        kept = (await client.get(f"{SUBMISSIONS}/{sent['id']}", headers=bearer("county_official", COUNTY))).json()
    assert again == first
    assert (kept["sha256"], kept["submitted_at"], kept["changed"]) == (sent["sha256"], sent["submitted_at"], False)
