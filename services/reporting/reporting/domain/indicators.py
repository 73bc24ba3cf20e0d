"""The weekly report's two indicators that seed 000 names (主要报告内容为：控辍保学体系建立和工作
责任落实情况，控辍保学动态监测机制建立情况，辍学学生劝返情况). Pure.

Each is a set of parts; a part is known (a share, with its numerator and denominator and a
sentence saying exactly what is counted) or unknown (no value, the reason, and the events it
waits for). An unknown part is never 0: 0 would say "nobody is responsible", which nothing here
knows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from reporting.domain.rates import ratio

Standing = Literal["known", "partial", "unknown"]

CASES_COUNTED = (
    "open cases at the cut-off that had, by then, a responsible person (劝返责任人) and at least one "
    "plan item (cases' responsibility.assigned and plan_item.added), or had moved to persuading (which "
    "cases allows only with both), over the open cases confirmed as dropouts by then. Cases still "
    "reported or being verified are in neither figure.")
SCHOOLS_COUNTED = (
    "schools whose standing chain (七长/五级, cases' responsibility.assigned) named by the cut-off a "
    "principal and the bureau leader in charge of the school (包校), under a county that named its county "
    "head and education bureau chief, and a township (where the school has one) that named its head; over "
    "the schools in the reporting model")
NO_SCHOOLS = "no school under this org in the reporting model"
# What a place's standing chain must name for its schools to count as having their chain set.
REQUIRED_ROLES = {"school": ("principal", "bureau_leader"), "township": ("township_head",),
                  "county": ("county_head", "bureau_chief")}


@dataclass(frozen=True)
class Part:
    value: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    counted: str | None = None
    reason: str | None = None
    awaiting: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.counted is not None


@dataclass(frozen=True)
class Lagging:
    """A school named for lagging: its share of expected roll calls taken in the week."""
    code: str
    expected: int
    taken: int
    rate: float


@dataclass(frozen=True)
class Indicator:
    name: str
    parts: dict[str, Part] = field(default_factory=dict)
    lagging: tuple[Lagging, ...] = ()

    @property
    def standing(self) -> Standing:
        known = [p.known for p in self.parts.values()]
        return "known" if all(known) else "partial" if any(known) else "unknown"


ROLL_CALLS_COUNTED = (
    "class-sessions whose roll call was taken, over the class-sessions expected in the week: an am and "
    "a pm roll call on each school day inside a stored term, for every class with pupils on the roll, "
    "from the school's roll_calls_from date (attendance's roll_call.recorded and roll_call.missing). "
    "A session not yet due, or a teaching point's still inside its sync interval, is not yet expected.")
ON_TIME_COUNTED = ("class-sessions whose roll call was received by its due time (the session's start plus "
                   "BAOXUE_ROLL_CALL_DUE_MINUTES and the school's sync interval), over those expected")


def monitoring(by_school: dict[str, tuple[int, int, int]], lagging_below: float) -> Indicator:
    """动态监测: roll-call completeness and timeliness for the week, and the schools that lag
    (below ``lagging_below`` of their expected roll calls taken), worst first."""
    expected = sum(e for e, _, _ in by_school.values())
    taken = sum(t for _, t, _ in by_school.values())
    on_time = sum(o for _, _, o in by_school.values())
    if not expected:
        nothing = "no roll call was expected this week (no stored term, or no class on the roll)"
        return Indicator("动态监测", {"roll_call_completeness": Part(reason=nothing),
                                     "roll_call_timeliness": Part(reason=nothing)})
    lagging = sorted((Lagging(code, e, t, round(t / e, 6)) for code, (e, t, _) in by_school.items()
                      if e and t / e < lagging_below), key=lambda s: (s.rate, s.code))
    return Indicator("动态监测", {
        "roll_call_completeness": Part(value=ratio(taken, expected), numerator=taken, denominator=expected,
                                       counted=ROLL_CALLS_COUNTED),
        "roll_call_timeliness": Part(value=ratio(on_time, expected), numerator=on_time, denominator=expected,
                                     counted=ON_TIME_COUNTED)}, lagging=tuple(lagging))


def case_standing(confirmed_at: datetime | None, persuading_at: datetime | None, cutoff: datetime,
                  responsible_at: datetime | None = None, planned_at: datetime | None = None) -> tuple[bool, bool]:
    """(confirmed as a dropout, has a responsible person and a plan) for an open case at a
    cut-off. A case that reached persuading was confirmed first, whatever order its events came in,
    and had both; one still confirmed has both once each was recorded before the cut-off."""
    def before(at: datetime | None) -> bool:
        return at is not None and at < cutoff

    persuading = before(persuading_at)
    confirmed = persuading or before(confirmed_at)
    return confirmed, persuading or (confirmed and before(responsible_at) and before(planned_at))


def chain_set(school_path: list[str], standing: dict[str, tuple[str, dict[str, str]]]) -> bool:
    """Whether the school at the end of ``school_path`` had its 七长/五级 chain set: each place on
    its path that holds a required level names that level's roles (a county-run school has no
    township, so none is required)."""
    levels = {level: roles for code in school_path if code in standing for level, roles in [standing[code]]}
    school = standing.get(school_path[-1])
    if school is None or school[0] != "school" or "county" not in levels:
        return False
    return all(all(levels[level].get(role) for role in roles)
               for level, roles in REQUIRED_ROLES.items() if level in levels)


def responsibility(confirmed_open: int, with_person_and_plan: int, schools: int = 0,
                   schools_set: int = 0) -> Indicator:
    """责任落实: cases with a 劝返责任人 and a plan, and schools with their standing chain set."""
    cases = Part(value=ratio(with_person_and_plan, confirmed_open), numerator=with_person_and_plan,
                 denominator=confirmed_open, counted=CASES_COUNTED,
                 reason=None if confirmed_open else "no open case was confirmed as a dropout by the cut-off")
    chains = Part(value=ratio(schools_set, schools), numerator=schools_set, denominator=schools,
                  counted=SCHOOLS_COUNTED) if schools else Part(reason=NO_SCHOOLS)
    return Indicator("责任落实", {"cases": cases, "schools": chains})
