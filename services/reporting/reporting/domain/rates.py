"""Rates and targets from status counts. Pure; the formulas are written down in README.md.

A tally is a Counter of statuses as of a day (registry statuses) plus ``returned``: how many of
the attending children had been dropped out earlier (劝返复学). Tallies of schools add up to a
township's, a county's, and so on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping

LEVELS = ("primary", "junior")
ATTENDING = frozenset({"enrolled", "transferred_in"})
# Off the roll for good: neither in a denominator nor a dropout. (A transfer out confirmed by
# the receiving school moves the record to that school, so it leaves the sender's tally anyway.)
OFF_ROLL = frozenset({"graduated", "deceased"})
RETURNED = "returned"


# A child's level follows their school's system, not grade <= 6: shared.orgs.level_of (and its
# SQL mirror, read_model.level_sql).


def ratio(part: int, whole: int) -> float | None:
    """None when there is nobody to count: 0/0 is not a 0 % dropout rate."""
    return round(part / whole, 6) if whole else None


def figures(tally: Mapping[str, int]) -> dict[str, float | int | None]:
    """enrolled, dropped out, returned, and the two rates, from one tally.

    on_roll = every record not graduated or deceased (attending, suspended, boarding elsewhere,
    taught at home, unable to study, dropped out, or transferred out and not yet received);
    dropout_rate = dropped_out / on_roll; cohort = on_roll + graduated;
    retention_rate = (cohort - dropped_out) / cohort."""
    on_roll = sum(n for status, n in tally.items() if status != RETURNED and status not in OFF_ROLL)
    dropped = tally.get("dropped_out", 0)
    graduated = tally.get("graduated", 0)
    cohort = on_roll + graduated
    return {
        "enrolled": sum(tally.get(s, 0) for s in ATTENDING),
        "dropped_out": dropped,
        "returned": tally.get(RETURNED, 0),
        "graduated": graduated,
        "on_roll": on_roll,
        "dropout_rate": ratio(dropped, on_roll),
        "retention_rate": ratio(cohort - dropped, cohort),
    }


def add(tallies: Mapping[str, Counter]) -> Counter:
    total: Counter = Counter()
    for t in tallies.values():
        total.update(t)
    return total


@dataclass(frozen=True)
class Targets:
    """Defaults from the seeds: junior middle dropout <= 2 %, primary 0, retention >= 98 %. A rate
    missing its target by no more than ``margin`` is "at risk" rather than "off target"."""

    junior_dropout_max: float = 0.02
    primary_dropout_max: float = 0.0
    retention_min: float = 0.98
    margin: float = 0.005

    def dropout_max(self, level: str) -> float:
        return self.junior_dropout_max if level == "junior" else self.primary_dropout_max


STATUS_ORDER = ("on_target", "at_risk", "off_target")


def _grade(miss: float, margin: float) -> str:
    # Compare in whole millionths: rates are rounded to 6 places, and 0.02 + 0.005 must equal 0.025.
    miss_ppm = round(miss * 1_000_000)
    if miss_ppm <= 0:
        return "on_target"
    return "at_risk" if miss_ppm <= round(margin * 1_000_000) else "off_target"


def target_status(level: str, fig: Mapping[str, float | int | None], targets: Targets) -> str | None:
    """on_target | at_risk | off_target (the worse of the two rates); None with nobody to count."""
    dropout, retention = fig["dropout_rate"], fig["retention_rate"]
    if dropout is None or retention is None:
        return None
    marks = [_grade(float(dropout) - targets.dropout_max(level), targets.margin),
             _grade(targets.retention_min - float(retention), targets.margin)]
    return max(marks, key=STATUS_ORDER.index)


def worst(statuses: list[str | None]) -> str | None:
    known = [s for s in statuses if s is not None]
    return max(known, key=STATUS_ORDER.index) if known else None
