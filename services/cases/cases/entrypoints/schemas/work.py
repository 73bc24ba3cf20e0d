"""The work on a case: plan items, home visits and their registers, responsibility (七长/五级)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cases.entrypoints.schemas.common import Text
from shared.text import FreeText, LineText, Name, OrgName
from shared.types import SchoolDay


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
