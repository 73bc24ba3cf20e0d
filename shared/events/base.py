"""The base of every event model: its topic and CloudEvents type as class constants.

A model ignores fields it does not know (a newer producer's), and every field added to an event
after its first version has a default, so a rebuild still reads the oldest events on the topics.
``payload()`` is the record's value as the producer wrote it: only the fields it set (an event
never gains a ``null`` it did not carry), dates and instants as ``isoformat()``
(``shared.envelope.dumps``).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

# An id on the wire: a string (kept as sent, never normalised), documented as a uuid.
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]

# Topic names are part of the public contract (README, "Event catalogue"): version, never rename.
TOPIC_REGISTRY = "baoxue.registry.v1"
TOPIC_ATTENDANCE = "baoxue.attendance.v1"
TOPIC_CASES = "baoxue.cases.v1"
TOPIC_REPORTS = "baoxue.reports.v1"
# Records a consumer could not use, one topic for all services (ce_source says which one set it
# aside); the reason travels in the ce_deadletterreason header (shared/deadletters.py).
TOPIC_DEADLETTER = "baoxue.deadletter.v1"


class EventModel(BaseModel):
    """One event type's ``data``. Subclasses set ``TOPIC`` and ``TYPE``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TOPIC: ClassVar[str]
    TYPE: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="python", exclude_unset=True)


class Placed(EventModel):
    """An event about one student that carries where they sat, every part of it required: the
    school, the class, the grade and the org path (province first).

    These fields come first in ``data``; consumers read it by name, never by position. An event
    whose placement differs in a part (a default, or null allowed) declares its own fields
    rather than bending these.
    """

    school_code: str
    class_id: Uuid
    grade: int
    org_path: list[str]


class PlacedInChain(Placed):
    """A placement with its org chain: the code, kind and name of each level of ``org_path``."""

    org_chain: list[dict[str, Any]]
