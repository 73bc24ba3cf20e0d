"""Which records account for a child in the population cross-check (排查比对). No I/O.

A record accounts for a child when it has them in school (or taught at home, on a pending
transfer...), when the child has finished compulsory education, or when the child has died. A
graduate of grade 9 in June is 15 in August and has done their duty: calling them out of school
would flood every township with false cases each autumn. A primary graduate has not: the child who
finishes primary school and never turns up in junior middle (小升初) is the commonest real dropout,
so a primary graduate accounts only until the next school year starts; after that they need a
junior-middle record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from registry.domain.model import FINAL_STATUSES, StudentStatus
from registry.domain.school_age import school_year_start
from shared.orgs import LAST_COMPULSORY_GRADE


class Stage(str, enum.Enum):
    primary = "primary"        # finished primary school: junior middle is still owed
    compulsory = "compulsory"  # finished the last compulsory grade


def stage_finished(graduated_from_grade: int, system: str | None = None) -> Stage:
    """What a graduation from this grade completes. A primary-only school graduates its top
    primary grade (``shared.orgs.graduating_grade``: 6, or 5 in five-four) and a nine-year school
    only grade 9, so a graduation below grade 9 finished primary school, whatever the system."""
    return Stage.compulsory if graduated_from_grade >= LAST_COMPULSORY_GRADE else Stage.primary


class Unaccounted(str, enum.Enum):
    """Why a school-age child on a household list is a suspected out-of-school child."""
    no_record = "no_record"
    dropped_out = "dropped_out"
    no_junior_middle_record = "no_junior_middle_record"


@dataclass(frozen=True)
class RecordFacts:
    status: StudentStatus
    grade: int                    # the class's grade; for a graduate, the grade they left from
    graduated_on: date | None = None
    system: str | None = None


def next_school_year_starts(after: date) -> date:
    """1 September after ``after`` (a July graduation is followed by that September)."""
    return date(school_year_start(after) + 1, 9, 1)


def accounts(record: RecordFacts, as_of: date) -> bool:
    if record.status is StudentStatus.deceased:
        return True
    if record.status is StudentStatus.graduated:
        if stage_finished(record.grade, record.system) is Stage.compulsory:
            return True
        # No date on file (history lost): count it as just graduated rather than chase a child
        # on a guess; the next check with a dated record will.
        return record.graduated_on is None or as_of < next_school_year_starts(record.graduated_on)
    return record.status is not StudentStatus.dropped_out and record.status not in FINAL_STATUSES


def why_unaccounted(records: list[RecordFacts], as_of: date) -> Unaccounted | None:
    """None when any record accounts for the child, else the reason the cross-check gives."""
    if not records:
        return Unaccounted.no_record
    if any(accounts(r, as_of) for r in records):
        return None
    if any(r.status is StudentStatus.graduated for r in records):
        return Unaccounted.no_junior_middle_record
    return Unaccounted.dropped_out
