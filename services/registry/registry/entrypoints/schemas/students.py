"""Bodies of the student routes: enrolment, the record, status changes, IDs, flags, imports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from registry.domain.model import StudentStatus
from registry.domain.off_roll import Missing
from registry.entrypoints.schemas.common import Code, Flag, HostName, Phone, Region
from shared.text import FreeText, LineText, Name
from shared.types import Day


class Guardian(BaseModel):
    name: Name
    relation: LineText(20, min_length=1)
    phone: Phone | None = None


class StudentCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "national_id": "11010520120305002X", "name": "李小花", "gender": "female", "birth_date": "2012-03-05",
        "school_code": "41012201001", "class_id": "…", "flags": ["left_behind"],
        "guardians": [{"name": "李大山", "relation": "father", "phone": "13800000000"}]}]})
    national_id: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1,
                                                 max_length=32)] | None = Field(
        default=None, description="leave out for a child with no ID yet, and say why in no_id_reason")
    no_id_reason: LineText(200, min_length=1) | None = Field(
        default=None, description="why the child has no ID (未落户, foreign national...): the record gets a temporary "
                                  "student number (L...), and birth date and gender are taken as given")
    name: Name
    gender: Literal["male", "female"]
    birth_date: Day
    school_code: Code
    class_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    enrolled_on: Day | None = Field(default=None, description="defaults to today; not before the birth date")
    flags: list[Flag] = Field(default_factory=list, max_length=10)
    guardians: list[Guardian] = Field(default_factory=list, max_length=6)
    household_region: Region | None = Field(default=None, description="户籍: 6-digit division code")

    @model_validator(mode="after")
    def _an_id_or_why_not(self) -> StudentCreate:
        if (self.national_id is None) == (self.no_id_reason is None):
            raise ValueError("give the national_id, or, for a child without one, the no_id_reason (not both)")
        return self


class NationalIdIn(BaseModel):
    """The ID of a child enrolled without one, when it arrives."""
    model_config = ConfigDict(json_schema_extra={"examples": [{"national_id": "11010520120305002X"}]})
    national_id: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=32)]


class MergePublic(BaseModel):
    kept_id: str
    merged_id: str
    source: Literal["national_id", "problem_record"]
    reason: str
    actor: str
    merged_at: datetime


class GuardianPublic(BaseModel):
    name: str
    relation: str
    phone: str | None = Field(default=None, description="masked (138****0000) unless the caller's role phones families")


class StudentPublic(BaseModel):
    id: str
    student_number: str = Field(description="G + the ID number, masked like national_id; a temporary number "
                                            "(L...) for a child without an ID")
    national_id: str | None = Field(description="masked (4101**********1234) unless the caller is school staff or "
                                                "a county official; null for a child without an ID yet")
    no_id_reason: str | None = None
    name: str
    gender: str
    birth_date: date
    school_code: str
    class_id: str
    grade: int
    status: StudentStatus
    enrolled_on: date
    flags: list[str]
    poverty_category: str | None = Field(default=None, description="poor_household: the poverty office's "
                                                                   "category (脱贫户, 防返贫监测对象, 低保...)")
    guardians: list[GuardianPublic]
    household_region: str | None = None


class FlagsPatch(BaseModel):
    """Add or remove risk flags; each change is kept in the record's flag history."""
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"add": ["left_behind"], "remove": [], "reason": "both parents now work in 东莞 (家访 2026-11-20)"}]})
    add: list[Flag] = Field(default_factory=list, max_length=5)
    remove: list[Flag] = Field(default_factory=list, max_length=5)
    reason: FreeText(500, min_length=1)
    effective_on: Day | None = Field(default=None, description="defaults to today; never in the future")


class FlagChangePublic(BaseModel):
    student_id: str
    flag: str
    action: Literal["added", "removed", "category"] = Field(description="category: still flagged, now under "
                                                                        "another poverty list's category")
    category: str | None = Field(description="poor_household: the poverty office's category")
    effective_on: date
    reason: str
    source: Literal["manual", "poverty_list"]
    source_ref: str | None = Field(description="the poverty list's id")
    actor: str
    recorded_at: datetime


class IdentifiedPublic(BaseModel):
    student: StudentPublic
    merged: list[MergePublic] = Field(description="the child's other records merged into this one")


class StatusChangeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "suspended", "effective_on": "2026-11-20", "reason": "illness: hospital certificate 2026-118"}]})
    status: StudentStatus
    effective_on: Day | None = Field(default=None, description="defaults to today; never in the future")
    reason: FreeText(500) | None = Field(
        default=None, description="required for suspended, dropped_out, unable_to_study, home_teaching, deceased")
    # Boarding elsewhere (寄读) and suspension (休学). Left out, the change is still accepted (school
    # apps that predate these fields keep working) and the response lists them in `missing`.
    host_school_code: Code | None = Field(default=None, description="boarding_elsewhere: the host school, "
                                                                    "if it is in this system")
    host_school_name: HostName | None = Field(default=None, description="boarding_elsewhere: a host outside "
                                                                        "this system, with host_region")
    host_region: Region | None = Field(default=None, description="the host's 6-digit division code")
    expected_end: Day | None = Field(default=None, description="boarding_elsewhere, suspended: the day the child "
                                                                "is expected back (after effective_on)")


class StatusChangePublic(BaseModel):
    student_id: str
    previous_status: StudentStatus | None
    status: StudentStatus
    effective_on: date
    reason: str | None
    actor: str
    school_code: str
    transfer_id: str | None
    recorded_at: datetime
    period_id: str | None = Field(default=None, description="boarding_elsewhere, suspended: the period off the "
                                                            "roll this change opened (GET /v1/students/watch)")
    missing: list[Missing] = Field(default_factory=list, description="what the change did not say and the "
                                                                     "watchdog will ask for: host, expected_end, "
                                                                     "receipt")


class StudentSearch(BaseModel):
    """Filters for the student list; all optional, combined with AND, always within the caller's scope."""
    org_code: Code | None = Field(default=None, description="any org: a school, township, county, city or province")
    school_code: Code | None = None
    class_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    grade: int | None = Field(default=None, ge=1, le=9)
    status: StudentStatus | None = None
    flag: Flag | None = None
    household_region: Region | None = Field(default=None, description="户籍 region; a city or province code "
                                                                       "matches every county in it")
    name: LineText(100, min_length=1) | None = Field(default=None, description="part of the name")


class RowError(BaseModel):
    row: int = Field(description="the spreadsheet row (the heading is row 1)")
    field: str
    pointer: str
    message: str


class ImportReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "school_code": "41012201001", "dry_run": True, "rows": 3, "valid": 2, "invalid": 1, "imported": 0,
        "columns": {"national_id": "身份证号", "name": "姓名", "class": "班级"},
        "errors": [{"row": 4, "field": "national_id", "pointer": "/rows/4/national_id",
                    "message": "check character does not match (ISO 7064 MOD 11-2)"}], "seconds": 0.02}]})
    school_code: str
    dry_run: bool
    rows: int
    valid: int
    invalid: int
    imported: int
    columns: dict[str, str] = Field(description="field -> the heading it was read from")
    errors: list[RowError]
    seconds: float | None = None
