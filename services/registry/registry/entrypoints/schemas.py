"""Request and response bodies, separate from tables (one family per resource)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from registry.domain.model import OrgKind, StudentStatus

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{5,19}$")]
Flag = Literal["poor_household", "left_behind", "single_parent", "disabled", "learning_difficulty"]


class OrgCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "410122", "name": "中牟县", "kind": "county", "parent_code": "410100"}]})
    code: Code
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: OrgKind
    parent_code: Code | None = None


class OrgPublic(BaseModel):
    code: str
    name: str
    kind: OrgKind
    parent_code: str | None
    path: list[str]


class ClassCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"grade": 7, "name": "七年级(1)班"}]})
    grade: int = Field(ge=1, le=9, description="1-6 primary, 7-9 junior middle")
    name: Name


class ClassPublic(BaseModel):
    id: str
    school_code: str
    grade: int
    name: str


class Guardian(BaseModel):
    name: Name
    relation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    phone: Phone | None = None


class StudentCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "national_id": "11010520120305002X", "name": "李小花", "gender": "female", "birth_date": "2012-03-05",
        "school_code": "41012201001", "class_id": "…", "flags": ["left_behind"],
        "guardians": [{"name": "李大山", "relation": "father", "phone": "13800000000"}]}]})
    national_id: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=32)]
    name: Name
    gender: Literal["male", "female"]
    birth_date: date
    school_code: Code
    class_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    enrolled_on: date | None = Field(default=None, description="defaults to today")
    flags: list[Flag] = Field(default_factory=list, max_length=10)
    guardians: list[Guardian] = Field(default_factory=list, max_length=6)


class GuardianPublic(BaseModel):
    name: str
    relation: str
    phone: str | None = Field(default=None, description="masked (138****0000) unless the caller's role phones families")


class StudentPublic(BaseModel):
    id: str
    student_number: str = Field(description="G + the ID number; masked like national_id")
    national_id: str = Field(description="masked (4101**********1234) unless the caller is school staff or a "
                                         "county official")
    name: str
    gender: str
    birth_date: date
    school_code: str
    class_id: str
    grade: int
    status: StudentStatus
    enrolled_on: date
    flags: list[str]
    guardians: list[GuardianPublic]
