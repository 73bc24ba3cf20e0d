"""Standing responsibility (七长/五级) and the duties of persuasion work. Pure.

Who answers for a child is set once per place and kept current, not typed into every case:
the county head and education bureau chief per county; the township head, and a village head
(村主任) per village, per township; the principal and the bureau leader and section chief in
charge of the school (包校) per school; the grade head (年级主任) and head teacher per class.
A new case's chain is filled from the places above it; the case may then override its own.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


class Level(str, enum.Enum):
    county = "county"
    township = "township"
    school = "school"
    klass = "class"


# Which roles each level holds. The level is taken from the org's kind (a district directly under
# a municipality is a county-level unit whatever its depth), never from its place in the path.
ROLES: dict[Level, tuple[str, ...]] = {
    Level.county: ("county_head", "bureau_chief"),
    Level.township: ("township_head",),
    Level.school: ("principal", "bureau_leader", "section_chief"),
    Level.klass: ("grade_head", "head_teacher"),
}
ROLE_TITLES: dict[str, str] = {
    "county_head": "县长", "bureau_chief": "教育局长", "bureau_leader": "包校局领导", "section_chief": "包校股长",
    "township_head": "乡镇长", "village_head": "村主任", "principal": "校长", "grade_head": "年级主任",
    "head_teacher": "班主任", "responsible_person": "劝返责任人",
}
# The order a chain is read in, top down; ``responsible_person`` (劝返责任人) is the case's own.
CHAIN_ORDER: tuple[str, ...] = (
    "county_head", "bureau_chief", "bureau_leader", "section_chief", "township_head", "village_head",
    "principal", "grade_head", "head_teacher", "responsible_person")
KIND_LEVEL: dict[str, Level] = {"county": Level.county, "township": Level.township, "school": Level.school}
# A confirmed dropout with nobody to bring them back this long is flagged in the ledger.
UNASSIGNED_AFTER = timedelta(hours=24)
# Seed 002: 有反复的学生家访次数要达到2次以上; a child who came back within a year has "反复" risk.
RELAPSE_WINDOW = timedelta(days=365)


class WrongLevel(Exception):
    """A role given for a place that does not hold it; ``errors`` name the fields."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Person:
    """Someone named in a chain: a name, and how to reach them."""

    name: str
    title: str | None = None
    phone: str | None = None
    org_code: str | None = None

    def stored(self) -> dict[str, str | None]:
        """As a chain or an assignment keeps it (JSON)."""
        return {"name": self.name, "title": self.title, "phone": self.phone, "org_code": self.org_code}


@dataclass(frozen=True)
class VillageHead:
    village: str  # the village (村) as addresses name it
    person: Person


# The fields of a place's assignments, in the order they are kept; village heads are a township's.
ASSIGNMENT_FIELDS: tuple[str, ...] = (
    "county_head", "bureau_chief", "township_head", "village_heads", "principal", "bureau_leader",
    "section_chief", "grade_head", "head_teacher")


@dataclass(frozen=True)
class Assignments:
    """A PUT of one place's standing assignments: the roles named (any left out are cleared),
    and a township's village heads. Which roles the place holds is ``check_roles``'s to say."""

    people: Mapping[str, Person]
    village_heads: tuple[VillageHead, ...] = ()

    def stored(self) -> dict[str, object]:
        """The roles given, as kept, in ``ASSIGNMENT_FIELDS`` order (no empty role)."""
        out: dict[str, object] = {}
        for role in ASSIGNMENT_FIELDS:
            if role == "village_heads":
                if self.village_heads:
                    out[role] = [{"village": v.village, "person": v.person.stored()} for v in self.village_heads]
            elif role in self.people:
                out[role] = self.people[role].stored()
        return out


@dataclass(frozen=True)
class Standing:
    """One place's assignments as stored: role → person (a dict with at least ``name``)."""

    org_code: str
    level: Level
    assignments: Mapping[str, object]


def level_of_kind(kind: str | None) -> Level | None:
    return KIND_LEVEL.get(kind or "")


def check_roles(level: Level, given: Mapping[str, object]) -> None:
    """Each role belongs to one level: a principal is set on the school, not on the county."""
    allowed = set(ROLES[level]) | ({"village_heads"} if level is Level.township else set())
    errors = [{"field": role, "pointer": f"/{role}",
               "message": f"{role} is set on a {_holder(role)}, not on a {level.value}"}
              for role, person in given.items() if person is not None and role not in allowed]
    if errors:
        raise WrongLevel(errors)


def _holder(role: str) -> str:
    if role == "village_heads":
        return "township (one per village)"
    return next((lvl.value for lvl, roles in ROLES.items() if role in roles), "case")


def fill_chain(base: Mapping[str, object], standing: Sequence[Standing], *,
               addresses: Sequence[str] = ()) -> dict[str, object]:
    """A new case's chain: ``base`` (what the case already knows) with every role a place above
    it assigns, each marked with the org it came from. The village head is the one whose village
    is named in the child's or a guardian's address; none when no address names one."""
    chain: dict[str, object] = dict(base)
    for place in standing:
        for role in ROLES[place.level]:
            person = place.assignments.get(role)
            if isinstance(person, Mapping) and person.get("name"):
                chain[role] = {**person, "from_org": place.org_code}
        if place.level is Level.township:
            heads = place.assignments.get("village_heads")
            for entry in heads if isinstance(heads, list) else []:
                if isinstance(entry, Mapping) and any(entry.get("village") and entry["village"] in a
                                                      for a in addresses):
                    chain["village_head"] = {**entry["person"], "village": entry["village"],
                                             "from_org": place.org_code}
                    break
    return chain


def named_roles(chain: Mapping[str, object]) -> dict[str, str]:
    """role → name for every role with a named person, in chain order."""
    out = {}
    for role in CHAIN_ORDER + tuple(k for k in chain if k not in CHAIN_ORDER):
        person = chain.get(role)
        if isinstance(person, Mapping) and person.get("name"):
            out[role] = str(person["name"])
    return out


def unassigned(confirmed_at: datetime | None, responsible_assigned_at: datetime | None, now: datetime) -> bool:
    """A confirmed dropout with no 劝返责任人 more than 24 hours after confirmation."""
    return (confirmed_at is not None and responsible_assigned_at is None
            and now - confirmed_at > UNASSIGNED_AFTER)


def relapsed(returned_at: datetime | None, reopen_count: int, now: datetime) -> bool:
    """A child with 反复 risk: returned to school within the last year, or whose case was reopened."""
    return reopen_count > 0 or (returned_at is not None and now - returned_at <= RELAPSE_WINDOW)


def visits_short(visits: int, required: int) -> int:
    """How many visits are missing against a duty (0 when it is met)."""
    return max(required - visits, 0)
