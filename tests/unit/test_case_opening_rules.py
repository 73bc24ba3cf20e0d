"""Property: a burst of alarms decided as one batch (``cases.domain.opening.open_or_join``) goes
where the same alarms decided one at a time, in order, would go, however the consumer splits the
burst into batches: one open case per child, a later alarm joining the case an earlier one opened.
Pure domain, no I/O."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cases.domain.opening import Opening, open_or_join

CHILDREN = st.sampled_from(["a", "b", "c", "d"])


def one_at_a_time(children: list[str], open_cases: dict[str, str], new_ids: list[str]) -> list[Opening]:
    """The rule as the per-event handler applied it: the child's open case if there is one (the
    lookup sees what earlier events opened), else a new case, open from then on."""
    current, decided = dict(open_cases), []
    for child, new_id in zip(children, new_ids):
        if child in current:
            decided.append(Opening(current[child], opens=False))
        else:
            current[child] = new_id
            decided.append(Opening(new_id, opens=True))
    return decided


@given(children=st.lists(CHILDREN, max_size=12), already=st.sets(CHILDREN), cuts=st.sets(st.integers(0, 12)))
def test_a_batch_decides_as_one_alarm_at_a_time_however_it_is_split(children, already, cuts):
    open_cases = {child: f"open-{child}" for child in already}
    new_ids = [f"new-{i}" for i in range(len(children))]
    expected = one_at_a_time(children, open_cases, new_ids)
    assert open_or_join(children, open_cases, new_ids) == expected
    # Split into consecutive batches (the consumer's bisection), each seeing what the earlier opened.
    current, decided, bounds = dict(open_cases), [], sorted({0, len(children), *(c for c in cuts if c < len(children))})
    for lo, hi in zip(bounds, bounds[1:]):
        part = open_or_join(children[lo:hi], current, new_ids[lo:hi])
        current.update({child: d.case_id for child, d in zip(children[lo:hi], part) if d.opens})
        decided += part
    assert decided == expected
    # One open case per child: a child already open opens nothing; any other opens exactly one.
    opened = [child for child, d in zip(children, expected) if d.opens]
    assert sorted(opened) == sorted(set(children) - already)
