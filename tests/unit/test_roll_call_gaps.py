"""The pure rules of roll-call completeness: which sessions are expected, when one is missing,
and which runs of missed days are escalated."""

from datetime import date, datetime, time, timedelta, timezone

from attendance.domain.calendar import layered
from attendance.domain.roll_call_gaps import expected_sessions, missed_runs, missing_by, missing_since

DUE = timedelta(minutes=120)


def calendar(**doc):
    return layered([doc], timezone_name="Asia/Shanghai", am=time(8), pm=time(14))


TERM = {"terms": [{"name": "autumn", "start": "2026-09-01", "end": "2026-10-09"}],
        "holidays": [f"2026-10-0{d}" for d in range(1, 8)], "make_up_days": ["2026-09-27", "2026-10-10"]}


def test_without_a_stored_term_nothing_is_expected():
    assert expected_sessions(calendar(), date(2026, 9, 1), date(2026, 9, 30)) == []


def test_holidays_make_up_days_and_the_term_end_decide_the_sessions():
    days = sorted({s.day for s in expected_sessions(calendar(**TERM), date(2026, 9, 25), date(2026, 10, 12))})
    # Sun 27 Sep is a make-up day; 1-7 Oct are holidays; Thu 8 and Fri 9 teach; Sat 10 Oct is a
    # make-up day but after the term, so nothing is expected.
    assert days == [date(2026, 9, 25), date(2026, 9, 27), date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30),
                    date(2026, 10, 8), date(2026, 10, 9)]


def test_a_session_is_missing_after_its_due_time_plus_the_sync_interval():
    beijing = timezone(timedelta(hours=8))
    cal = calendar(**TERM)
    start = datetime(2026, 9, 28, 8, tzinfo=beijing)
    assert missing_since(cal, start, DUE) == datetime(2026, 9, 28, 10, tzinfo=beijing)
    weekly = calendar(**TERM, sync_interval_days=7)
    assert missing_since(weekly, start, DUE) == datetime(2026, 10, 5, 10, tzinfo=beijing)
    now = datetime(2026, 9, 28, 15, 59, tzinfo=beijing)
    assert [(s.day.day, s.session) for s in missing_by(cal, date(2026, 9, 28), now, DUE)] == [(28, "am")]
    assert missing_by(weekly, date(2026, 9, 28), now, DUE) == []


def test_runs_of_wholly_missed_school_days_skip_weekends_and_need_every_session():
    cal = calendar(**TERM)
    expected = expected_sessions(cal, date(2026, 9, 24), date(2026, 9, 30))  # Thu..Wed, Sun 27 teaches
    gone = {(s.day, s.session) for s in expected} - {(date(2026, 9, 28), "pm")}
    # Thu 24, Fri 25, Sun 27 in a row; Mon 28 is half taken; Tue 29, Wed 30 again.
    assert missed_runs(expected, gone, 2) == [date(2026, 9, 24), date(2026, 9, 29)]
    assert missed_runs(expected, gone, 3) == [date(2026, 9, 24)]
    assert missed_runs(expected, set(), 1) == []
