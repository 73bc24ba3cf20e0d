"""baoxue.cases.v1: the case ledger (一人一案), produced by cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from shared.events.base import TOPIC_CASES, EventModel, Uuid


class CaseOpened(EventModel):
    """A case was opened (one open case per student)"""

    TOPIC: ClassVar[str] = TOPIC_CASES
    TYPE: ClassVar[str] = "baoxue.cases.case.opened"

    case_id: Uuid
    student_id: Uuid
    status: str
    origin: str
    school_code: str
    org_path: list[str]
    grade: int | None = None  # absent from early events: consumers read it with a fallback
    opened_at: datetime | None = None
    absence: dict[str, Any] | None


class CaseStatusChanged(EventModel):
    """A case moved in its lifecycle (every move but close-out)"""

    TOPIC: ClassVar[str] = TOPIC_CASES
    TYPE: ClassVar[str] = "baoxue.cases.case.status_changed"

    case_id: Uuid
    student_id: Uuid
    status: str
    previous_status: str
    at: datetime | None = None  # absent from early events: consumers read it with a fallback
    actor: str | None = None  # added after the first version
    causes: list[str] | None = None  # added after the first version
    cause_note: str | None = None  # added after the first version
    origin: str | None = None  # added after the first version
    dropped_out_since: datetime | None = None  # added after the first version


class CaseClosed(EventModel):
    """A case was closed (销号) with its outcome's evidence"""

    TOPIC: ClassVar[str] = TOPIC_CASES
    TYPE: ClassVar[str] = "baoxue.cases.case.closed"

    case_id: Uuid
    student_id: Uuid
    status: str
    previous_status: str | None = None  # added after the first version
    outcome: str | None = None
    evidence: dict[str, Any] | None = None  # added after the first version
    at: datetime | None = None  # absent from early events: consumers read it with a fallback
    actor: str | None = None  # added after the first version


class HomeVisitRecorded(EventModel):
    """A home visit (家访) was recorded on a case"""

    TOPIC: ClassVar[str] = TOPIC_CASES
    TYPE: ClassVar[str] = "baoxue.cases.home_visit.recorded"

    case_id: Uuid
    student_id: Uuid
    visit_id: Uuid | None = None  # absent from early events: consumers read it with a fallback
    visited_on: date | None = None  # added after the first version
    visited_at: datetime | None = None
    outcome: str | None = None  # added after the first version


class ResponsibilityAssigned(EventModel):
    """A responsibility chain (七长/五级) was set, for a place or for one case"""

    TOPIC: ClassVar[str] = TOPIC_CASES
    TYPE: ClassVar[str] = "baoxue.cases.responsibility.assigned"

    scope: str | None = None  # absent from early events: consumers read it with a fallback
    case_id: Uuid | None = None
    student_id: Uuid | None
    org_code: str | None = None
    org_path: list[str]
    class_id: str | None
    level: str | None = None
    roles: dict[str, Any] = {}
    village_heads: dict[str, Any]
    responsible_person: str | None = None
    assigned_at: datetime | None = None
    actor: str


class PlanItemAdded(EventModel):
    """An item of a case's plan of persuasion, care and assistance (劝返、关爱和帮扶计划)"""

    TOPIC: ClassVar[str] = TOPIC_CASES
    TYPE: ClassVar[str] = "baoxue.cases.plan_item.added"

    case_id: Uuid
    student_id: Uuid
    item_id: Uuid
    kind: str
    owner: str
    due_on: date
    added_at: datetime | None = None  # absent from early events: consumers read it with a fallback
    actor: str


class LegalStepEscalated(EventModel):
    """A step of the legal ladder passed its deadline with no response recorded (once)"""

    TOPIC: ClassVar[str] = TOPIC_CASES
    TYPE: ClassVar[str] = "baoxue.cases.legal_step.escalated"

    step_id: Uuid
    case_id: Uuid
    student_id: Uuid
    step: str
    served_on: date
    deadline: date
    issuing_org_code: str
    escalated_to_org_code: str
    escalated_at: datetime
