"""The 48-hour clock, to the minute: school hours across weekends, holidays, make-up days (调休),
vacations and leave; wall clock as the alternative."""

from datetime import date, datetime, time, timedelta, timezone

import pytest

from attendance.domain.calendar import Calendar, Term, layered
from attendance.domain.clock import counted_hours, due_at
from attendance.domain.episodes import LeaveSpan

BEIJING = timezone(timedelta(hours=8))
CAL = Calendar()


def local(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BEIJING)


THURSDAY_8 = local(2026, 11, 19, 8)


def test_worked_example_thursday_0800_reaches_48_school_hours_on_monday_0800():
    assert due_at(THURSDAY_8, CAL, "school_hours", 48) == local(2026, 11, 23, 8)
    assert counted_hours(THURSDAY_8, local(2026, 11, 23, 7, 59), CAL, "school_hours") == pytest.approx(48 - 1 / 60)
    assert counted_hours(THURSDAY_8, local(2026, 11, 21, 8), CAL, "school_hours") == 40  # Saturday: no change
    assert counted_hours(THURSDAY_8, local(2026, 11, 22, 23, 59), CAL, "school_hours") == 40


def test_worked_example_wall_clock_reaches_48_hours_on_saturday_0800():
    assert due_at(THURSDAY_8, CAL, "wall_clock", 48) == local(2026, 11, 21, 8)
    assert counted_hours(THURSDAY_8, local(2026, 11, 21, 7, 59), CAL, "wall_clock") == pytest.approx(48 - 1 / 60)


def test_a_public_holiday_counts_nothing():
    cal = Calendar(days={date(2026, 11, 20): "holiday"})  # Friday off
    assert due_at(THURSDAY_8, cal, "school_hours", 48) == local(2026, 11, 24, 8)  # Thu 16 + Mon 24 + Tue 8


def test_a_make_up_working_day_on_a_weekend_counts_in_full():
    # 2025: Sunday 28 Sep was a working day before the National Day holiday (国办发明电〔2024〕12号).
    cal = Calendar(days={date(2025, 9, 28): "school_day", **{date(2025, 10, d): "holiday" for d in range(1, 9)}})
    start = local(2025, 9, 26, 8)  # Friday
    # Fri 16 h, Sat 0, Sun 28 Sep 24 h (40), Mon 29 Sep 8 h -> 48 at Monday 08:00.
    assert due_at(start, cal, "school_hours", 48) == local(2025, 9, 29, 8)
    # Absent from Tuesday 30 Sep 14:00: 10 h, then eight holiday days, then Thu 9 Oct and Fri 10 Oct, Sat 11 Oct (调休).
    cal2 = Calendar(days={**cal.days, date(2025, 10, 11): "school_day"})
    start2 = local(2025, 9, 30, 14)
    assert due_at(start2, cal2, "school_hours", 48) == local(2025, 10, 10, 14)  # 10 + 24 (Thu) + 14 (Fri)
    assert counted_hours(start2, local(2025, 10, 8, 23, 59), cal2, "school_hours") == 10


def test_vacation_outside_every_term_counts_nothing_and_may_leave_no_due_instant():
    cal = Calendar(terms=(Term("autumn", date(2026, 9, 1), date(2026, 11, 20)),))
    assert due_at(THURSDAY_8, cal, "school_hours", 48) is None  # Thu 16 + Fri 24, then the term is over
    assert counted_hours(THURSDAY_8, local(2026, 12, 31), cal, "school_hours") == 40
    with_spring = Calendar(terms=cal.terms + (Term("spring", date(2027, 2, 22), date(2027, 7, 2)),))
    assert due_at(THURSDAY_8, with_spring, "school_hours", 48) == local(2027, 2, 22, 8)  # Monday, first day back


def test_leave_time_does_not_count_even_in_wall_clock_mode():
    leave = [LeaveSpan(local(2026, 11, 20, 0), local(2026, 11, 21, 0))]  # all of Friday
    assert due_at(THURSDAY_8, CAL, "school_hours", 48, leave) == local(2026, 11, 24, 8)
    assert due_at(THURSDAY_8, CAL, "wall_clock", 48, leave) == local(2026, 11, 22, 8)
    # Half a day of leave on Thursday afternoon shifts the instant by the same four hours.
    half = [LeaveSpan(local(2026, 11, 19, 14), local(2026, 11, 19, 18))]
    assert due_at(THURSDAY_8, CAL, "school_hours", 48, half) == local(2026, 11, 23, 12)


def test_counting_stops_when_the_episode_ended():
    assert counted_hours(THURSDAY_8, THURSDAY_8, CAL, "school_hours") == 0
    assert counted_hours(THURSDAY_8, THURSDAY_8 - timedelta(hours=1), CAL, "wall_clock") == 0


def test_a_start_on_a_weekend_counts_from_the_next_school_day():
    saturday = local(2026, 11, 21, 8)
    assert due_at(saturday, CAL, "school_hours", 48) == local(2026, 11, 25, 0)  # Mon + Tue in full


def test_layered_calendar_school_overrides_county_per_date_and_field():
    county = {"holidays": ["2026-11-20"], "terms": [{"name": "autumn", "start": "2026-09-01", "end": "2027-01-20"}],
              "sessions": {"am": "07:50"}}
    school = {"make_up_days": ["2026-11-20"], "sessions": {"pm": "14:30"}, "weekdays": [1, 2, 3, 4, 5, 6]}
    cal = layered([county, school], timezone_name="Asia/Shanghai", am=time(8), pm=time(14))
    assert cal.is_school_day(date(2026, 11, 20)) and cal.is_school_day(date(2026, 11, 21))
    assert not cal.is_school_day(date(2026, 11, 22)) and not cal.is_school_day(date(2027, 1, 21))
    assert cal.sessions == {"am": time(7, 50), "pm": time(14, 30)}
    assert cal.session_at(date(2026, 11, 20), "am") == local(2026, 11, 20, 7, 50)
    county_only = layered([county], timezone_name="Asia/Shanghai", am=time(8), pm=time(14))
    assert not county_only.is_school_day(date(2026, 11, 20))


def test_term_for_counting_falls_back_to_the_school_year_halves():
    assert CAL.term_for_counting(date(2026, 11, 19)).name == "2026-autumn"
    assert CAL.term_for_counting(date(2027, 1, 5)).name == "2026-autumn"
    assert CAL.term_for_counting(date(2027, 3, 5)).name == "2027-spring"
