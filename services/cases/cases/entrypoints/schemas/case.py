"""A case as the API shows it, the ledger row, reporting a child and moving a case."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cases.domain.lifecycle import CaseStatus, DropoutCause, FalseAlarmReason
from cases.entrypoints.schemas.common import StoredJson, Text
from cases.entrypoints.schemas.ladder import LegalStepOut
from cases.entrypoints.schemas.work import HomeVisitOut, PlanItemOut
from shared.open_json import check_open
from shared.text import FreeText, LineText
from shared.types import SchoolDay


class DualReportOut(BaseModel):
    id: str
    case_id: str
    recipient: str
    recipient_org_code: str
    recipient_org_name: str
    issued_at: datetime
    acknowledged_at: datetime | None
    escalated_at: datetime | None = None
    escalated_to_org_code: str | None = None
    escalated_to_org_name: str | None = None
    area_code: str | None = None
    unverified: bool = False
    withdrawn_at: datetime | None = None


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str
    detail: StoredJson
    note: str | None = None


class CaseOut(BaseModel):
    id: str
    student_id: str
    status: CaseStatus
    origin: str
    school_code: str
    class_id: str | None = None
    org_path: list[str]
    flags: list[str] = []
    child: StoredJson | None = None
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    responsibility: StoredJson | None = None
    false_alarm_reason: str | None = None
    outcome: str | None = None
    evidence: StoredJson | None = None
    reopen_count: int = 0
    verifying_at: datetime | None = None
    confirmed_at: datetime | None = None
    false_alarm_at: datetime | None = None
    persuading_at: datetime | None = None
    returned_at: datetime | None = None
    home_teaching_at: datetime | None = None
    transferred_at: datetime | None = None
    judicial_notice_at: datetime | None = None
    unable_to_study_at: datetime | None = None
    reopened_at: datetime | None = None
    verify_due_at: datetime | None = Field(default=None, description="the school decides by then; "
                                           "undecided, the reports go out marked unverified")
    reports_issued_at: datetime | None = None
    back_at: datetime | None = Field(default=None, description="when the child was first known to be back")
    causes: list[DropoutCause] | None = None
    cause_note: str | None = None


class CaseDetail(CaseOut):
    reports: list[DualReportOut]
    plan_items: list[PlanItemOut] = []
    home_visits: list[HomeVisitOut] = []
    legal_steps: list[LegalStepOut] = []
    timeline: list[TimelineEntry]


class CaseReport(BaseModel):
    """A teacher or township official reports a child (manual opening)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"student_id": "6f1c2d9e-0b7a-4c55-9d0e-3b1f2a7c8d90", "note": "连续三天未到校，电话联系不上家长"}]})
    student_id: str = Field(min_length=1, max_length=36)
    note: Text


class Evidence(BaseModel):
    """Named fields, and any others a county records, within ``shared.open_json``'s bounds."""
    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        return check_open(data) if isinstance(data, dict) else data

    returned_on: SchoolDay | None = Field(default=None, description="the confirmed date the child returned (returned)")
    receipt: LineText(200) | None = Field(default=None, description="the receiving school's receipt (transferred)")
    receiving_school_code: str | None = Field(default=None, max_length=32)
    document_ref: LineText(200) | None = Field(default=None, description="a notice number, a file reference")
    description: FreeText(2000) | None = None


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"to": "verifying", "note": "班主任已联系家长"},
        {"to": "confirmed", "causes": ["weariness_of_study", "left_to_work"], "cause_note": "随父母外出务工"},
        {"to": "false_alarm", "reason": "sick", "note": "住院，已补请假"},
        {"to": "transferred", "evidence": {"receipt": "回执-2026-118", "receiving_school_code": "4101221002"}},
        {"to": "closed", "evidence": {"returned_on": "2026-11-23", "description": "已复学，连续到校一周"}},
        {"to": "reported", "note": "本学期再次辍学，重新立案"}]})
    to: CaseStatus = Field(description="the target state; `reported` on a closed case reopens it")
    reason: FalseAlarmReason | None = Field(default=None, description="required for false_alarm, and only there")
    causes: list[DropoutCause] | None = Field(default=None, min_length=1, max_length=len(DropoutCause),
                                              description="why the child dropped out: required for confirmed, "
                                                          "and only there")
    cause_note: str | None = Field(default=None, max_length=2000)
    evidence: Evidence | None = None
    note: FreeText(2000) | None = None

    @model_validator(mode="after")
    def _reason_only_for_a_false_alarm(self) -> TransitionIn:
        if self.reason is not None and self.to is not CaseStatus.false_alarm:
            raise ValueError("reason applies to a false_alarm only")
        if (self.causes is not None or self.cause_note is not None) and self.to is not CaseStatus.confirmed:
            raise ValueError("causes and cause_note apply to confirmed only")
        return self


class LedgerRow(BaseModel):
    id: str
    student_id: str
    student_name: str | None
    national_id_masked: str | None
    gender: str | None
    grade: int | None
    school_code: str
    school_name: str | None
    status: CaseStatus
    status_label: str
    origin: str
    origin_label: str
    flags: list[str]
    flag_labels: list[str]
    opened_at: datetime
    responsible_person: str | None
    open_plan_items: int
    overdue_plan_items: int
    home_visits: int
    last_visit_on: date | None
    unacknowledged_reports: int
    unassigned: bool = Field(description="confirmed more than 24 h ago and still no 劝返责任人")
    legal_overdue: bool = Field(description="a legal step past its deadline with no response recorded")
    overdue: bool
    outcome: str | None
    outcome_label: str | None
    closed_at: datetime | None
