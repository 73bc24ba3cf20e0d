"""Reporting's pure rules: rates and targets, ISO weeks with a Friday cut-off, case ages, ranks."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reporting.domain.cases import age_bucket, ages, mean_hours, open_at, ranked
from reporting.domain.rates import Targets, figures, ratio, target_status, worst
from reporting.domain.weeks import Week, end_of_day
from reporting.entrypoints.charts import bar_chart, percent

UTC = UTC


def test_rates_are_none_for_an_empty_population_not_zero():
    assert ratio(0, 0) is None
    assert figures(Counter())["dropout_rate"] is None and figures(Counter())["retention_rate"] is None
    assert figures(Counter())["day_dropout_share"] is None and figures(Counter())["day_retention_share"] is None


def test_the_readme_examples():
    # 97 attending, 1 suspended, 2 dropped out, 1 returned among the attending, 5 graduated, 1 deceased.
    f = figures(Counter(enrolled=95, transferred_in=2, suspended=1, dropped_out=2, returned=1, graduated=5,
                        deceased=1))
    assert (f["enrolled"], f["on_roll"], f["returned"]) == (97, 100, 1)
    # The day's shares, which are not the statutory rates (no school year given: those are null).
    assert f["day_dropout_share"] == 0.02
    assert f["day_retention_share"] == round(103 / 105, 6)
    assert f["dropout_rate"] is None and f["start_roll"] == 0


def test_a_pending_transfer_out_stays_in_the_denominator():
    assert figures(Counter(enrolled=9, transferred_out=1))["on_roll"] == 10


@pytest.mark.parametrize("level,dropout,retention,expected", [
    ("junior", 0.02, 0.98, "on_target"),
    ("junior", 0.025, 0.99, "at_risk"),        # 0.5 point over: within the margin
    ("junior", 0.0251, 0.99, "off_target"),
    ("junior", 0.0, 0.975, "at_risk"),
    ("junior", 0.0, 0.9749, "off_target"),
    ("primary", 0.0, 1.0, "on_target"),
    ("primary", 0.004, 0.996, "at_risk"),
    ("primary", 0.01, 0.99, "off_target"),
    ("primary", None, None, None),
])
def test_target_status(level, dropout, retention, expected):
    assert target_status(level, {"dropout_rate": dropout, "retention_rate": retention}, Targets()) == expected


def test_worst():
    assert worst(["on_target", None, "at_risk"]) == "at_risk" and worst([None]) is None


def test_weeks_end_on_friday_local_time():
    w = Week.parse("2026-W47")
    assert w.friday == date(2026, 11, 20) and str(w.previous()) == "2026-W46"
    start, cutoff = w.window(ZoneInfo("Asia/Shanghai"))
    assert cutoff == datetime(2026, 11, 20, 16, tzinfo=UTC) and start == cutoff - timedelta(days=7)
    assert str(Week.parse("2027-W01").previous()) == "2026-W53"
    assert end_of_day(date(2026, 11, 20), UTC) == datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-47", "2026-W54", "2025-W53", "26-W01", "2026-W00"])
def test_bad_weeks(text):
    with pytest.raises(ValueError):
        Week.parse(text)


def test_case_ages_and_durations():
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert [age_bucket(now - timedelta(days=d), now) for d in (0, 7, 8, 30, 31, 90, 91)] == [
        "0-7", "0-7", "8-30", "8-30", "31-90", "31-90", "90+"]
    assert ages([now, now - timedelta(days=100)], now) == {"0-7": 1, "8-30": 0, "31-90": 0, "90+": 1}
    assert mean_hours([(now, now + timedelta(hours=24)), (now, now + timedelta(hours=48)), (now, None)]) == 36
    assert mean_hours([(now, None)]) is None


def test_ranking_shares_ranks_and_puts_the_unknown_last():
    rows = [{"code": "a", "v": 0.1}, {"code": "b", "v": None}, {"code": "c", "v": 0.0}, {"code": "d", "v": 0.1}]
    assert [(r["code"], r["rank"]) for r in ranked(rows, "v")] == [("c", 1), ("a", 2), ("d", 2), ("b", None)]


def test_open_cases_at_instants():
    d = [datetime(2026, 11, day, tzinfo=UTC) for day in range(1, 11)]
    spans = [(d[0], d[4]), (d[2], None), (d[5], d[6])]
    # Opened before the instant and not closed before it: a cut-off is the first instant after
    # a day, so a case closed exactly then was still open at the end of that day.
    assert open_at(spans, [d[0], d[1], d[4], d[6], d[9]]) == [0, 1, 2, 2, 1]


def test_bar_chart_writes_each_value_and_escapes_labels():
    svg = bar_chart([("<镇>", 0.0714), ("乙", None)], title="t", target=0.02)
    assert "&lt;镇&gt;" in svg and "7.14%" in svg and "—" in svg and "目标 2.00%" in svg
    assert percent(0.055556) == "5.56%"


def test_the_sql_level_agrees_with_the_shared_rule_for_every_system_and_grade():
    """read_model.level_sql mirrors shared.orgs.level_of in SQL; the two must never drift."""
    from sqlalchemy import create_engine, literal, select

    from reporting.queries.read_model import level_sql
    from shared.orgs import SchoolSystem, level_of

    cases = [(s.value, g) for s in SchoolSystem for g in (*range(1, 10), None)]
    with create_engine("sqlite://").connect() as db:
        got = [db.execute(select(level_sql(literal(g), literal(s)))).scalar_one() for s, g in cases]
    assert got == [level_of(s, g) for s, g in cases]
