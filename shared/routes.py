"""Which handler an event goes to, and the validated model it receives.

A service registers its handlers by event model (``{StudentEnrolled: on_enrolled}``); the handler
gets a ``Received[StudentEnrolled]``: the model validated from ``data`` plus the envelope
attributes it may need. The topics a service subscribes to, and the types it handles, are those
of the models it registers. A payload that does not validate is an ``InvalidPayload``, which the
consumer sets aside as a dead letter at once, naming the field: retrying cannot fix it.

A handler takes one event, or, registered as ``Batched(handler)``, a run of events of its type
at once (``handler(uow, [received, ...])``), to apply them set-based: a bulk opening costs a few
statements per batch rather than a few per event. The consumer hands it each run of consecutive
records of that type in a fetched batch (the records of other types between them keep their
place), in one transaction; a run that fails is split like any batch (shared/consumer.py), down
to a one-event list, so a poison record is set aside alone. A batch handler must therefore give
the outcome applying its events one at a time, in order, would give (a later event sees what an
earlier one did). Replays, tests and tools call it with one event (``prepare``, ``deliver``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import ValidationError

from shared.envelope import Event
from shared.events import BY_TYPE, TOPICS, EventModel

if TYPE_CHECKING:
    from shared.uow import UnitOfWork

M = TypeVar("M", bound=EventModel)


@dataclass(frozen=True)
class Received(Generic[M]):
    """An event as a handler receives it: the validated model and the envelope's attributes."""

    data: M
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    extensions: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[["UnitOfWork", Any], Awaitable[None]]
BatchHandler = Callable[["UnitOfWork", Sequence[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """Registers a handler that takes a run of events of its type at once (see the module's doc)."""

    handler: BatchHandler


Registered = Handler | Batched


class InvalidPayload(ValueError):
    """The event's data does not fit its model; the reason names the fields (JSON pointers)."""


def describe(error: ValidationError) -> str:
    """The failing fields as JSON pointers with pydantic's message, never the input (a child's data)."""
    problems = [f"/{'/'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()]
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return "; ".join(problems[:5]) + more


class Routes:
    def __init__(self, handlers: Mapping[type[EventModel], Registered]) -> None:
        self._routes: dict[str, tuple[type[EventModel], Registered]] = {
            model.TYPE: (model, handler) for model, handler in handlers.items()}

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._routes)

    @property
    def topics(self) -> list[str]:
        """The topics the service subscribes to: those of the models it handles, in the
        contract's order (registry first: a rebuild replays the org tree before the rest)."""
        handled = {BY_TYPE[t].TOPIC for t in self._routes}
        return [topic for topic in TOPICS if topic in handled]

    def handles(self, event_type: str) -> bool:
        return event_type in self._routes

    def batches(self, event_type: str) -> bool:
        """Whether the type's handler takes a run of events at once (``Batched``)."""
        return isinstance(self._routes[event_type][1], Batched)

    def validate(self, event: Event) -> Received[Any]:
        """The event as its handler receives it; ``InvalidPayload`` if its data does not fit."""
        model, _ = self._routes[event.type]
        try:
            data = model.model_validate(event.data)
        except ValidationError as exc:
            raise InvalidPayload(f"invalid {event.type} data: {describe(exc)}") from exc
        return Received(data, id=event.id, source=event.source, type=event.type, subject=event.subject,
                        time=event.time, extensions=event.extensions)

    async def apply_run(self, uow: UnitOfWork, event_type: str, run: Sequence[Received[Any]]) -> None:
        """Apply validated events of one type, in order: in one call to a batch handler, else one
        by one."""
        _, handler = self._routes[event_type]
        if isinstance(handler, Batched):
            await handler.handler(uow, run)
        else:
            for received in run:
                await handler(uow, received)

    def prepare(self, event: Event) -> Callable[[UnitOfWork], Awaitable[None]]:
        """The call that applies the event in a unit of work; validates first (InvalidPayload)."""
        received = self.validate(event)
        return lambda uow: self.apply_run(uow, event.type, [received])

    async def deliver(self, uow: UnitOfWork, event: Event) -> None:
        """Validate and apply one event (tests and tools that hold an Event)."""
        await self.prepare(event)(uow)
