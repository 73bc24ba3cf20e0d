"""Which handler an event goes to, and the validated model it receives.

A service registers its handlers by event model (``{StudentEnrolled: on_enrolled}``); the handler
gets a ``Received[StudentEnrolled]``: the model validated from ``data`` plus the envelope
attributes it may need. The topics a service subscribes to, and the types it handles, are those
of the models it registers. A payload that does not validate is an ``InvalidPayload``, which the
consumer sets aside as a dead letter at once, naming the field: retrying cannot fix it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
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


class InvalidPayload(ValueError):
    """The event's data does not fit its model; the reason names the fields (JSON pointers)."""


def describe(error: ValidationError) -> str:
    """The failing fields as JSON pointers with pydantic's message, never the input (a child's data)."""
    problems = [f"/{'/'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()]
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return "; ".join(problems[:5]) + more


class Routes:
    def __init__(self, handlers: Mapping[type[EventModel], Handler]) -> None:
        self._routes: dict[str, tuple[type[EventModel], Handler]] = {
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

    def prepare(self, event: Event) -> Callable[[UnitOfWork], Awaitable[None]]:
        """The call that applies the event in a unit of work; validates first (InvalidPayload)."""
        model, handler = self._routes[event.type]
        try:
            data = model.model_validate(event.data)
        except ValidationError as exc:
            raise InvalidPayload(f"invalid {event.type} data: {describe(exc)}") from exc
        received = Received(data, id=event.id, source=event.source, type=event.type, subject=event.subject,
                            time=event.time, extensions=event.extensions)
        return lambda uow: handler(uow, received)

    async def deliver(self, uow: UnitOfWork, event: Event) -> None:
        """Validate and apply one event (tests and tools that hold an Event)."""
        await self.prepare(event)(uow)
