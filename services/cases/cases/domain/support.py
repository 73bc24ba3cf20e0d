"""What a school records of the work that belongs to the child rather than a case: a
home-teaching session (送教上门) and a grant of targeted assistance (精准资助)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class HomeTeachingSession:
    """One session taught at the child's home; its lesson plan travels beside it as a file."""

    taught_on: date
    hours: float
    teachers: tuple[str, ...]
    content: str


@dataclass(frozen=True)
class Aid:
    """Targeted aid the child received over a period (not 两免, which is universal)."""

    kind: str
    amount: Decimal
    period_start: date
    period_end: date
    source: str
