"""Leave lifecycle (every pair of states), the chronic-absence share, and when an episode has
really passed its threshold."""

from datetime import datetime, timedelta, timezone
from itertools import product

import pytest

from attendance.domain.chronic import Share
from attendance.domain.episodes import Episode, LeaveSpan, Mark, Stored, episodes, reached, reconcile
from attendance.domain.leave import TRANSITIONS, IllegalTransition, LeaveDays, LeaveStatus, chained_school_days, decide

T0 = datetime(2026, 11, 19, 0, 0, tzinfo=timezone.utc)  # Thursday 08:00 in Beijing
LEGAL = {(LeaveStatus.requested, LeaveStatus.approved), (LeaveStatus.requested, LeaveStatus.rejected)}


@pytest.mark.parametrize("current,target", list(product(LeaveStatus, LeaveStatus)))
def test_every_pair_of_leave_states(current, target):
    if (current, target) in LEGAL:
        assert decide(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            decide(current, target)
    assert TRANSITIONS == LEGAL


def test_chronic_share_flags_at_the_threshold_once_enough_sessions_were_taken():
    assert Share(20, 2).flagged(0.10, 20) and not Share(20, 1).flagged(0.10, 20)
    assert not Share(19, 19).flagged(0.10, 20)  # too early in the term to mean anything
    assert Share(0, 0).rate == 0.0


def test_reached_only_when_due_before_the_student_came_back():
    open_ep = Episode(T0, (T0,), None)
    due = T0 + timedelta(hours=96)
    assert not reached(open_ep, None, due) and not reached(open_ep, due, due - timedelta(minutes=1))
    assert reached(open_ep, due, due)
    back_at_due = Episode(T0, (T0,), ended_at=due)
    assert not reached(back_at_due, due, due + timedelta(days=1))  # present at the very session: no alarm
    back_later = Episode(T0, (T0,), ended_at=due + timedelta(hours=6))
    assert reached(back_later, due, due + timedelta(days=1))


def test_reconcile_keeps_a_fired_row_when_a_corrected_mark_joins_two_streaks():
    a = Stored("a", T0, T0, T0 + timedelta(hours=6), fired=False)
    b = Stored("b", T0 + timedelta(hours=24), T0 + timedelta(hours=30), None, fired=True)
    joined = episodes([Mark(T0, "absent"), Mark(T0 + timedelta(hours=6), "absent"),
                       Mark(T0 + timedelta(hours=24), "absent"), Mark(T0 + timedelta(hours=30), "absent")])
    plan = reconcile([a, b], joined)
    assert [k.id for k, _ in plan.keep] == ["b"] and plan.retire == [a]
    # Leave approved over everything: both rows are no longer supported.
    excused = episodes([Mark(T0, "absent")], [LeaveSpan(T0 - timedelta(hours=1), T0 + timedelta(hours=1))])
    assert reconcile([a, b], excused).retire == [a, b]


# --- a head teacher's leave allowance: consecutive leave counts together ----------------------

def test_consecutive_leave_chains_across_days_without_school_and_stops_at_a_school_day():
    from datetime import date as d

    def weekday(day):  # Monday to Friday; the calendar is data in the service, a rule here
        return day.isoweekday() <= 5

    fri, mon, wed = LeaveDays(d(2026, 11, 20), d(2026, 11, 20)), LeaveDays(d(2026, 11, 23), d(2026, 11, 23)), \
        LeaveDays(d(2026, 11, 25), d(2026, 11, 25))
    assert chained_school_days(mon, [], weekday) == 1
    assert chained_school_days(mon, [fri], weekday) == 2          # the weekend between has no school day
    assert chained_school_days(wed, [fri, mon], weekday) == 1     # Tuesday is a school day between
    tue = LeaveDays(d(2026, 11, 24), d(2026, 11, 24))
    assert chained_school_days(tue, [wed, fri, mon], weekday) == 4  # one link joins both sides
    assert chained_school_days(LeaveDays(d(2026, 11, 21), d(2026, 11, 22)), [], weekday) == 0
