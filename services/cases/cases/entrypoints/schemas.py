from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shared.open_json import check_open, clipped
from shared.types import SchoolDay

from shared.text import FreeText, LineText, Name

from cases.domain.lifecycle import CaseStatus, FalseAlarmReason

Text = FreeText(2000, min_length=1)
# An open object as stored, clipped so that any stored value can be answered.
StoredJson = Annotated[dict[str, Any], BeforeValidator(clipped)]


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
    reopened_at: datetime | None = None


class PlanItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "persuasion", "description": "班主任与村干部每周上门劝返一次", "owner": "李老师", "due_on": "2026-11-30"}]})
    kind: Literal["persuasion", "care", "assistance"]
    description: Text
    owner: Name
    due_on: SchoolDay


class PlanItemOut(BaseModel):
    """What was stored, as stored: an answer never re-applies the input's checks (a value
    stored before a check existed must still read)."""
    model_config = ConfigDict(extra="ignore")
    kind: str
    description: str
    owner: str
    due_on: date
    id: str
    case_id: str
    done_at: datetime | None
    created_by: str
    created_at: datetime


class PlanItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"done": True}]})
    done: bool


class HomeVisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "visited_on": "2026-11-21", "visitors": ["李老师", "张主任"], "met": ["祖母"],
        "outcome": "家长同意周一送孩子返校", "notes": "父母在外务工，孩子由祖母照看", "next_step": "周一核实到校"}]})
    visited_on: SchoolDay = Field(description="the day of the visit; never after today")
    visitors: list[Name] = Field(min_length=1, max_length=10, description="who went: teacher ids or names")
    met: list[Name] = Field(default_factory=list, max_length=10, description="whom they met (祖母, 父亲...)")
    outcome: Text
    notes: FreeText(4000) | None = None
    next_step: FreeText(2000) | None = None


class HomeVisitOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    visited_on: date
    visitors: list[str]
    met: list[str] = []
    outcome: str
    notes: str | None = None
    next_step: str | None = None
    id: str
    case_id: str
    recorded_by: str
    recorded_at: datetime


class CaseDetail(CaseOut):
    reports: list[DualReportOut]
    plan_items: list[PlanItemOut] = []
    home_visits: list[HomeVisitOut] = []
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
        {"to": "false_alarm", "reason": "sick", "note": "住院，已补请假"},
        {"to": "transferred", "evidence": {"receipt": "回执-2026-118", "receiving_school_code": "4101221002"}},
        {"to": "closed", "evidence": {"returned_on": "2026-11-23", "description": "已复学，连续到校一周"}},
        {"to": "reported", "note": "本学期再次辍学，重新立案"}]})
    to: CaseStatus = Field(description="the target state; `reported` on a closed case reopens it")
    reason: FalseAlarmReason | None = Field(default=None, description="required for false_alarm, and only there")
    evidence: Evidence | None = None
    note: FreeText(2000) | None = None

    @model_validator(mode="after")
    def _reason_only_for_a_false_alarm(self) -> "TransitionIn":
        if self.reason is not None and self.to is not CaseStatus.false_alarm:
            raise ValueError("reason applies to a false_alarm only")
        return self


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    title: LineText(100) | None = None
    phone: LineText(32) | None = None
    org_code: str | None = Field(default=None, max_length=32)


class ResponsibilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "responsible_person": {"name": "李明", "title": "班主任"}, "head_teacher": {"name": "李明"},
        "principal": {"name": "王校长"}, "township_official": {"name": "张镇长", "org_code": "410122100"},
        "county_official": {"name": "赵局长", "org_code": "410122"}}]})
    responsible_person: Person | None = Field(default=None, description="劝返责任人")
    head_teacher: Person | None = None
    principal: Person | None = None
    township_official: Person | None = None
    county_official: Person | None = None


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
    overdue: bool
    outcome: str | None
    outcome_label: str | None
    closed_at: datetime | None


class VisitorCount(BaseModel):
    visitor: str
    visits: int
    cases: int
    last_visit_on: date


class HomeVisitSummary(BaseModel):
    org_code: str
    since: date
    until: date
    visitors: list[VisitorCount]
