"""Request and response bodies, separate from tables (one family per resource)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.text import FreeText, LineText, Name, NameText, OrgName
from shared.types import Day

from registry.domain.lifecycle import Side
from registry.domain.model import OfficeLine, OrgKind, SchoolSystem, StudentStatus
from registry.domain.off_roll import Missing, OverdueReason, Terms

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{5,19}$")]
Flag = Literal["poor_household", "left_behind", "single_parent", "disabled", "learning_difficulty"]


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


HostName = NameText(200)
SchoolYear = Annotated[int, Field(ge=2000, le=2100, description="the year the school year starts (2026 = 2026-2027)")]
Region = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


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
    def _an_id_or_why_not(self) -> "StudentCreate":
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

    def terms(self) -> Terms:
        return Terms(host_school_code=self.host_school_code, host_school_name=self.host_school_name,
                     host_region=self.host_region, expected_end=self.expected_end)


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


class TransferIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"to_school_code": "41012202001", "effective_on": "2026-11-20", "reason": "family moved"},
        {"destination": "广东省东莞市某小学 (outside this system)", "reason": "parents work away"}]})
    to_school_code: Code | None = Field(default=None, description="the receiving school, if it is in this system")
    destination: LineText(200, min_length=1) | None = None
    effective_on: Day | None = Field(default=None, description="defaults to today")
    reason: FreeText(500) | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> "TransferIn":
        if self.to_school_code is None and self.destination is None:
            raise ValueError("name the receiving school (to_school_code) or describe the destination")
        return self


class TransferConfirmIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"class_id": "…", "effective_on": "2026-11-23"}]})
    class_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = Field(
        default=None, description="the receiving school's class; required when the receiving school confirms "
                                  "(a transfer the receiving school asked for named it then)")
    effective_on: Day | None = Field(default=None, description="the day the child arrived; defaults to today")


class TransferRequestIn(BaseModel):
    """The receiving school asks for a child's record (转入申请), as the national system does; the
    sending school confirms. The child is found by ID number and name together."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "national_id": "11010520120305002X", "name": "李小花", "class_id": "…", "effective_on": "2026-11-20",
        "reason": "family moved"}]})
    national_id: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=32)]
    name: Name
    class_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] = Field(
        description="the class of the receiving school the child joins")
    effective_on: Day | None = Field(default=None, description="defaults to today")
    reason: FreeText(500) | None = None


class TransferPublic(BaseModel):
    id: str
    student_id: str
    status: Literal["pending", "confirmed", "cancelled"]
    from_school_code: str
    to_school_code: str | None
    destination: str | None
    reason: str | None
    requested_on: date
    requested_by: str
    confirmed_on: date | None
    to_class_id: str | None
    days_pending: int | None = Field(description="for a pending transfer, days since it was requested")
    overdue: bool
    started_by: Side = Field(default=Side.sender, description="which school filed it; the other one confirms")


class ReceiptIn(BaseModel):
    """The host's receipt (回执) for a child boarding elsewhere."""
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"received_on": "2026-11-25"},
        {"received_on": "2026-11-25", "evidence": "东莞市某小学回执, 盖章扫描件 2026-331"}]})
    received_on: Day | None = Field(default=None, description="the day on the receipt; defaults to today")
    evidence: FreeText(500, min_length=1) | None = Field(
        default=None, description="what the receipt is (required unless the host school itself confirms)")


class OffRollUpdate(BaseModel):
    """Supply what the status change left out, or move the end (a suspension extended)."""
    model_config = ConfigDict(json_schema_extra={"examples": [{"expected_end": "2027-07-01"}]})
    host_school_code: Code | None = None
    host_school_name: HostName | None = None
    host_region: Region | None = None
    expected_end: Day | None = None


class OffRollPublic(BaseModel):
    id: str
    student_id: str
    kind: StudentStatus
    school_code: str
    started_on: date
    reason: str | None
    expected_end: date | None
    host_school_code: str | None
    host_school_name: str | None
    host_region: str | None
    received_on: date | None
    receipt_by: str | None
    receipt_evidence: str | None
    closed_on: date | None
    missing: list[Missing]
    overdue: list[OverdueReason] = Field(description="why the watchdog calls it overdue today, if it does")


class WatchItem(BaseModel):
    """A child off the roll by a status, with how long and what is missing."""
    student_id: str
    name: str
    school_code: str
    class_id: str
    grade: int
    status: StudentStatus = Field(description="boarding_elsewhere, suspended or transferred_out")
    since: date = Field(description="the day the status took effect")
    days_off: int
    period_id: str | None = Field(description="boarding elsewhere, suspension")
    transfer_id: str | None = Field(description="a pending transfer out")
    expected_end: date | None
    host_school_code: str | None
    host_school_name: str | None
    host_region: str | None
    received_on: date | None
    to_school_code: str | None
    destination: str | None
    missing: list[Missing]
    overdue: list[OverdueReason]


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
