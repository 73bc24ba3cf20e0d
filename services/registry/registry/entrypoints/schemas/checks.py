"""Bodies of the population checks and poverty lists."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from registry.entrypoints.schemas.students import RowError


class PovertyListReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "…", "region_code": "410122", "category": "脱贫户", "list_date": "2026-10-15", "dry_run": False,
        "rows": 120, "valid": 120, "invalid": 0, "matched": 97, "not_found": 23, "flagged": 12, "cleared": 3,
        "older": 0, "suspected": 2, "check_id": "…", "columns": {"national_id": "身份证号", "name": "姓名"},
        "errors": [], "seconds": 0.4}]})
    id: str | None = Field(description="null for a dry run")
    region_code: str
    category: str
    list_date: date
    dry_run: bool
    rows: int
    valid: int
    invalid: int
    matched: int = Field(default=0, description="valid rows with an active record in the caller's region")
    not_found: int = Field(default=0, description="valid rows with none (elsewhere, or no record at all)")
    flagged: int = Field(default=0, description="records now flagged poor_household in this category")
    cleared: int = Field(default=0, description="records flagged from this category and no longer on it")
    older: int = Field(default=0, description="records whose flag changed after the list's date: left as they are")
    suspected: int = Field(default=0, description="school-age children on the list whom no record accounts for")
    check_id: str | None = Field(default=None, description="their findings: GET /v1/population-checks/{id}/findings")
    columns: dict[str, str]
    errors: list[RowError]
    seconds: float | None = None


class PopulationCheckPublic(BaseModel):
    id: str
    region_code: str
    as_of: date
    rows: int = Field(description="valid rows on the list")
    school_age: int = Field(description="of them, children of compulsory school age")
    suspected: int = Field(description="school-age children with no record accounting for them")
    outside_age: int = Field(description="attending records in the region outside the compulsory age")
    created_by: str
    created_at: datetime
    errors: list[RowError] = Field(default_factory=list, description="rows skipped (skip_invalid=true)")


class PopulationFinding(BaseModel):
    kind: Literal["suspected_out_of_school", "outside_compulsory_age"]
    person_id: str = Field(description="stable per child across checks (derived from the ID number)")
    national_id: str | None = Field(description="masked unless the caller is school staff or a county official; "
                                                "null for an attending record with no ID yet")
    name: str
    gender: str
    birth_date: date
    age: int = Field(description="age on 31 August of the school year")
    address: str | None
    student_id: str | None
    school_code: str | None
    reason: Literal["no_record", "dropped_out", "no_junior_middle_record"] | None = Field(
        default=None, description="suspected_out_of_school: no record at all, a dropped-out record, or a primary "
                                  "graduate with no junior-middle record once the next school year started")
