"""The statutory figures of a school year (reporting/domain/statutory.py), from records written
by hand: a school A and B in township T, a school C in another township U."""

from __future__ import annotations

from datetime import date

import pytest

from reporting.domain.statutory import (
    SchoolYear,
    YearFlows,
    YearRecord,
    flows,
    flows_by_unit,
    nine_year,
    parse_year_start,
    total,
)

A, B, C = "/p/c/k/T/A/", "/p/c/k/T/B/", "/p/c/k/U/C/"


def inside(*paths: str):
    return lambda path: path in paths


def test_school_years_run_from_their_first_day():
    assert SchoolYear.of(date(2026, 9, 1)) == SchoolYear(2026) and SchoolYear.of(date(2026, 8, 31)) == SchoolYear(2025)
    y = SchoolYear(2026)
    assert (y.first, y.last, str(y), str(y.back(8))) == (date(2026, 9, 1), date(2027, 8, 31), "2026-2027", "2018-2019")
    spring = SchoolYear.of(date(2027, 2, 1), 3, 1)  # a year configured to start on 1 March
    assert (spring.first, spring.last) == (date(2026, 3, 1), date(2027, 2, 28))
    assert parse_year_start("09-01") == (9, 1)
    for bad in ("9/1", "13-01", "02-29", ""):
        with pytest.raises(ValueError):
            parse_year_start(bad)


def test_a_dropout_counts_once_where_the_child_was_at_the_start():
    # Four at A's census (primary); one dropped out (twice in the year: one record, once); one
    # moved to B then dropped out there: still A's dropout, and not B's.
    records = [YearRecord((A, "primary"), None, (A, "primary"), None, n=2),
               YearRecord((A, "primary"), (A, "primary"), (A, "primary"), None),
               YearRecord((A, "primary"), (B, "primary"), (B, "primary"), B)]
    a = flows(records, inside(A))["primary"]
    assert (a.start_roll, a.dropouts, a.transfers_out, a.transfers_in) == (4, 2, 0, 0)
    assert a.dropout_rate == 0.5 and a.retention_rate == 0.5
    assert flows(records, inside(B)) == {}


def test_a_child_who_joined_during_the_year_counts_where_they_dropped_out():
    records = [YearRecord((B, "junior"), None, (B, "junior"), None, n=9),
               YearRecord(None, (B, "junior"), (B, "junior"), None)]  # a new record in November
    b = flows(records, inside(B))["junior"]
    assert (b.start_roll, b.dropouts) == (9, 1) and b.dropout_rate == round(1 / 9, 6)
    # Not in the base, but a dropout all the same: (9 - 1) / 9.
    assert b.retention_rate == round(8 / 9, 6)


def test_retention_is_net_of_normal_transfers():
    records = [YearRecord((A, "junior"), None, (A, "junior"), None, n=97),
               YearRecord((A, "junior"), (A, "junior"), (A, "junior"), None, n=2),
               YearRecord((A, "junior"), None, (C, "junior"), C),      # moved away: out of A's base
               YearRecord((C, "junior"), None, (A, "junior"), A, n=3),  # arrived: into A's base
               YearRecord(None, None, (A, "junior"), None, n=5)]       # new records: in no base
    a = flows(records, inside(A))["junior"]
    assert (a.start_roll, a.transfers_out, a.transfers_in, a.net_roll, a.dropouts) == (100, 1, 3, 102, 2)
    assert a.retention_rate == round(100 / 102, 6) and a.dropout_rate == 0.02
    # For the county (A and C) the moves are inside it: no transfers, 103 at the census.
    k = flows(records, inside(A, C))["junior"]
    assert (k.start_roll, k.transfers_out, k.transfers_in, k.dropouts) == (103, 0, 0, 2)


def test_moving_up_from_primary_to_junior_middle_counts_once_at_its_start_level():
    # A nine-year school: a child in grade 6 at the census, in grade 7 after a promotion.
    records = [YearRecord((A, "primary"), None, (A, "junior"), None)]
    by_level = flows(records, inside(A))
    assert set(by_level) == {"primary"} and by_level["primary"].start_roll == 1
    assert total(by_level).start_roll == 1


def test_graduates_and_deaths_during_the_year():
    # A graduate of the year stays in the base (now: still A's path) and is no dropout; a death is
    # no dropout and leaves the base.
    records = [YearRecord((A, "junior"), None, (A, "junior"), None, n=3),
               YearRecord((A, "junior"), None, None, None)]
    a = flows(records, inside(A))["junior"]
    assert (a.start_roll, a.dropouts, a.transfers_out, a.net_roll, a.retention_rate) == (4, 0, 1, 3, 1)


def test_flows_by_unit_agree_with_flows_per_unit():
    records = [YearRecord((A, "junior"), (B, "junior"), (B, "junior"), B),
               YearRecord((C, "junior"), None, (A, "junior"), A, n=2),
               YearRecord(None, (C, "primary"), (C, "primary"), None)]
    units = {A: frozenset({"A", "T", "k"}), B: frozenset({"B", "T", "k"}), C: frozenset({"C", "U", "k"})}
    by_unit = flows_by_unit(records, lambda p: units[p])
    for unit in ("A", "B", "C", "T", "U", "k"):
        expected = flows(records, lambda p, u=unit: u in units[p])
        assert by_unit.get(unit, {}) == expected, unit


def test_rates_are_null_with_nobody_to_count():
    assert YearFlows().dropout_rate is None and YearFlows().retention_rate is None


def test_nine_year_is_null_with_the_reason_where_the_records_begin_too_late():
    year = SchoolYear(2026)
    late = nine_year(year, date(2023, 9, 1), 5, 0)
    assert (late.value, late.graduates, late.entrants, late.cohort_entered) == (None, None, None, "2018-2019")
    assert "2018-09-01" in late.reason and "2023-09-01" in late.reason
    assert nine_year(year, None, 0, 0).reason.endswith("no records, so its entrants are not known")
    covered = nine_year(year, date(2018, 9, 1), 95, 100)
    assert (covered.value, covered.reason) == (0.95, None)
    assert nine_year(year, date(2010, 9, 1), 0, 0).value is None
