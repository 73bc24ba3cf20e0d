"""The statutory figures: flows over a school year, not statuses on one day. Pure; README.md
("Statutory rates") writes the formulas down with worked examples.

* 年辍学率 = dropouts during the school year ÷ students enrolled at its start (学年初在校学生数).
* 在校生巩固率 = (start roll, net of normal transfers in and out, less the year's dropouts) ÷ that
  same net roll (含正常流动生).
* 九年义务教育巩固率 = graduates of grade 9 in the year ÷ the cohort's entrants to grade 1 eight years
  earlier, net of transfers; null with the reason where the records do not reach back that far.

The read model gives one ``YearRecord`` per kind of child (grouped in SQL, with a count): where
they stood at the start of the year, where their first dropout of the year happened, where they
are now, and where a transfer in during the year brought them. Every unit (a school, township,
county, city) and level is then counted from the same records, so the levels and the units add
up and a child counts once a year wherever they moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

# In school at the census day: on the roll and attending, or away from the classroom with their
# record here (suspended, boarding elsewhere, taught at home, or transferred out with no receipt
# yet, still this school's to answer for). Not dropped out (that child was lost earlier), not
# graduated or deceased, and not unable to study: seed 000 keeps 身体原因不具备学习条件 outside
# the duty (除身体原因不具备学习条件外), so those children are in no statutory denominator.
IN_SCHOOL = frozenset({"enrolled", "transferred_in", "suspended", "boarding_elsewhere", "home_teaching",
                       "transferred_out"})
LAST_COMPULSORY_GRADE = 9
# The cohort that graduates from grade 9 in school year Y entered grade 1 in year Y - 8.
COHORT_YEARS = LAST_COMPULSORY_GRADE - 1


@dataclass(frozen=True)
class SchoolYear:
    """A school year (学年), from its first day (1 September unless configured) to the day before
    the next one's. Named by the calendar year it starts in: 2026 is 2026-2027."""

    start_year: int
    month: int = 9
    day: int = 1

    @classmethod
    def of(cls, on: date, month: int = 9, day: int = 1) -> SchoolYear:
        year = on.year if (on.month, on.day) >= (month, day) else on.year - 1
        return cls(year, month, day)

    @property
    def first(self) -> date:
        return date(self.start_year, self.month, self.day)

    @property
    def last(self) -> date:
        return date(self.start_year + 1, self.month, self.day) - timedelta(days=1)

    def back(self, years: int) -> SchoolYear:
        return SchoolYear(self.start_year - years, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.start_year}-{self.start_year + 1}"


def parse_year_start(text: str) -> tuple[int, int]:
    """``MM-DD`` (e.g. ``09-01``) -> (month, day); a day that no year has is refused."""
    try:
        month, day = (int(p) for p in text.split("-"))
        date(2001, month, day)  # not a leap year: 02-29 would start no school year at all in most
    except ValueError:
        raise ValueError("expected the school year's first day as MM-DD, e.g. 09-01") from None
    return month, day


Place = tuple[str, str]  # (school path, level)


@dataclass(frozen=True)
class YearRecord:
    """Children who share where they stood in the year, and how many they are.

    ``start``: their school and level at the end of the year's first day (the census), if they
    were in school then. ``dropped``: where their first dropout of the year took effect, if any.
    ``now``: their school and level on the day counted to (None if deceased: death is no dropout,
    and takes the child out of the denominator like a move away). ``arrived``: the school a
    transfer during the year brought them to, if one did."""

    start: Place | None
    dropped: Place | None
    now: Place | None
    arrived: str | None
    n: int = 1


@dataclass
class YearFlows:
    """A unit's school-year counts at one level (or both)."""

    start_roll: int = 0      # 学年初在校学生数
    dropouts: int = 0        # 学年内辍学人数: each child at most once
    transfers_in: int = 0    # 正常流动: arrived by transfer during the year
    transfers_out: int = 0   # left by transfer (or died) during the year

    def add(self, other: YearFlows) -> YearFlows:
        return YearFlows(self.start_roll + other.start_roll, self.dropouts + other.dropouts,
                         self.transfers_in + other.transfers_in, self.transfers_out + other.transfers_out)

    @property
    def net_roll(self) -> int:
        """The start roll net of normal transfers: the base 在校生巩固率 is taken over."""
        return self.start_roll - self.transfers_out + self.transfers_in

    @property
    def dropout_rate(self) -> float | None:
        return _ratio(self.dropouts, self.start_roll)

    @property
    def retention_rate(self) -> float | None:
        return _ratio(self.net_roll - self.dropouts, self.net_roll)


