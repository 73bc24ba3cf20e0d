"""CloudEvents 1.0 over Kafka in binary mode: ``data`` is the value, attributes are headers.

(``ce_source``, ``ce_id``) identifies an event; consumers drop repeats on that pair.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Mapping, Sequence

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

# Topic names are part of the public contract (README, "Event catalogue"): version, never rename.
TOPIC_REGISTRY = "baoxue.registry.v1"
TOPIC_ATTENDANCE = "baoxue.attendance.v1"
TOPIC_CASES = "baoxue.cases.v1"
TOPIC_REPORTS = "baoxue.reports.v1"
# Records a consumer could not use, one topic for all services (ce_source says which one set it
# aside); the reason travels in the ce_deadletterreason header (shared/deadletters.py).
TOPIC_DEADLETTER = "baoxue.deadletter.v1"
DEAD_LETTER_RECORDED = "baoxue.messaging.dead_letter.recorded"

# Every event type the contract carries on each topic (docs/asyncapi.yaml; tests/test_asyncapi.py
# keeps the two equal). A consumer skips a known type it does not handle, but sets aside a type
# that is not here: most likely a newer producer's, which it can replay once upgraded.
TOPIC_TYPES: dict[str, frozenset[str]] = {
    TOPIC_REGISTRY: frozenset({
        "baoxue.registry.org.registered", "baoxue.registry.student.enrolled",
        "baoxue.registry.student.status_changed", "baoxue.registry.class.promoted",
        "baoxue.registry.transfer.overdue", "baoxue.registry.population.suspected_out_of_school",
        "baoxue.registry.population.outside_compulsory_age", "baoxue.registry.boarding.overdue",
        "baoxue.registry.suspension.overdue", "baoxue.registry.student.flags_changed",
        "baoxue.registry.student.merged"}),
    TOPIC_ATTENDANCE: frozenset({
        "baoxue.attendance.absence.threshold_reached", "baoxue.attendance.student.returned",
        "baoxue.attendance.chronic_absence.flagged", "baoxue.attendance.roll_call.recorded",
        "baoxue.attendance.roll_call.missing", "baoxue.attendance.roll_call.filled_late",
        "baoxue.attendance.roll_call.missing_escalated"}),
    TOPIC_CASES: frozenset({
        "baoxue.cases.case.opened", "baoxue.cases.case.status_changed", "baoxue.cases.case.closed",
        "baoxue.cases.home_visit.recorded", "baoxue.cases.responsibility.assigned",
        "baoxue.cases.plan_item.added", "baoxue.cases.legal_step.escalated"}),
    TOPIC_REPORTS: frozenset({
        "baoxue.cases.dual_report.issued", "baoxue.cases.dual_report.acknowledged",
        "baoxue.cases.dual_report.escalated", "baoxue.cases.dual_report.withdrawn"}),
    TOPIC_DEADLETTER: frozenset({DEAD_LETTER_RECORDED}),
}


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
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # CloudEvents extension attributes (lowercase alphanumeric names), sent as ce_<name> headers.
    extensions: Mapping[str, str] = field(default_factory=dict)

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("ce_subject", self.subject.encode()),
            ("content-type", CONTENT_TYPE.encode()),
            *extension_headers(self.extensions),
        ]

    def value(self) -> bytes:
        return dumps(self.data)


_CORE_ATTRIBUTES = frozenset({"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema"})


def extension_headers(extensions: Mapping[str, str] | None) -> list[tuple[str, bytes]]:
    return [(f"ce_{name}", str(value).encode()) for name, value in (extensions or {}).items()]


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
        time = datetime.fromisoformat(attrs["ce_time"]) if attrs.get("ce_time") else datetime.now(timezone.utc)
    except ValueError as exc:
        raise MalformedEvent(f"ce_time is not RFC 3339: {attrs['ce_time']!r}") from exc
    if time.tzinfo is None:  # RFC 3339 requires an offset; a producer that left it out meant UTC
        time = time.replace(tzinfo=timezone.utc)
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
