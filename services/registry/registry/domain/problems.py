"""Suspected duplicate records (问题学籍): which records look like one child. No I/O.

Two kinds, as the national system's problem-record queue has them: the same name, gender and
birth date within one county (a child enrolled twice, once without an ID, or under an ID typed
wrong), and one ID number on two records that are not the child's successive stages. A child
who finished primary school and started junior middle holds a graduated record and a new one
under the same ID: that is normal, so graduated records do not make an ID "twice"; a deceased
record beside a living one does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shared.envelope import stable_id


class ProblemKind(str, enum.Enum):
    same_person = "same_person"          # name, gender, birth date within a county
    same_national_id = "same_national_id"


@dataclass(frozen=True)
class ProblemMerge:
    """One child after all: the problem's other records merge into ``kept_id``."""

    kept_id: str
    reason: str


@dataclass(frozen=True)
class Candidate:
    student_id: str
    national_id: str | None
    name: str
    gender: str
    birth_date: date
    status: str
    county: str   # the county-level area the record's school is in


@dataclass(frozen=True)
class Problem:
    id: str
    kind: ProblemKind
    county: str | None
    student_ids: tuple[str, ...]


def problem_id(kind: ProblemKind, student_ids: Iterable[str]) -> str:
    """Stable while the group is the same records; a new record joining it makes a new problem
    (a dismissed pair does not hide a third record)."""
    return stable_id("problem-record", kind.value, *sorted(student_ids))


def county_of(path: Sequence[str], kinds: Mapping[str, str]) -> str:
    """The county-level area above a school: its county, else its city (a city with no counties,
    东莞), else its province; taken from the kinds on the path, never from its depth."""
    for wanted in ("county", "city", "province"):
        for code in reversed(path):
            if kinds.get(code) == wanted:
                return code
    return path[0]


def same_person_problems(candidates: Iterable[Candidate]) -> list[Problem]:
    groups: dict[tuple[str, str, date, str], list[Candidate]] = {}
    for c in candidates:
        groups.setdefault((c.name, c.gender, c.birth_date, c.county), []).append(c)
    out = []
    for (_, _, _, county), group in groups.items():
        # Records of one ID are one child's stages (or the other kind of problem), not two children.
        if len({c.national_id or c.student_id for c in group}) > 1:
            ids = tuple(sorted(c.student_id for c in group))
            out.append(Problem(problem_id(ProblemKind.same_person, ids), ProblemKind.same_person, county, ids))
    return out


def same_id_problems(candidates: Iterable[Candidate]) -> list[Problem]:
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        if c.national_id:
            groups.setdefault(c.national_id, []).append(c)
    out = []
    for group in groups.values():
        if sum(c.status != "graduated" for c in group) > 1:
            ids = tuple(sorted(c.student_id for c in group))
            out.append(Problem(problem_id(ProblemKind.same_national_id, ids), ProblemKind.same_national_id,
                               None, ids))
    return out
