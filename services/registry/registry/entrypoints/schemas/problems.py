"""Bodies of the problem-record routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from registry.domain.model import StudentStatus
from registry.entrypoints.schemas.students import MergePublic
from shared.text import FreeText


class ProblemRecordItem(BaseModel):
    student_id: str
    name: str
    gender: str
    birth_date: date
    national_id: str | None = Field(description="masked like a student's; null: no ID yet")
    student_number: str
    school_code: str
    status: StudentStatus
    enrolled_on: date


class ProblemRecordPublic(BaseModel):
    id: str = Field(description="stable while the group is the same records")
    kind: Literal["same_person", "same_national_id"] = Field(
        description="same_person: the same name, gender and birth date in one county; same_national_id: one ID on "
                    "records that are not the child's successive stages")
    county_code: str | None
    records: list[ProblemRecordItem]


class ProblemMergeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kept_id": "…", "reason": "同一人: 家访核实 2026-11-20"}]})
    kept_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] = Field(
        description="the record that stays (the others' history moves onto it)")
    reason: FreeText(500, min_length=1)


class ProblemMergedPublic(BaseModel):
    problem_id: str
    kept_id: str
    merged: list[MergePublic]


class DismissIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "两人: 同名同日生, 户籍不同"}]})
    reason: FreeText(500, min_length=1)


class DismissalPublic(BaseModel):
    problem_id: str
    kind: str
    student_ids: list[str]
    reason: str
    actor: str
    dismissed_at: datetime
