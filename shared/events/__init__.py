"""Every event the services exchange, one pydantic model per CloudEvents type (issue 17).

A model carries its topic (``TOPIC``) and type (``TYPE``); producers emit a model
(``uow.emit(model, subject=..., key=...)``), consumers register a handler by model class
(``{StudentEnrolled: on_enrolled}``) and receive it validated (shared/consumer.py). Topics and
types the contract knows (``TOPIC_TYPES``) are derived from the models here, and
tests/contract/test_asyncapi.py checks docs/asyncapi.yaml against each ``model_json_schema()``.
"""

from __future__ import annotations

from shared.events import attendance, cases, messaging, registry, reports
from shared.events.base import (
                                TOPIC_ATTENDANCE,
                                TOPIC_CASES,
                                TOPIC_DEADLETTER,
                                TOPIC_REGISTRY,
                                TOPIC_REPORTS,
                                EventModel,
)

MODELS: tuple[type[EventModel], ...] = tuple(
    value for module in (registry, attendance, cases, reports, messaging) for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, EventModel) and value is not EventModel
    and value.__module__ == module.__name__)

BY_TYPE: dict[str, type[EventModel]] = {model.TYPE: model for model in MODELS}
assert len(BY_TYPE) == len(MODELS), "two models share a CloudEvents type"

TOPICS = (TOPIC_REGISTRY, TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REPORTS, TOPIC_DEADLETTER)

# Every event type the contract carries on each topic. A consumer skips a known type it does not
# handle, but sets aside a type that is not here: most likely a newer producer's, which it can
# replay once upgraded.
TOPIC_TYPES: dict[str, frozenset[str]] = {
    topic: frozenset(model.TYPE for model in MODELS if model.TOPIC == topic) for topic in TOPICS}

__all__ = ["BY_TYPE", "MODELS", "TOPICS", "TOPIC_TYPES", "EventModel"]
