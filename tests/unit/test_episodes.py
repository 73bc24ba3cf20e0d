from datetime import UTC, datetime, timedelta

from attendance.domain.episodes import LeaveSpan, Mark, current_episode, episodes, threshold_reached

T0 = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)  # a Monday, 08:00 in Beijing


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_no_marks_no_episode():
    assert episodes([]) == [] and current_episode([]) is None


def test_episode_starts_at_first_unexcused_absence_and_stays_open():
    ep = current_episode([Mark(at(0), "present"), Mark(at(6), "absent"), Mark(at(24), "absent")])
    assert ep.started_at == at(6) and ep.absent_sessions == (at(6), at(24)) and ep.ended_at is None


def test_present_or_late_ends_the_episode():
    for status in ("present", "late"):
        found = episodes([Mark(at(0), "absent"), Mark(at(24), status)])
        assert found[0].ended_at == at(24)
        assert current_episode([Mark(at(0), "absent"), Mark(at(24), status)]) is None


def test_marks_arriving_out_of_order_give_the_same_episodes():
    marks = [Mark(at(0), "absent"), Mark(at(6), "absent"), Mark(at(24), "present"), Mark(at(30), "absent")]
    assert episodes(marks) == episodes(list(reversed(marks)))
    assert [e.started_at for e in episodes(marks)] == [at(0), at(30)]


def test_leave_mark_neither_starts_nor_ends_an_episode():
    assert current_episode([Mark(at(0), "leave")]) is None
    ep = current_episode([Mark(at(0), "absent"), Mark(at(6), "leave"), Mark(at(24), "absent")])
    assert ep.started_at == at(0)


def test_approved_leave_excuses_absences_inside_it():
    marks = [Mark(at(0), "absent"), Mark(at(6), "absent"), Mark(at(24), "absent")]
    ep = current_episode(marks, [LeaveSpan(at(-1), at(7))])
    assert ep.started_at == at(24)
    assert current_episode(marks, [LeaveSpan(at(-1), at(25))]) is None


def test_threshold_is_reached_at_exactly_48_hours_wall_clock():
    ep = current_episode([Mark(at(0), "absent")])
    assert not threshold_reached(ep, at(48) - timedelta(minutes=1), 48)
    assert threshold_reached(ep, at(48), 48)


def test_a_closed_episode_counts_only_until_the_student_returned():
    ep = episodes([Mark(at(0), "absent"), Mark(at(30), "present")])[0]
    assert ep.hours(at(100)) == 30
