from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cases.domain.lifecycle import CaseStatus, DropoutCause, FalseAlarmReason

Text = Field(min_length=1, max_length=2000)
Name = Field(min_length=1, max_length=100)


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
    detail: dict[str, Any]
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
    child: dict[str, Any] | None = None
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    responsibility: dict[str, Any] | None = None
    false_alarm_reason: str | None = None
    outcome: str | None = None
    evidence: dict[str, Any] | None = None
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


class PlanItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "persuasion", "description": "班主任与村干部每周上门劝返一次", "owner": "李老师", "due_on": "2026-11-30"}]})
    kind: Literal["persuasion", "care", "assistance"]
    description: str = Text
    owner: str = Name
    due_on: date


class PlanItemOut(PlanItemIn):
    model_config = ConfigDict(extra="ignore")
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
    visited_on: date
    visitors: list[str] = Field(min_length=1, max_length=10, description="who went: teacher ids or names")
    met: list[str] = Field(default_factory=list, max_length=10, description="whom they met (祖母, 父亲...)")
    outcome: str = Text
    notes: str | None = Field(default=None, max_length=4000)
    next_step: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _visitors_named(self) -> "HomeVisitIn":
        if any(not v.strip() or len(v) > 100 for v in self.visitors):
            raise ValueError("each visitor is a non-empty name or id of at most 100 characters")
        return self


class HomeVisitOut(HomeVisitIn):
    model_config = ConfigDict(extra="ignore")
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
    note: str = Text


class Evidence(BaseModel):
    model_config = ConfigDict(extra="allow")
    returned_on: date | None = Field(default=None, description="the confirmed date the child returned (returned)")
    receipt: str | None = Field(default=None, max_length=200, description="the receiving school's receipt (transferred)")
    receiving_school_code: str | None = Field(default=None, max_length=32)
    document_ref: str | None = Field(default=None, max_length=200, description="a notice number, a file reference")
    description: str | None = Field(default=None, max_length=2000)


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
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _reason_only_for_a_false_alarm(self) -> "TransitionIn":
        if self.reason is not None and self.to is not CaseStatus.false_alarm:
            raise ValueError("reason applies to a false_alarm only")
        if (self.causes is not None or self.cause_note is not None) and self.to is not CaseStatus.confirmed:
            raise ValueError("causes and cause_note apply to confirmed only")
        return self


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    title: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
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


class OfficeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32, description="the office's org code (kind office), "
                                                               "also the org of its recipient tokens")
    name: str | None = Field(default=None, min_length=1, max_length=200)


class RecipientsIn(BaseModel):
    """The area's two recipient offices, one per line: two different offices."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "government": {"code": "410122100-GOV", "name": "某某镇人民政府"},
        "education": {"code": "410122100-ZXX", "name": "某某镇中心校"}}]})
    government: OfficeIn
    education: OfficeIn


class OfficeOut(BaseModel):
    code: str
    name: str
    derived: bool = Field(description="true: the area named none, reports go to <area>-GOV / <area>-EDU")
    named_by: str | None = None
    named_at: datetime | None = None


class RecipientsOut(BaseModel):
    area_code: str
    area_name: str
    area_kind: str
    government: OfficeOut
    education: OfficeOut
