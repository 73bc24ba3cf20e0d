"""Bodies of the watch list and the periods off the roll."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from registry.domain.model import StudentStatus
from registry.domain.off_roll import Missing, OverdueReason
from registry.entrypoints.schemas.common import Code, HostName, Region
from shared.text import FreeText
from shared.types import Day


class ReceiptIn(BaseModel):
    """The host's receipt (回执) for a child boarding elsewhere."""
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"received_on": "2026-11-25"},
        {"received_on": "2026-11-25", "evidence": "东莞市某小学回执, 盖章扫描件 2026-331"}]})
    received_on: Day | None = Field(default=None, description="the day on the receipt; defaults to today")
    evidence: FreeText(500, min_length=1) | None = Field(
        default=None, description="what the receipt is (required unless the host school itself confirms)")


class OffRollUpdate(BaseModel):
    """Supply what the status change left out, or move the end (a suspension extended)."""
    model_config = ConfigDict(json_schema_extra={"examples": [{"expected_end": "2027-07-01"}]})
    host_school_code: Code | None = None
    host_school_name: HostName | None = None
    host_region: Region | None = None
    expected_end: Day | None = None


class OffRollPublic(BaseModel):
    id: str
    student_id: str
    kind: StudentStatus
    school_code: str
    started_on: date
    reason: str | None
    expected_end: date | None
    host_school_code: str | None
    host_school_name: str | None
    host_region: str | None
    received_on: date | None
    receipt_by: str | None
    receipt_evidence: str | None
    closed_on: date | None
    missing: list[Missing]
    overdue: list[OverdueReason] = Field(description="why the watchdog calls it overdue today, if it does")


class WatchItem(BaseModel):
    """A child off the roll by a status, with how long and what is missing."""
    student_id: str
    name: str
    school_code: str
    class_id: str
    grade: int
    status: StudentStatus = Field(description="boarding_elsewhere, suspended or transferred_out")
    since: date = Field(description="the day the status took effect")
    days_off: int
    period_id: str | None = Field(description="boarding elsewhere, suspension")
    transfer_id: str | None = Field(description="a pending transfer out")
    expected_end: date | None
    host_school_code: str | None
    host_school_name: str | None
    host_region: str | None
    received_on: date | None
    to_school_code: str | None
    destination: str | None
    missing: list[Missing]
    overdue: list[OverdueReason]
