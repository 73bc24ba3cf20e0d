"""Property: roll calls, leave approvals and calendar changes arriving in any order, with the
stored episodes reconciled after each arrival (as `sync_episodes` does), end with the same
episodes and due instants as computing once from everything. Pure domain, no I/O."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from attendance.domain.calendar import Calendar
from attendance.domain.clock import due_at
from attendance.domain.episodes import LeaveSpan, Mark, Stored, episodes, reconcile

MONDAY = date(2026, 11, 16)
DAYS = [MONDAY + timedelta(days=i) for i in range(21)]
SESSIONS = [(d, s) for d in DAYS for s in ("am", "pm")]
BASE = Calendar()
_ids = itertools.count()


@dataclass(frozen=True)
class RollCall:
    day: date
    session: str
    status: str


@dataclass(frozen=True)
class Leave:
    first: int  # session indexes
    last: int


@dataclass(frozen=True)
class CalendarEntry:
    day: date
    kind: str


roll_calls = st.builds(RollCall, st.sampled_from(DAYS), st.sampled_from(["am", "pm"]),
                       st.sampled_from(["present", "absent", "absent", "late", "leave"]))
leaves = st.builds(lambda a, n: Leave(a, min(a + n, len(SESSIONS) - 1)),
                   st.integers(0, len(SESSIONS) - 1), st.integers(0, 6))
entries = st.builds(CalendarEntry, st.sampled_from(DAYS), st.sampled_from(["holiday", "school_day"]))
# Each session and each calendar date at most once: the final state does not depend on the order.
histories = st.tuples(
    st.lists(roll_calls, max_size=30, unique_by=lambda r: (r.day, r.session)),
    st.lists(leaves, max_size=3),
    st.lists(entries, max_size=6, unique_by=lambda e: e.day),
    st.sampled_from(["school_hours", "wall_clock"]),
).flatmap(lambda h: st.tuples(st.permutations(h[0] + h[1] + h[2]), st.just(h[3])))


class Inputs:
    def __init__(self) -> None:
        self.marks: dict[datetime, str] = {}
        self.leaves: list[LeaveSpan] = []
        self.days: dict[date, str] = {}

    def apply(self, event) -> None:
        if isinstance(event, RollCall):
            self.marks[BASE.session_at(event.day, event.session)] = event.status
        elif isinstance(event, Leave):
            start = BASE.session_at(*SESSIONS[event.first])
            end = BASE.session_at(*SESSIONS[event.last]) + timedelta(hours=1)
            self.leaves.append(LeaveSpan(start, end))
        else:
            self.days[event.day] = event.kind

    @property
    def calendar(self) -> Calendar:
        return Calendar(days=dict(self.days))

    def computed(self, counting: str) -> set[tuple]:
        cal = self.calendar
        return {(e.started_at, e.absent_sessions, e.ended_at, due_at(e.started_at, cal, counting, 48, self.leaves))
                for e in episodes([Mark(at, s) for at, s in self.marks.items()], self.leaves)}


def sync(stored: dict[str, tuple], inputs: Inputs, counting: str) -> dict[str, tuple]:
    """The store after one recomputation: kept rows take the new values, new episodes get ids,
    rows no longer supported go (none has fired here)."""
    cal = inputs.calendar
    computed = episodes([Mark(at, s) for at, s in inputs.marks.items()], inputs.leaves)
    plan = reconcile([Stored(i, v[0], v[1][-1], v[2], False) for i, v in stored.items()], computed)
    out = {}
    for keeper, ep in plan.keep:
        out[keeper.id if keeper else f"e{next(_ids)}"] = (
            ep.started_at, ep.absent_sessions, ep.ended_at, due_at(ep.started_at, cal, counting, 48, inputs.leaves))
    return out


@settings(max_examples=150, deadline=None)
@given(histories)
def test_any_arrival_order_gives_the_episodes_of_a_recomputation_from_scratch(history):
    events, counting = history
    inputs, stored = Inputs(), {}
    for event in events:
        inputs.apply(event)
        stored = sync(stored, inputs, counting)
    assert set(stored.values()) == inputs.computed(counting)
    # And the same inputs in their natural order give the same result.
    ordered = Inputs()
    for event in sorted(events, key=repr):
        ordered.apply(event)
    assert ordered.computed(counting) == inputs.computed(counting)


@settings(max_examples=150, deadline=None)
@given(histories)
def test_counted_hours_never_exceed_wall_clock_and_due_is_never_before_wall_clock_due(history):
    events, _ = history
    inputs = Inputs()
    for event in events:
        inputs.apply(event)
    cal = inputs.calendar
    for ep in episodes([Mark(at, s) for at, s in inputs.marks.items()], inputs.leaves):
        school = due_at(ep.started_at, cal, "school_hours", 48, inputs.leaves)
        wall = due_at(ep.started_at, cal, "wall_clock", 48, inputs.leaves)
        assert wall is not None and (school is None or school >= wall)
        assert wall >= ep.started_at + timedelta(hours=48)
