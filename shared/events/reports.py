"""baoxue.reports.v1: dual reports (辍学双报告) for external recipients, produced by cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from shared.events.base import TOPIC_REPORTS, EventModel, Uuid


class DualReportIssued(EventModel):
    """A dual report to one recipient office (two per case, whatever opened it)"""

    TOPIC: ClassVar[str] = TOPIC_REPORTS
    TYPE: ClassVar[str] = "baoxue.cases.dual_report.issued"

    report_id: Uuid
    case_id: Uuid
    recipient: str | None = None  # absent from early events: consumers read it with a fallback
    recipient_org_code: str
    recipient_org_name: str
    area_code: str | None = None  # added after the first version
    issued_at: datetime | None = None
    unverified: bool | None = None  # added after the first version
    opened_at: datetime | None = None  # added after the first version
    origin: str | None = None  # added after the first version
    opening: dict[str, Any] | None = None  # added after the first version
    causes: list[str] | None = None  # added after the first version
    cause_note: str | None = None  # added after the first version
    student: dict[str, Any]
    school: dict[str, Any]
    class_id: Uuid | None
    absence: dict[str, Any] | None
    missing_facts: list[str] | None = None  # added after the first version
    acknowledge: str


class DualReportAcknowledged(EventModel):
    """A recipient acknowledged its dual report (once)"""

    TOPIC: ClassVar[str] = TOPIC_REPORTS
    TYPE: ClassVar[str] = "baoxue.cases.dual_report.acknowledged"

    report_id: Uuid
    case_id: Uuid
    recipient: str
    recipient_org_code: str
    acknowledged_at: datetime | None = None  # absent from early events: consumers read it with a fallback


class DualReportEscalated(EventModel):
    """A dual report was left unacknowledged past the deadline and escalated one level up"""

    TOPIC: ClassVar[str] = TOPIC_REPORTS
    TYPE: ClassVar[str] = "baoxue.cases.dual_report.escalated"

    report_id: Uuid
    case_id: Uuid
    recipient: str
    recipient_org_code: str
    escalated_to_org_code: str
    escalated_to_org_name: str
    escalated_to_area_code: str | None = None  # added after the first version
    issued_at: datetime
    deadline_hours: float
    escalated_at: datetime


class DualReportWithdrawn(EventModel):
    """An unverified dual report was withdrawn (a correction to its recipient)"""

    TOPIC: ClassVar[str] = TOPIC_REPORTS
    TYPE: ClassVar[str] = "baoxue.cases.dual_report.withdrawn"

    report_id: Uuid
    case_id: Uuid
    recipient: str
    recipient_org_code: str
    issued_at: datetime
    unverified: bool
    false_alarm_reason: str
    withdrawn_at: datetime | None = None  # absent from early events: consumers read it with a fallback
