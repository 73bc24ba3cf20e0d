"""The unit of work: one transaction that writes state, outbox rows and inbox marks together.

Rolls back unless ``commit()`` is called. Nothing is published from here: the relay does that
after the transaction has committed, so a rolled-back request never leaks an event.

Every unit of work of a process is built by one ``UnitsOfWork`` (shared/service.py makes it),
which says what a commit does besides writing: the ``before_commit`` hooks run inside the
transaction (the request's audit row), ``on_commit`` after it (waking the relay).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Self, TypeVar

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import idempotency
from shared.clock import Clock
from shared.envelope import Event
from shared.events import EventModel
from shared.messaging import inbox, outbox
from shared.sql import insert_ignoring_conflicts

# Every commit that emits runs it: built once, its cache key computed once (shared/sql.py,
# `built_once`).
_OUTBOX_ROWS = insert(outbox)

# Run by ``commit()`` inside the transaction, after the outbox rows are written: what it writes
# commits with the state, or not at all.
BeforeCommit = Callable[["UnitOfWork"], Awaitable[None]]


class UnitOfWork:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        source: str,
        clock: Clock,
        on_commit: Callable[[], None] | None = None,
        before_commit: Sequence[BeforeCommit] = (),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._on_commit = on_commit
        self._before_commit = tuple(before_commit)
        self.source = source
        self.clock = clock
        self._staged: list[tuple[str, str | None, Event]] = []
        self._held = self._held_emitted = False
        self.session: AsyncSession

    async def __aenter__(self) -> Self:
        self.session = self._sessionmaker()
        self._staged = []
        self._held = self._held_emitted = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._held:
            return  # an idempotent request's transaction commits with its answer (release)
        await self.session.close()  # closing an uncommitted session rolls it back

    def emit(
        self,
        model: EventModel,
        *,
        subject: str,
        key: str | None = None,
        event_id: str | None = None,
        extensions: Mapping[str, str] | None = None,
    ) -> Event:
        """Stage an event; it is written to the outbox in the same transaction as the state.

        ``uow.emit(StudentEnrolled(...), subject=student_id)``: the topic and the CloudEvents type
        come from the model."""
        event = Event(
            type=model.TYPE,
            source=self.source,
            subject=subject,
            data=model.payload(),
            id=event_id or str(uuid.uuid4()),
            time=self.clock.now(),
            extensions=dict(extensions or {}),
        )
        self._staged.append((model.TOPIC, key if key is not None else subject, event))
        return event

    @property
    def pending_events(self) -> tuple[Event, ...]:
        """The events staged so far, which ``commit()`` will write to the outbox."""
        return tuple(event for _, _, event in self._staged)

    async def claim(self, event: Event) -> bool:
        """Record the event in the inbox; False if it was already processed (a repeat)."""
        stmt = (
            insert_ignoring_conflicts(self.session, inbox)
            .values(source=event.source, event_id=event.id, event_type=event.type)
            .returning(inbox.c.event_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def commit(self) -> None:
        emitted = bool(self._staged)
        if emitted:
            await self.session.execute(
                _OUTBOX_ROWS,
                [
                    {
                        "topic": topic,
                        "key": key,
                        "event_id": ev.id,
                        "event_type": ev.type,
                        "source": ev.source,
                        "subject": ev.subject,
                        "event_time": ev.time,
                        "payload": ev.value(),
                        "extensions": json.dumps(dict(ev.extensions)) if ev.extensions else None,
                    }
                    for topic, key, ev in self._staged
                ],
            )
            self._staged = []
        for hook in self._before_commit:
            await hook(self)
        if idempotency.hold(self):
            # Under an Idempotency-Key the answer is stored in this same transaction, once it
            # is known: shared/idempotency.py commits both (release).
            self._held = True
            self._held_emitted |= emitted
            return
        await self.session.commit()
        if emitted and self._on_commit is not None:
            self._on_commit()  # wake the relay: publish now, not at the next poll

    async def release(self, *, commit: bool) -> None:
        """End a held transaction: commit it (with the stored answer) or roll it back."""
        if not self._held:
            return
        self._held = False
        try:
            if commit:
                await self.session.commit()
                if self._held_emitted and self._on_commit is not None:
                    self._on_commit()
        finally:
            await self.session.close()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A part of the transaction that may fail on its own (one item of a batch): on an
        exception its writes and the events it staged are undone, and what came before stays."""
        staged = len(self._staged)
        try:
            async with self.session.begin_nested():
                yield
        except BaseException:
            del self._staged[staged:]
            raise

    async def rollback(self) -> None:
        self._staged = []
        await self.session.rollback()


U = TypeVar("U", bound=UnitOfWork)


class UnitsOfWork:
    """The one construction of a unit of work: a process builds one of these (shared/service.py,
    ``units_of_work``) and every request, consumer, job and tool asks it for its units of work,
    so each commits the same way (the same source, clock, hooks and relay wake-up)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        source: str,
        clock: Clock,
        before_commit: Sequence[BeforeCommit] = (),
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.source = source
        self.clock = clock
        self.before_commit = tuple(before_commit)
        self.on_commit = on_commit

    def __call__(self, *, clock: Clock | None = None) -> UnitOfWork:
        """A new unit of work; ``clock`` replaces the process's clock for this one (tests that
        act at a given moment)."""
        return self.of(UnitOfWork, clock=clock)

    def of(self, kind: type[U], *, clock: Clock | None = None) -> U:
        """A new unit of work of a subclass (the consumer's batch, whose handlers share one)."""
        return kind(self.sessionmaker, source=self.source, clock=clock or self.clock,
                    on_commit=self.on_commit, before_commit=self.before_commit)
