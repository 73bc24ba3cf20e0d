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

from reporting.domain.monthly import NO_ROLL_CALL_EVENTS, ROLL_CALL_EVENTS
from reporting.domain.rates import ratio

Standing = Literal["known", "partial", "unknown"]

CASES_COUNTED = (
    "open cases at the cut-off that had moved to persuading (劝返) by then, over the open cases "
    "confirmed as dropouts by then. Cases allows that move only with a responsible person (劝返责任人) "
    "and at least one plan item, so every case counted has both. A case given a person and a plan "
    "but not yet moved to persuading is not counted (that needs cases' responsibility.assigned and "
    "plan_item.added events): the share is a lower bound. Cases still reported or being verified "
    "are in neither figure.")
NO_RESPONSIBILITY_EVENTS = ("cases publishes no standing responsibility assignments yet "
                            "(baoxue.cases.responsibility.assigned); until it does, the read model cannot "
                            "tell which schools have their 七长/五级 chain set")


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
class Indicator:
    name: str
    parts: dict[str, Part] = field(default_factory=dict)

    @property
    def standing(self) -> Standing:
        known = [p.known for p in self.parts.values()]
        return "known" if all(known) else "partial" if any(known) else "unknown"


def monitoring() -> Indicator:
    """动态监测: roll-call completeness, unknown until attendance publishes roll-call events."""
    return Indicator("动态监测", {"roll_call_completeness": Part(reason=NO_ROLL_CALL_EVENTS,
                                                               awaiting=ROLL_CALL_EVENTS)})


def case_standing(confirmed_at: datetime | None, persuading_at: datetime | None, cutoff: datetime) -> tuple[bool, bool]:
    """(confirmed as a dropout, has a responsible person and a plan) for an open case at a
    cut-off. A case that reached persuading was confirmed first, whatever order its events came in."""
    persuading = persuading_at is not None and persuading_at < cutoff
    return persuading or (confirmed_at is not None and confirmed_at < cutoff), persuading


def responsibility(confirmed_open: int, with_person_and_plan: int) -> Indicator:
    """责任落实: the cases part from what cases sends today; the schools part unknown."""
    cases = Part(value=ratio(with_person_and_plan, confirmed_open), numerator=with_person_and_plan,
                 denominator=confirmed_open, counted=CASES_COUNTED,
                 reason=None if confirmed_open else "no open case was confirmed as a dropout by the cut-off")
    schools = Part(reason=NO_RESPONSIBILITY_EVENTS, awaiting=("baoxue.cases.responsibility.assigned",))
    return Indicator("责任落实", {"cases": cases, "schools": schools})
