from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shared.open_json import check_open, clipped
from shared.types import Day, SchoolDay

from shared.text import FreeText, LineText, Name, OrgName

from cases.domain.ladder import Response, Step
from cases.domain.lifecycle import CaseStatus, DropoutCause, FalseAlarmReason

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
    case_id: str | None = Field(description="the child's open case when the visit was recorded, if any")
    student_id: str | None = None
    recorded_by: str
    recorded_at: datetime


class LegalEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: FreeText(2000) | None = None
    document_ref: LineText(200) | None = Field(default=None, description="a receipt of service, a file reference")
    witnesses: list[Name] = Field(default_factory=list, max_length=10)


class LegalStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "step": "parent_notice", "issuing_org_name": "城关镇第一初级中学", "served_on": "2026-11-20",
        "served_how": "in_person", "deadline": "2026-11-27", "document_number": "城中〔2026〕1号",
        "evidence": {"description": "班主任当面送达，家长签收", "witnesses": ["李老师"]}}]})
    step: Step
    issuing_org_code: str | None = Field(default=None, max_length=36, description="default: the caller's org")
    issuing_org_name: OrgName = Field(description="as printed on the document")
    guardian: Name | None = Field(default=None, description="whom it is served on; default: the child's first guardian")
    served_on: SchoolDay
    served_how: Literal["in_person", "post", "left_at_home", "announcement"]
    deadline: Day = Field(description="the last day to comply (send the child back to school)")
    document_number: LineText(100) | None = None
    evidence: LegalEvidence | None = None

    @model_validator(mode="after")
    def _deadline_after_service(self) -> "LegalStepIn":
        if self.deadline <= self.served_on:
            raise ValueError("deadline must be after served_on")
        return self


class LegalResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"response": "complied", "responded_on": "2026-11-25", "note": "已送孩子返校"}]})
    response: Response
    responded_on: SchoolDay
    note: FreeText(2000) | None = None


class LegalDocumentOut(BaseModel):
    format: Literal["docx", "pdf"]
    sha256: str
    size: int
    media_type: str


class LegalStepOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    case_id: str
    step: Step
    issuing_org_code: str
    issuing_org_name: str
    guardian: str
    served_on: date
    served_how: str
    deadline: date
    document_number: str | None
    evidence: dict[str, Any] | None
    response: Response | None
    responded_on: date | None
    response_note: str | None
    recorded_by: str
    recorded_at: datetime
    escalated_at: datetime | None
    overdue: bool
    documents: list[LegalDocumentOut]


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
    def _reason_only_for_a_false_alarm(self) -> "TransitionIn":
        if self.reason is not None and self.to is not CaseStatus.false_alarm:
            raise ValueError("reason applies to a false_alarm only")
        if (self.causes is not None or self.cause_note is not None) and self.to is not CaseStatus.confirmed:
            raise ValueError("causes and cause_note apply to confirmed only")
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
    # The 七长/五级 roles a standing assignment fills; a case may override any of them.
    county_head: Person | None = Field(default=None, description="县长")
    bureau_chief: Person | None = Field(default=None, description="教育局长")
    bureau_leader: Person | None = Field(default=None, description="包校局领导")
    section_chief: Person | None = Field(default=None, description="包校股长")
    township_head: Person | None = Field(default=None, description="乡镇长")
    village_head: Person | None = Field(default=None, description="村主任")
    grade_head: Person | None = Field(default=None, description="年级主任")


class VillageHead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    village: OrgName = Field(description="the village (村) as addresses name it")
    person: Person


