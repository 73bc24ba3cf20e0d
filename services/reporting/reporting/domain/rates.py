"""Rates from counts. Pure; the formulas are written down in README.md."""

from __future__ import annotations


def ratio(part: int, whole: int) -> float | None:
    """None when there is nobody to count: 0/0 is not a 0 % dropout rate."""
    return round(part / whole, 6) if whole else None


def level_figures(enrolled: int, dropped_out: int) -> dict[str, float | int | None]:
    # Skeleton formulas (issue 6 brings cohort-based retention): the population is every child
    # with a record that is still current (enrolled or dropped out; graduates and transfers
    # out are not in it).
    population = enrolled + dropped_out
    return {
        "enrolled": enrolled,
        "dropped_out": dropped_out,
        "dropout_rate": ratio(dropped_out, population),
        "retention_rate": ratio(enrolled, population),
    }
