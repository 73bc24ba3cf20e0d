"""The outbox as the durable log: what the broker lost is found and published again.

A broker can lose records it acknowledged: the embedded broker keeps memory only, a topic can be
deleted by mistake, Kafka's retention drops old records, an unclean leader election truncates a
partition. The high watermark cannot show it, since new records raise it again. So the relay
records, for each row, the partition and offset the broker acknowledged, and this module reads
records back at recorded offsets and compares their ``ce_id``.

Surviving records keep their offsets, and a partition loses a prefix (retention, a topic or a
broker emptied) or a suffix (truncation). Per partition the check reads back the rows at the
lowest and at the furthest recorded offset: a prefix loss shows at the first, a suffix loss at the
second, and a bisection over the recorded offsets finds where the suffix starts. A loss between
two surviving records is assumed away: Kafka never makes one. Not seen: a truncated partition
that new records (from this replica after the loss, or from another producer) refilled past the
furthest recorded offset before a check; the check at every connection, before publishing,
narrows that to what other replicas send meanwhile.

Publishing again is marking rows unsent: from the first lost row of the partition onwards,
surviving rows too, so each student's events follow one another again at the log's tail
(consumers drop the repeats). The ordinary relay then sends them in id order, with its claims.
When something is lost, the records are read a second time, and the check is given up (and
retried soon) if the two reads disagree: a broker restarting during the check would otherwise
show a mix of before and after. The mark only touches rows sent before the check began: if
another replica's relay marked and re-sent them meanwhile, they are left alone, so replicas
checking at once do not send the history twice over. (A replica whose clock runs ahead may
still send a row once more than needed; consumers drop it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy import ColumnElement, Row, Select, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.kafka import CONTRACT_TOPICS
from shared.messaging import outbox
from shared.sql import affected
from shared.topic_reader import ce_ids_at


@dataclass(frozen=True)
class Acknowledged:
    """An outbox row and where the broker acknowledged it."""

    id: int
    tp: TopicPartition
    offset: int
    event_id: str


@dataclass(frozen=True)
class Loss:
    """A partition that lost records, and the oldest outbox row it lost."""

    tp: TopicPartition
    first_lost_id: int
    # True when the partition lost its oldest recorded row: rows sent before offsets were
    # recorded (partition unknown) are gone with it.
    from_the_start: bool


class BrokerChanging(Exception):
    """Two reads of the same records disagreed: check again shortly."""


class Reader:
    """Reads ``ce_id``s back from the broker (shared/topic_reader.py)."""

    def __init__(self, bootstrap: str, client_id: str, timeout_s: float) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._timeout_s = timeout_s

    async def held(self, rows: list[Acknowledged]) -> dict[int, bool]:
        """For each row id: does the broker still hold that row's record where it acknowledged it?"""
        wanted: dict[TopicPartition, list[int]] = {}
        for row in rows:
            wanted.setdefault(row.tp, []).append(row.offset)
        found = await ce_ids_at(self._bootstrap, wanted, client_id=self._client_id, timeout_s=self._timeout_s)
        return {row.id: found[(row.tp, row.offset)] == row.event_id for row in rows}


def _acknowledged(stmt: Select[Any]) -> Select[Any]:
    return stmt.where(outbox.c.kafka_offset.is_not(None))


def _row(r: Row[Any]) -> Acknowledged:
    return Acknowledged(r.id, TopicPartition(r.topic, r.kafka_partition), r.kafka_offset, r.event_id)


_COLUMNS = (outbox.c.id, outbox.c.topic, outbox.c.kafka_partition, outbox.c.kafka_offset, outbox.c.event_id)


def _in(tp: TopicPartition) -> ColumnElement[bool]:
    return and_(outbox.c.topic == tp.topic, outbox.c.kafka_partition == tp.partition)


async def probes(session: AsyncSession, topics: Sequence[str] = CONTRACT_TOPICS) -> dict[TopicPartition, list[Acknowledged]]:
    """Per partition: the rows at the lowest and at the furthest recorded offset (every row there:
    after a broker lost everything, an old row and a new one can share an offset).

    Indexed lookups on (topic, partition, offset) only, no grouping or ordering by id: the outbox
    holds a school year of rows, and those scan them at every check (0.5-1 s for 300,000 rows)."""
    out: dict[TopicPartition, list[Acknowledged]] = {}
    for topic in topics:
        last = (await session.execute(select(func.max(outbox.c.kafka_partition)).where(outbox.c.topic == topic))).scalar()
        for partition in range(last + 1 if last is not None else 0):
            tp = TopicPartition(topic, partition)
            rows: dict[int, Acknowledged] = {}
            for end in (func.min(outbox.c.kafka_offset), func.max(outbox.c.kafka_offset)):
                at = _acknowledged(select(end)).where(_in(tp)).scalar_subquery()
                stmt = _acknowledged(select(*_COLUMNS)).where(_in(tp), outbox.c.kafka_offset == at)
                rows.update({r.id: _row(r) for r in (await session.execute(stmt)).all()})
            if rows:
                # Oldest first: the first lost row is looked for in that order.
                out[tp] = sorted(rows.values(), key=lambda a: a.id)
    return out