class StandingIn(BaseModel):
    """The standing assignments of one place. Which roles a place holds follows its kind: a
    county its head and bureau chief; a township its head and a village head per village; a
    school its principal and the bureau leader and section chief in charge of it (包校); a
    class its grade head and head teacher. A PUT replaces them all."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"county_head": {"name": "赵县长"}, "bureau_chief": {"name": "钱局长"}},
        {"township_head": {"name": "张镇长"}, "village_heads": [{"village": "李庄村", "person": {"name": "李村长"}}]},
        {"principal": {"name": "王校长"}, "bureau_leader": {"name": "孙副局长"}, "section_chief": {"name": "周股长"}},
        {"grade_head": {"name": "吴主任"}, "head_teacher": {"name": "李老师"}}]})
    county_head: Person | None = Field(default=None, description="县长 (county)")
    bureau_chief: Person | None = Field(default=None, description="教育局长 (county)")
    township_head: Person | None = Field(default=None, description="乡镇长 (township)")
    village_heads: list[VillageHead] = Field(default_factory=list, max_length=200, description="村主任 (township)")
    principal: Person | None = Field(default=None, description="校长 (school)")
    bureau_leader: Person | None = Field(default=None, description="包校局领导 (school)")
    section_chief: Person | None = Field(default=None, description="包校股长 (school)")
    grade_head: Person | None = Field(default=None, description="年级主任 (class)")
    head_teacher: Person | None = Field(default=None, description="班主任 (class)")


class StandingOut(BaseModel):
    org_code: str
    level: Literal["county", "township", "school", "class"]
    org_path: list[str]
    class_id: str | None = None
    assignments: dict[str, Any]
    updated_by: str | None
    updated_at: datetime | None


class RecorderCount(BaseModel):
    recorder: str
    visits: int
    children: int
    required: int
    shortfall: int
    met: bool
    last_visit_on: date | None


class RelapsedChild(BaseModel):
    student_id: str
    student_name: str | None
    school_code: str
    class_id: str | None
    why: Literal["reopened", "returned"]
    why_label: str
    visits: int
    required: int
    shortfall: int
    last_visit_on: date | None


class HomeVisitRegister(BaseModel):
    org_code: str
    since: date
    until: date
    required_per_term: int
    relapsed_required: int
    recorders: list[RecorderCount]
    relapsed: list[RelapsedChild]


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


class LessonPlanOut(BaseModel):
    id: str
    filename: str
    media_type: str
    sha256: str
    size: int


class HomeTeachingOut(BaseModel):
    id: str
    student_id: str
    taught_on: date
    hours: float
    teachers: list[str]
    content: str
    recorded_by: str
    recorded_at: datetime
    lesson_plan: LessonPlanOut


class HomeTeachingCount(BaseModel):
    county_code: str | None
    children: int
    teachers: int
    sessions: int
    hours: float
    summary: str


class HomeTeachingCounts(BaseModel):
    org_code: str
    since: date
    until: date
    counties: list[HomeTeachingCount]


class AssistanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "boarding_subsidy", "amount": "625.00", "period_start": "2026-09-01", "period_end": "2027-01-31",
        "source": "家庭经济困难寄宿生生活补助"}]})
    kind: Literal["boarding_subsidy", "county_grant", "charity_grant", "other"] = Field(
        description="living subsidy for a boarder from a poor family, a county or charity grant, other (not 两免)")
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description="yuan")
    period_start: SchoolDay
    period_end: Day
    source: OrgName

    @model_validator(mode="after")
    def _period(self) -> "AssistanceIn":
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class AssistanceOut(BaseModel):
    # Not the input model: a stored value always reads, whatever the input checks become.
    model_config = ConfigDict(extra="ignore")
    kind: str
    amount: Decimal
    period_start: date
    period_end: date
    source: str
    id: str
    student_id: str
    recorded_by: str
    recorded_at: datetime


class PoorChild(BaseModel):
    student_id: str
    name: str
    school_code: str
    class_id: str | None
    aided: bool
    amount: float


class PoorHouseholdDropout(BaseModel):
    case_id: str
    student_id: str
    name: str | None
    school_code: str
    status: CaseStatus
    confirmed_at: datetime


class PovertyReport(BaseModel):
    org_code: str
    org_path: list[str]
    on: date
    poor_on_roll: int
    with_aid: int
    without_aid: int
    children: list[PoorChild]
    poor_household_dropouts: list[PoorHouseholdDropout] = Field(
        description="confirmed dropouts from registered-poor households, whatever the cause")
    poverty_dropouts: list[PoorHouseholdDropout] = Field(
        description="confirmed dropouts whose causes include poverty (因贫辍学)")
    no_poverty_dropout: bool = Field(description="true when no confirmed dropout names poverty as a cause")
