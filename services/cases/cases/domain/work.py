"""The work done on a child: an item of the plan of persuasion, care and assistance, and a home
visit (家访登记), as the people doing it record them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class PlanItem:
    kind: str  # persuasion, care or assistance
    description: str
    owner: str
    due_on: date


@dataclass(frozen=True)
class HomeVisit:
    visited_on: date
    visitors: tuple[str, ...]  # who went: teacher ids or names
    outcome: str
    met: tuple[str, ...] = ()  # whom they met (祖母, 父亲...)
    notes: str | None = None
    next_step: str | None = None