async def find_losses(session: AsyncSession, reader: Reader) -> list[Loss]:
    """Every partition that lost acknowledged records, with the oldest row lost."""
    by_partition = await probes(session)
    if not by_partition:
        return []
    probed = [row for rows in by_partition.values() for row in rows]
    held = await reader.held(probed)
    if not all(held.values()) and await reader.held(probed) != held:
        # The broker lost records while it was being read (it restarted mid-way, say): partitions
        # read before and after would give a mixed picture, and a partition judged to have kept
        # its start would be published again only in part. The next check sees it whole.
        raise BrokerChanging("the broker's records changed while the log was being checked")
    losses = []
    for tp, rows in by_partition.items():
        lost = [row for row in rows if not held[row.id]]
        if not lost:
            continue
        oldest, lowest = rows[0], min(rows, key=lambda a: a.offset)
        if not held[oldest.id] or not held[lowest.id]:
            # A prefix, or everything: from the partition's oldest row (not always a probed one:
            # rows published again earlier sit further along the log than their ids say).
            first = (await session.execute(_acknowledged(select(func.min(outbox.c.id))).where(_in(tp)))).scalar_one()
            if first is not None:  # None: another replica's check marked them unsent meanwhile
                losses.append(Loss(tp, first, from_the_start=True))
            continue
        start = await _suffix_start(session, reader, tp, good=lowest.offset, bad=min(r.offset for r in lost))
        first = (await session.execute(_acknowledged(select(func.min(outbox.c.id)))
                                       .where(_in(tp), outbox.c.kafka_offset >= start))).scalar_one()
        if first is not None:
            losses.append(Loss(tp, first, from_the_start=False))
    return losses


async def _suffix_start(session: AsyncSession, reader: Reader, tp: TopicPartition, *, good: int, bad: int) -> int:
    """The lowest recorded offset whose record is lost, knowing the record at ``good`` is held and
    the one at ``bad`` is not: a bisection over the rows recorded between them."""
    while True:
        middle = (await session.execute(_acknowledged(select(*_COLUMNS)).where(
            _in(tp), outbox.c.kafka_offset > good, outbox.c.kafka_offset < bad,
            outbox.c.kafka_offset >= good + (bad - good) // 2).order_by(outbox.c.kafka_offset).limit(1))).first()
        if middle is None:  # none from the middle on: try the highest below it
            middle = (await session.execute(_acknowledged(select(*_COLUMNS)).where(
                _in(tp), outbox.c.kafka_offset > good, outbox.c.kafka_offset < bad)
                .order_by(outbox.c.kafka_offset.desc()).limit(1))).first()
        if middle is None:
            return bad
        row = _row(middle)
        if (await reader.held([row]))[row.id]:
            good = row.offset
        else:
            bad = row.offset


async def republish(session: AsyncSession, loss: Loss, *, checked_from: datetime) -> int:
    """Mark the partition's rows from the first lost one on unsent (the relay sends them again);
    returns how many. Only rows sent before ``checked_from`` are touched (see the module's doc)."""
    reset = {"sent_at": None, "kafka_partition": None, "kafka_offset": None}
    marked = await affected(session, update(outbox).where(
        _in(loss.tp), outbox.c.id >= loss.first_lost_id, outbox.c.sent_at <= checked_from).values(**reset))
    legacy = outbox.c.kafka_offset.is_(None) & outbox.c.sent_at.is_not(None) & (outbox.c.sent_at <= checked_from)
    if not loss.from_the_start:
        legacy &= outbox.c.id >= loss.first_lost_id
    marked += await affected(session, update(outbox).where(outbox.c.topic == loss.tp.topic, legacy)
                             .values(**reset))
    return marked


async def prune(session: AsyncSession, *, older_than: datetime, batch: int = 10_000) -> int:
    """Delete up to ``batch`` sent rows created before ``older_than``; returns how many. Unsent
    rows are never deleted, however old: they have not reached the broker yet."""
    old = (select(outbox.c.id).where(outbox.c.sent_at.is_not(None), outbox.c.created_at < older_than)
           .order_by(outbox.c.id).limit(batch))
    return await affected(session, delete(outbox).where(outbox.c.id.in_(old.scalar_subquery())))