def _ratio(part: int, whole: int) -> float | None:
    """None when there is nobody to count: 0/0 is not a rate."""
    return round(part / whole, 6) if whole > 0 else None


def _apply(out: dict[str, YearFlows], r: YearRecord, inside: Callable[[str], bool]) -> None:
    def at(level: str) -> YearFlows:
        return out.setdefault(level, YearFlows())

    if r.start is not None and inside(r.start[0]):
        f = at(r.start[1])
        f.start_roll += r.n
        if r.dropped is not None:
            f.dropouts += r.n
        elif r.now is None or not inside(r.now[0]):
            f.transfers_out += r.n
        return
    arrived_here = r.arrived is not None and inside(r.arrived)
    if r.dropped is not None:
        # Counted where they dropped out, unless another unit had them at the start.
        if r.start is None and inside(r.dropped[0]):
            f = at(r.dropped[1])
            f.dropouts += r.n
            if arrived_here:
                f.transfers_in += r.n
        return
    if arrived_here and r.now is not None and inside(r.now[0]):
        at(r.now[1]).transfers_in += r.n


def flows(records: Iterable[YearRecord], inside: Callable[[str], bool]) -> dict[str, YearFlows]:
    """level -> the year's counts for the unit whose school paths ``inside`` accepts.

    A child on the unit's start roll counts there, at their start level, whatever happens next: a
    dropout anywhere this year is the unit's (once), a move up from primary to junior middle or to
    another school of the unit changes nothing, a transfer out of the unit (or death) takes them
    out of the base. A child not on its start roll counts where they dropped out, and is in its
    base if a transfer brought them in; one who came in by transfer and is still here adds to the
    base. A child who joined in the year some other way (a new record, a return from an earlier
    year's dropout) is in no base, but a dropout of theirs still counts."""
    out: dict[str, YearFlows] = {}
    for r in records:
        _apply(out, r, inside)
    return out


def flows_by_unit(records: Iterable[YearRecord], units_of: Callable[[str], frozenset[str]]
                  ) -> dict[str, dict[str, YearFlows]]:
    """unit -> level -> counts, for every unit ``units_of`` puts a school path in (its school, its
    township, its county...): each record is applied only to the units its paths touch."""
    out: dict[str, dict[str, YearFlows]] = {}
    for r in records:
        paths = [p for p in (r.start and r.start[0], r.dropped and r.dropped[0], r.now and r.now[0], r.arrived) if p]
        for unit in frozenset[str]().union(*(units_of(p) for p in paths)):
            def touches(path: str, unit: str = unit) -> bool:
                return unit in units_of(path)

            _apply(out.setdefault(unit, {}), r, touches)
    return out


def total(by_level: dict[str, YearFlows]) -> YearFlows:
    out = YearFlows()
    for f in by_level.values():
        out = out.add(f)
    return out


@dataclass(frozen=True)
class NineYear:
    """九年义务教育巩固率: a value with its counts, or null with the reason."""

    value: float | None
    graduates: int | None
    entrants: int | None
    cohort_entered: str
    reason: str | None


def nine_year(year: SchoolYear, records_from: date | None, graduates: int, entrants: int) -> NineYear:
    """Graduates of grade 9 in ``year`` over the same cohort's entrants (net of transfers), but
    only when the records reach back to the start of the year the cohort entered grade 1: a
    model that begins later has not seen the entrants, and a figure from part of them would be
    invented."""
    entry = year.back(COHORT_YEARS)
    if records_from is None or records_from > entry.first:
        since = "no records" if records_from is None else f"the records start on {records_from.isoformat()}"
        return NineYear(None, None, None, str(entry),
                        f"the cohort graduating in {year} entered grade 1 in {entry} (from {entry.first.isoformat()}); "
                        f"{since}, so its entrants are not known")
    if entrants <= 0:
        return NineYear(None, graduates, entrants, str(entry), f"no entrants to grade 1 in {entry} under this org")
    return NineYear(round(graduates / entrants, 6), graduates, entrants, str(entry), None)
