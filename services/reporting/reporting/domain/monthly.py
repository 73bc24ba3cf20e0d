"""The school's monthly dropout report per class (学校辍学月报表) and its class ranking
(量化评比). Pure: the counts come from one query (reporting/queries/monthly.py); this decides what a
class's month means, ranks the classes within each school and names the no-dropout classes.

Seed 001: 对各班辍学情况，学校每月都要作出详细统计，进行量化评比. Seed 002: 《学校辍学月报表》.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from functools import cached_property

from reporting.domain.rates import ratio

# Why a figure is unknown rather than 0: no roll call was expected or recorded in the month.
NO_ROLL_CALL_EVENTS = ("no roll call was expected or recorded under this org in the month (attendance's "
                       "baoxue.attendance.roll_call.recorded and baoxue.attendance.roll_call.missing): "
                       "nothing to count marks or roll calls not taken from")
ROLL_CALL_EVENTS = ("baoxue.attendance.roll_call.recorded", "baoxue.attendance.roll_call.missing")


@dataclass(frozen=True)
class ClassCounts:
    """One class's month, as the query counts it (every field a whole number of children)."""

    school_code: str
    class_id: str
    grade: int
    enrolled_at_start: int = 0   # attending (enrolled or transferred in) at the end of the previous month
    new_enrolments: int = 0      # a first record in this class effective in the month
    returned: int = 0            # back from dropped_out (劝返复学) in the month
    transferred_in: int = 0      # a transfer received (回执) in the month
    dropped_out: int = 0         # moved to dropped_out in the month
    transferred_out: int = 0     # left by a transfer in the month (received or not)
    enrolled_at_end: int = 0     # attending at the end of the month's last day
    out_at_end: int = 0          # still dropped out at the end of the month
    on_roll_at_end: int = 0      # any status but graduated or deceased at the end of the month
    home_visits: int = 0         # home visits on the cases of the class's children in the month

    @property
    def roll(self) -> int:
        """The children the class answered for in the month: attending at its start, or joined
        during it (a new record or a transfer in). A returned child was the class's already."""
        return self.enrolled_at_start + self.new_enrolments + self.transferred_in

    @cached_property  # ranked and written per class: a county has thousands
    def dropout_rate(self) -> float | None:
        """The month's dropouts over the roll; None when the class had nobody (0/0 is not 0 %)."""
        return ratio(self.dropped_out, self.roll)

    @property
    def no_dropout(self) -> bool:
        """无辍学班级: children on the roll, nobody dropped out in the month and nobody still out."""
        return self.on_roll_at_end > 0 and self.dropped_out == 0 and self.out_at_end == 0

    @property
    def empty(self) -> bool:
        """Nothing to report: a class of years ago whose children have all left or graduated."""
        return not (self.roll or self.on_roll_at_end or self.returned or self.dropped_out or self.transferred_out
                    or self.home_visits)


COUNTS = tuple(f.name for f in fields(ClassCounts) if f.name not in ("school_code", "class_id", "grade"))


@dataclass(frozen=True)
class RollCalls:
    """A class's roll calls in the month: expected and taken class-sessions, and the marks of
    the taken ones (seen = present or late)."""

    expected: int = 0
    taken: int = 0
    seen: int = 0
    marked: int = 0

    def __add__(self, other: RollCalls) -> RollCalls:
        return RollCalls(self.expected + other.expected, self.taken + other.taken, self.seen + other.seen,
                         self.marked + other.marked)

    @property
    def attendance_rate(self) -> float | None:
        return ratio(self.seen, self.marked)

    @property
    def completeness(self) -> float | None:
        return ratio(self.taken, self.expected)


@dataclass(frozen=True)
class RankedClass:
    counts: ClassCounts
    rank: int | None  # within its school; None when the class had nobody on its roll


def rank_within_schools(classes: Iterable[ClassCounts]) -> list[RankedClass]:
    """量化评比: within each school, the lowest monthly dropout rate first; equal rates share a
    rank (1, 2, 2, 4); classes with nobody on the roll come last, unranked. Ordered by school,
    then rank, then class id. Attendance and roll-call completeness are not in the score while
    they are unknown: a ranking must not move when they become known for some classes only."""
    by_school: dict[str, list[ClassCounts]] = defaultdict(list)
    for c in classes:
        if not c.empty:
            by_school[c.school_code].append(c)
    out: list[RankedClass] = []
    for school in sorted(by_school):
        rated = sorted((c for c in by_school[school] if c.dropout_rate is not None),
                       key=lambda c: (c.dropout_rate, c.class_id))
        rank, previous = 0, None
        for i, c in enumerate(rated, start=1):
            if c.dropout_rate != previous:
                rank, previous = i, c.dropout_rate
            out.append(RankedClass(c, rank))
        out += [RankedClass(c, None) for c in sorted(by_school[school], key=lambda c: c.class_id)
                if c.dropout_rate is None]
    return out


def total(classes: Iterable[ClassCounts], *, school_code: str = "", class_id: str = "") -> ClassCounts:
    """The sum of the classes' counts (a school's, or the whole org's)."""
    sums = dict.fromkeys(COUNTS, 0)
    for c in classes:
        for name in COUNTS:
            sums[name] += getattr(c, name)
    return ClassCounts(school_code=school_code, class_id=class_id, grade=0, **sums)

