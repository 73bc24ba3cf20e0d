"""Dead letters: records a consumer could not use, kept, published and replayable.

A record is set aside (``set_aside``) in one transaction that writes the ``dead_letters`` row
and an outbox row for ``baoxue.deadletter.v1``, so the relay publishes it like any event and
nothing is lost between the two. The published record is a CloudEvent whose data carries the
original record (value and key in base64, headers as pairs) and whose ``ce_deadletterreason``
header says why. An operator lists dead letters and replays one through this service's handler
(``replay``); the inbox makes a replay of an event already applied a no-op, and a replayed dead
letter remembers its outcome, so replaying again changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

import structlog
from aiokafka.structs import ConsumerRecord
from sqlalchemy import insert, select, update

from shared.envelope import TOPIC_TYPES, Event, MalformedEvent, from_record, stable_id
from shared.errors import Conflict, NotFound
from shared.events.messaging import DeadLetterRecorded
from shared.messaging import dead_letters, outbox
from shared.routes import InvalidPayload, Routes
from shared.uow import UnitOfWork

log = structlog.get_logger("baoxue.deadletters")

Outcome = Literal["applied", "duplicate", "ignored"]
KNOWN_TYPES = frozenset().union(*TOPIC_TYPES.values())
REASON_HEADER_CHARS = 500  # the full reason is in the row and in data; a header stays small


def _b64(raw: bytes | None) -> str | None:
    return base64.b64encode(raw).decode("ascii") if raw is not None else None


async def set_aside(uow: UnitOfWork, service: str, record: ConsumerRecord, reason: str) -> bool:
    """Record a poison record and stage its publication; False if it was already set aside
    (the same record redelivered because the offset commit was lost)."""
    fingerprint = hashlib.sha256(record.value or b"").hexdigest()
    # The broker's offsets restart if its storage is lost, so the content is part of the identity.
    event_id = stable_id("dead_letter", service, record.topic, record.partition, record.offset, fingerprint)
    seen = await uow.session.execute(select(outbox.c.id).where(outbox.c.event_id == event_id))
    if seen.first() is not None:
        return False
    pairs = [[k, v.decode("utf-8", "replace")] for k, v in record.headers or ()]
    reason = reason[:2000]
    dead_letter_id = (await uow.session.execute(
        insert(dead_letters).values(
            topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
            headers=json.dumps(pairs), value=record.value, reason=reason,
        ).returning(dead_letters.c.id)
    )).scalar_one()
    where = f"{record.topic}/{record.partition}/{record.offset}"
    uow.emit(
        DeadLetterRecorded(
            dead_letter_id=dead_letter_id, service=service, topic=record.topic, partition=record.partition,
            offset=record.offset, reason=reason, key_base64=_b64(record.key), headers=pairs,
            value_base64=_b64(record.value)),
        subject=where, event_id=event_id, extensions={"deadletterreason": reason[:REASON_HEADER_CHARS]},
    )
    return True


def _header(pairs: list[list[str]], name: str) -> str | None:
    return next((v for k, v in pairs if k == name), None)


def summary(row: Mapping[Any, Any]) -> dict[str, Any]:
    """What an operator sees: where it came from and why; never the record's value or key,
    which carry children's data the ops role must not read."""
    pairs = json.loads(row["headers"])
    return {
        "id": row["id"], "topic": row["topic"], "partition": row["partition"], "offset": row["offset"],
        "event_type": _header(pairs, "ce_type"), "event_id": _header(pairs, "ce_id"),
        "event_source": _header(pairs, "ce_source"), "reason": row["reason"], "received_at": row["received_at"],
        "replayed_at": row["replayed_at"], "replay_outcome": row["replay_outcome"],
    }


async def replay(uow: UnitOfWork, dead_letter_id: int, routes: Routes) -> dict[str, Any]:
    """Apply a dead letter through the handler of its type, in one transaction with the inbox
    mark and the dead letter's outcome. Replaying a replayed one returns the recorded outcome."""
    row = (await uow.session.execute(
        select(dead_letters).where(dead_letters.c.id == dead_letter_id))).mappings().first()
    if row is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    if row["replayed_at"] is not None:
        return summary(row)
    pairs = json.loads(row["headers"])
    try:
        event: Event = from_record(row["value"], [(k, v.encode()) for k, v in pairs])
    except MalformedEvent as exc:
        raise Conflict(f"dead letter {dead_letter_id} cannot be replayed: {exc}") from exc
    handled = routes.handles(event.type)
    if not handled and event.type not in KNOWN_TYPES:
        raise Conflict(f"dead letter {dead_letter_id}: this service has no handler for {event.type!r}")
    outcome: Outcome = "ignored"
    if handled:
        try:
            apply = routes.prepare(event)
        except InvalidPayload as exc:
            raise Conflict(f"dead letter {dead_letter_id} cannot be replayed: {exc}") from exc
        if await uow.claim(event):
            try:
                await apply(uow)
            except Exception as exc:
                log.error("deadletter.replay_failed", dead_letter_id=dead_letter_id, error=exc)
                raise Conflict(f"dead letter {dead_letter_id}: the handler failed again "
                               f"({type(exc).__name__}); see the service log") from exc
            outcome = "applied"
        else:
            outcome = "duplicate"
    now = uow.clock.now()
    await uow.session.execute(update(dead_letters).where(dead_letters.c.id == dead_letter_id)
                              .values(replayed_at=now, replay_outcome=outcome))
    await uow.commit()
    log.info("deadletter.replayed", dead_letter_id=dead_letter_id, outcome=outcome, event_type=event.type)
    return summary({**row, "replayed_at": now, "replay_outcome": outcome})
