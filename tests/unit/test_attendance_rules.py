"""Leave lifecycle (every pair of states), the chronic-absence share, and when an episode has
really passed its threshold: a stored mark shows the child still away at or after the due instant."""

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from attendance.domain.chronic import Share
from attendance.domain.episodes import Attending, LeaveSpan, Mark, Stored, episodes, observed_at, reconcile
from attendance.domain.leave import TRANSITIONS, IllegalTransition, LeaveDays, LeaveStatus, chained_school_days, decide

T0 = datetime(2026, 11, 19, 0, 0, tzinfo=UTC)  # Thursday 08:00 in Beijing
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


def test_observed_only_by_a_mark_at_or_after_the_due_instant_before_the_return():
    h = lambda n: T0 + timedelta(hours=n)  # noqa: E731
    due = h(96)  # Thursday 08:00 + 48 school hours = Monday 08:00
    away = [Mark(T0, "absent"), Mark(h(24), "absent")]
    (open_ep,) = episodes(away)
    assert observed_at(open_ep, away, [], None) is None  # no due instant within the horizon
    assert observed_at(open_ep, away, [], due) is None  # silence over the weekend and Monday morning
    at_due = away + [Mark(due, "absent")]
    (ep,) = episodes(at_due)
    assert observed_at(ep, at_due, [], due) == due  # inclusive: absent at exactly 48 h
    # A leave mark nobody approved shows the child away; approved leave excuses it.
    unexcused_leave = away + [Mark(due + timedelta(hours=6), "leave")]
    (ep,) = episodes(unexcused_leave)
    assert observed_at(ep, unexcused_leave, [], due) == due + timedelta(hours=6)
    covered = [LeaveSpan(due, due + timedelta(hours=7))]
    assert observed_at(ep, unexcused_leave, covered, due) is None
    # Present at the very session the threshold falls on: away 48 counted hours, not more.
    back = away + [Mark(due, "present"), Mark(due + timedelta(hours=6), "absent")]
    first = episodes(back)[0]
    assert first.ended_at == due and observed_at(first, back, [], due) is None
    later = away + [Mark(due, "absent"), Mark(due + timedelta(hours=6), "present")]
    assert observed_at(episodes(later)[0], later, [], due) == due


def test_leaving_the_roll_ends_an_episode_that_day_and_marks_outside_the_roll_count_nothing():
    h = lambda n: T0 + timedelta(hours=n)  # noqa: E731
    marks = [Mark(T0, "absent"), Mark(h(24), "absent"), Mark(h(48), "absent"), Mark(h(120), "absent")]
    # On the roll until h(40) (suspended), back from h(100).
    spans = [Attending(None, h(40)), Attending(h(100), None)]
    first, second = episodes(marks, [], spans)
    assert (first.started_at, first.ended_at, first.end_reason) == (T0, h(40), "not_attending")
    assert first.absent_sessions == (T0, h(24))  # the mark at h(48) fell in the suspension
    assert (second.started_at, second.ended_at, second.end_reason) == (h(120), None, None)
    assert episodes(marks, [], []) == []  # never on the roll: nothing counts


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
