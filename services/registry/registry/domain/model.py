"""Organisations, classes and students: the rules, with no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Final

from registry.domain.national_id import EARLIEST_BIRTH, InvalidNationalId, NationalId, parse
from shared.errors import Conflict, Invalid

# OrgKind and SchoolSystem are shared (cases and reporting read the same kinds); re-exported here.
from shared.orgs import OrgKind, SchoolSystem, level_of


class Unchanged(enum.Enum):
    """A field a change leaves out: kept as it is, where None would clear it (or be refused)."""

    unchanged = "unchanged"


UNCHANGED: Final = Unchanged.unchanged


def named(change: Any) -> dict[str, Any]:
    """The fields a change (a dataclass with UNCHANGED defaults) names, None included."""
    return {f.name: value for f in fields(change) if (value := getattr(change, f.name)) is not UNCHANGED}


class OfficeLine(str, enum.Enum):
    """The two lines of the dual report, each office on one (双线)."""

    government = "government"
    education = "education"


# Which kind may sit directly under which, for every shape the real tree has: a county-level unit
# under a province (济源, 仙桃, Hainan's counties; a municipality's districts, the municipality
# being province-level); towns directly under a city with no counties (东莞, 中山, 儋州); schools
# run by a township, a county, a city or a province (市直/省直学校).
PARENT_KINDS: dict[OrgKind, frozenset[OrgKind]] = {
    OrgKind.province: frozenset(),
    OrgKind.city: frozenset({OrgKind.province}),
    OrgKind.county: frozenset({OrgKind.city, OrgKind.province}),
    OrgKind.township: frozenset({OrgKind.county, OrgKind.city}),
    OrgKind.school: frozenset({OrgKind.township, OrgKind.county, OrgKind.city, OrgKind.province}),
    # An office belongs to an area; nothing sits under an office.
    OrgKind.office: frozenset({OrgKind.township, OrgKind.county, OrgKind.city, OrgKind.province}),
}


@dataclass(frozen=True)
class OrgRegistration:
    """An area, an office or a school registered under its parent (a province has none)."""

    code: str
    name: str
    kind: OrgKind
    parent_code: str | None = None
    system: SchoolSystem | None = None  # schools only; six-three when not given
    line: OfficeLine | None = None      # offices only, and required there


@dataclass(frozen=True)
class OrgChange:
    """A rename or a school's system corrected. ``parent_code`` is accepted only unchanged (see
    ``registry.usecases.registration.reorganisation_refused``); a system cannot be removed."""

    name: str | None | Unchanged = UNCHANGED  # None: kept, as left out
    system: SchoolSystem | None | Unchanged = UNCHANGED
    parent_code: str | None | Unchanged = UNCHANGED


@dataclass(frozen=True)
class NewClass:
    grade: int
    name: str
    school_year: int | None = None  # the current school year when not given


def check_line(kind: OrgKind, line: OfficeLine | None) -> None:
    """An office names its line; nothing else has one."""
    if (kind is OrgKind.office) != (line is not None):
        message = "an office names its line: government or education" if kind is OrgKind.office \
            else "only an office has a line"
        raise Invalid(message, errors=[{"field": "line", "pointer": "/line", "message": message}])


def check_parent(kind: OrgKind, parent_kind: OrgKind | None) -> None:
    allowed = PARENT_KINDS[kind]
    if parent_kind is None:
        if allowed:
            raise Invalid(f"a {kind.value} needs a parent ({' or '.join(sorted(k.value for k in allowed))})",
                          errors=[{"field": "parent_code", "pointer": "/parent_code", "message": "required"}])
        return
    if parent_kind not in allowed:
        raise Invalid(f"a {kind.value} cannot sit under a {parent_kind.value}",
                      errors=[{"field": "parent_code", "pointer": "/parent_code",
                               "message": f"parent is a {parent_kind.value}"}])


class StudentStatus(str, enum.Enum):
    enrolled = "enrolled"
    suspended = "suspended"
    transferred_out = "transferred_out"
    transferred_in = "transferred_in"
    boarding_elsewhere = "boarding_elsewhere"
    dropped_out = "dropped_out"
    home_teaching = "home_teaching"
    unable_to_study = "unable_to_study"
    graduated = "graduated"
    deceased = "deceased"


# A child may hold only one record in these states across the whole system (a graduate or a
# deceased child's record is history). Mirrored by the partial unique index on students.
FINAL_STATUSES = frozenset({StudentStatus.graduated, StudentStatus.deceased})
ACTIVE_STATUSES = frozenset(StudentStatus) - FINAL_STATUSES


@dataclass(frozen=True)
class Guardian:
    name: str
    relation: str
    phone: str | None = None


@dataclass(frozen=True)
class Enrollment:
    """A child enrolled at a school's class: with the ID number, or without one and why not (the
    birth date and gender are then taken as given)."""

    name: str
    gender: str  # male or female
    birth_date: date
    school_code: str
    class_id: str
    national_id: str | None = None
    no_id_reason: str | None = None
    enrolled_on: date | None = None  # today when not given
    flags: tuple[str, ...] = ()
    guardians: tuple[Guardian, ...] = ()
    household_region: str | None = None


def region_prefix(division_code: str) -> str:
    """The prefix every code inside a division shares: 410000 -> "41" (the province), 410100 ->
    "4101" (a city), 410122 -> "410122" (a county). Codes are pairs of digits per level."""
    code = division_code
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def check_system(kind: OrgKind, system: SchoolSystem | None) -> SchoolSystem | None:
    """A school has a system (six-three unless it says otherwise); an area has none."""
    if kind is OrgKind.school:
        return system or SchoolSystem.six_three
    if system is not None:
        raise Invalid(f"a {kind.value} has no school system; only a school does",
                      errors=[{"field": "system", "pointer": "/system", "message": "only for a school"}])
    return None


def primary_or_junior(system: SchoolSystem | str | None, grade: int) -> str:
    return level_of(system, grade) or "primary"


def validate_enrollment(*, national_id: str, birth_date: date, gender: str, today: date) -> NationalId:
    """The ID must be well formed and agree with the birth date and gender given."""
    try:
        nid = parse(national_id, today=today, earliest=EARLIEST_BIRTH)
    except InvalidNationalId as exc:
        raise Invalid(f"national_id: {exc}", errors=[{"field": "national_id", "pointer": "/national_id",
                                                     "message": str(exc)}]) from None
    problems = []
    if nid.birth_date != birth_date:
        problems.append({"field": "birth_date", "pointer": "/birth_date",
                         "message": f"the national ID says {nid.birth_date.isoformat()}"})
    if nid.gender != gender:
        problems.append({"field": "gender", "pointer": "/gender", "message": f"the national ID says {nid.gender}"})
    if problems:
        raise Invalid("the record does not agree with the national ID: "
                      + ", ".join(p["field"] for p in problems), errors=problems)
    return nid


def already_active(where: str) -> Conflict:
    return Conflict(f"this child already has an active student record at {where}", active_at=where)
