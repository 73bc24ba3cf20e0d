"""Rates and targets from status counts. Pure; the formulas are written down in README.md.

A tally is a Counter of statuses as of a day (registry statuses) plus ``returned``: how many of
the attending children had been dropped out earlier (劝返复学). Tallies of schools add up to a
township's, a county's, and so on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from reporting.domain.statutory import YearFlows
from shared.statuses import ATTENDING

LEVELS = ("primary", "junior")
# Off the roll for good: neither in a denominator nor a dropout. (A transfer out confirmed by
# the receiving school moves the record to that school, so it leaves the sender's tally anyway.)
OFF_ROLL = frozenset({"graduated", "deceased"})
RETURNED = "returned"


# A child's level follows their school's system, not grade <= 6: shared.orgs.level_of (and its
# SQL mirror, read_model.level_sql).


def ratio(part: int, whole: int) -> float | None:
    """None when there is nobody to count: 0/0 is not a 0 % dropout rate."""
    return round(part / whole, 6) if whole else None


def figures(tally: Mapping[str, int], year: YearFlows | None = None) -> dict[str, float | int | None]:
    """The day's counts from one tally, and the school year's statutory figures beside them.

    Day counts (as of D, not the statutory rates): on_roll = every record not graduated or
    deceased (attending, suspended, boarding elsewhere, taught at home, unable to study, dropped
    out, or transferred out and not yet received); day_dropout_share = dropped_out / on_roll;
    day_retention_share = (on_roll + graduated - dropped_out) / (on_roll + graduated), the old
    figure that every graduate ever recorded pushes up. ``dropout_rate`` and ``retention_rate``
    are the statutory 年辍学率 and 在校生巩固率 of the school year (domain/statutory.py)."""
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
        "day_dropout_share": ratio(dropped, on_roll),
        "day_retention_share": ratio(cohort - dropped, cohort),
        **statutory(year or YearFlows()),
    }


def statutory(year: YearFlows) -> dict[str, float | int | None]:
    return {"start_roll": year.start_roll, "year_dropouts": year.dropouts, "transfers_in": year.transfers_in,
            "transfers_out": year.transfers_out, "net_roll": year.net_roll,
            "dropout_rate": year.dropout_rate, "retention_rate": year.retention_rate}


def add(tallies: Mapping[str, Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
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


TARGET_FIELDS = ("junior_dropout_max", "primary_dropout_max", "retention_min")
DEFAULT = "default"


def resolve(path: list[str], own: Mapping[str, Mapping[str, float | None]], defaults: Targets
            ) -> tuple[Targets, dict[str, str]]:
    """An org's effective targets (一县一策): each one from the nearest org on its path (province
    first, the org itself last) that set it, else the default; and where each came from (an org
    code, or "default"). A school with no targets of its own is held to its county's."""
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for name in TARGET_FIELDS:
        values[name], sources[name] = getattr(defaults, name), DEFAULT
        for code in reversed(path):
            value = own.get(code, {}).get(name)
            if value is not None:
                values[name], sources[name] = float(value), code
                break
    return Targets(margin=defaults.margin, **values), sources
