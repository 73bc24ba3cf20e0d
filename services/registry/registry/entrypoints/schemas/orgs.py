"""Bodies of the organisation, class and promotion routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from registry.domain.model import OfficeLine, OrgKind, SchoolSystem
from registry.entrypoints.schemas.common import Code, SchoolYear
from shared.text import Name, OrgName
from shared.types import Day

SYSTEM_DOC = ("schools only: 6+3 (primary 1-6), 5+4 (primary 1-5, grade 6 is junior middle), nine_year "
              "(九年一贯制) or twelve_year; 6+3 when not given")


class OrgCreate(BaseModel):
    """Any real shape: a county under a city or directly under a province (济源; a municipality's
    districts), a township under a county or a city without counties (东莞), a school under a
    township, a county, a city or a province (市直/省直学校)."""
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "410122", "name": "中牟县", "kind": "county", "parent_code": "410100"},
        {"code": "4419001", "name": "东莞市第一中学", "kind": "school", "parent_code": "441900", "system": "6+3"}]})
    code: Code
    name: OrgName
    kind: OrgKind
    parent_code: Code | None = None
    system: SchoolSystem | None = Field(default=None, description=SYSTEM_DOC)
    line: OfficeLine | None = Field(default=None, description="an office's line (government, education): "
                                                             "required for kind office, and only there")


class OrgUpdate(BaseModel):
    """Rename an org or correct a school's system. ``parent_code`` is accepted only unchanged:
    moving an org under another parent (行政区划调整) is refused with a 409 problem."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"system": "5+4"}]})
    name: OrgName | None = None
    system: SchoolSystem | None = Field(default=None, description=SYSTEM_DOC)
    parent_code: Code | None = None


class OrgPublic(BaseModel):
    code: str
    name: str
    kind: OrgKind
    parent_code: str | None
    path: list[str]
    system: SchoolSystem | None = None
    line: OfficeLine | None = None


class ClassCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"grade": 7, "name": "七年级(1)班", "school_year": 2026}]})
    grade: int = Field(ge=1, le=9, description="1-6 primary, 7-9 junior middle (1-5 and 6-9 in a 5+4 school)")
    name: Name
    school_year: SchoolYear | None = Field(default=None, description="defaults to the current school year")


class ClassPublic(BaseModel):
    id: str
    school_code: str
    grade: int
    name: str
    school_year: int | None = None


class PromotionIn(BaseModel):
    """Year-end move of every class of a school to the next grade; the top grade graduates."""
    model_config = ConfigDict(json_schema_extra={"examples": [{"school_year": 2026, "effective_on": "2027-07-10"}]})
    school_year: SchoolYear = Field(description="the school year that is ending")
    effective_on: Day | None = Field(default=None, description="graduation date; defaults to today")
    graduating_grade: int | None = Field(default=None, ge=5, le=9, description=(
        "defaults to the school system's: 9 for nine- and twelve-year schools and for schools with junior "
        "middle classes, else the last primary grade (6, or 5 in a 5+4 school)"))


class PromotionPublic(BaseModel):
    school_code: str
    school_year: int
    promoted_classes: int
    graduated_classes: int
    graduated_students: int
