"""CloudEvents 1.0 over Kafka in binary mode: ``data`` is the value, attributes are headers.

(``ce_source``, ``ce_id``) identifies an event; consumers drop repeats on that pair.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

# Topic names and the types on each are defined by the event models (shared/events/).
from shared.events import TOPIC_TYPES
from shared.events.base import TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_DEADLETTER, TOPIC_REGISTRY, TOPIC_REPORTS
from shared.events.messaging import DeadLetterRecorded

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

DEAD_LETTER_RECORDED = DeadLetterRecorded.TYPE
__all__ = ["TOPIC_ATTENDANCE", "TOPIC_CASES", "TOPIC_DEADLETTER", "TOPIC_REGISTRY", "TOPIC_REPORTS", "TOPIC_TYPES",
           "DEAD_LETTER_RECORDED", "Event", "MalformedEvent", "ce_headers", "dumps", "from_record", "stable_id"]


class MalformedEvent(ValueError):
    """A Kafka record that is not a CloudEvent we can read (a poison message)."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    subject: str
    data: Mapping[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    # CloudEvents extension attributes (lowercase alphanumeric names), sent as ce_<name> headers.
    extensions: Mapping[str, str] = field(default_factory=dict)

    def headers(self) -> list[tuple[str, bytes]]:
        return ce_headers(id=self.id, source=self.source, type=self.type, time=self.time, subject=self.subject,
                          extensions=self.extensions)

    def value(self) -> bytes:
        return dumps(self.data)


_CORE_ATTRIBUTES = frozenset({"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema"})


def ce_headers(*, id: str, source: str, type: str, time: datetime, subject: str,
               extensions: Mapping[str, str] | None = None) -> list[tuple[str, bytes]]:
    """The Kafka headers of a CloudEvent in binary mode: the one place they are built (the
    relay publishes outbox rows with them; ``Event.headers`` is the same for tests and tools)."""
    return [
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", type.encode()),
        ("ce_time", time.isoformat().encode()),
        ("ce_subject", subject.encode()),
        ("content-type", CONTENT_TYPE.encode()),
        *((f"ce_{name}", str(value).encode()) for name, value in (extensions or {}).items()),
    ]


def from_record(value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> Event:
    """Read a Kafka record written in CloudEvents binary mode; raise MalformedEvent if it is not."""
    attrs = {k: v.decode("utf-8", "replace") for k, v in headers or ()}
    missing = [a for a in ("ce_id", "ce_source", "ce_type") if not attrs.get(a)]
    if missing:
        raise MalformedEvent(f"missing CloudEvents attributes: {', '.join(missing)}")
    if attrs.get("ce_specversion", SPECVERSION) != SPECVERSION:
        raise MalformedEvent(f"unsupported ce_specversion {attrs['ce_specversion']!r}")
    try:
        data = json.loads(value or b"null")
    except ValueError as exc:
        raise MalformedEvent(f"value is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedEvent("value must be a JSON object")
    try:
        time = datetime.fromisoformat(attrs["ce_time"]) if attrs.get("ce_time") else datetime.now(UTC)
    except ValueError as exc:
        raise MalformedEvent(f"ce_time is not RFC 3339: {attrs['ce_time']!r}") from exc
    if time.tzinfo is None:  # RFC 3339 requires an offset; a producer that left it out meant UTC
        time = time.replace(tzinfo=UTC)
    return Event(
        type=attrs["ce_type"],
        source=attrs["ce_source"],
        subject=attrs.get("ce_subject", ""),
        data=data,
        id=attrs["ce_id"],
        time=time,
        extensions={k[3:]: v for k, v in attrs.items() if k.startswith("ce_") and k[3:] not in _CORE_ATTRIBUTES},
    )


def stable_id(*parts: object) -> str:
    """A deterministic event id: the same fact, re-derived after a restart, gets the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "baoxue:" + ":".join(str(p) for p in parts)))
