"""The case lifecycle table: every (current, target) pair, and what each legal move requires."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from cases.domain.lifecycle import (
    OUTCOMES, TRANSITIONS, CaseFacts, CaseStatus as S, IllegalTransition, MissingData, check,
)
from cases.domain.model import escalation_target

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
TERM = timedelta(days=150)

LEGAL = {
    (S.reported, S.verifying),
    (S.verifying, S.confirmed), (S.verifying, S.false_alarm),
    (S.confirmed, S.persuading),
    (S.false_alarm, S.closed),
    (S.persuading, S.returned), (S.persuading, S.home_teaching), (S.persuading, S.transferred),
    (S.persuading, S.judicial_notice),
    (S.judicial_notice, S.returned), (S.judicial_notice, S.home_teaching), (S.judicial_notice, S.transferred),
    (S.judicial_notice, S.closed),
    (S.returned, S.closed), (S.home_teaching, S.closed), (S.transferred, S.closed),
    (S.closed, S.reported),
}


def complete(current: S) -> CaseFacts:
    """Facts that satisfy every requirement, so only the table decides."""
    return CaseFacts(status=current, responsible_person={"name": "李老师"}, plan_items=1, reason="sick",
                     evidence={"receipt": "R-1", "returned_on": "2026-11-20", "note": "x"},
                     closed_at=NOW - timedelta(days=3))


@pytest.mark.parametrize("current,target", list(itertools.product(S, S)), ids=lambda s: s.value)
def test_every_pair_of_states_is_legal_exactly_when_the_table_says(current, target):
    if (current, target) in LEGAL:
        check(complete(current), target, now=NOW, reopen_window=TERM)
    else:
        with pytest.raises(IllegalTransition) as err:
            check(complete(current), target, now=NOW, reopen_window=TERM)
        assert current.value in str(err.value) and target.value in str(err.value)


def test_the_table_is_the_documented_one_and_every_state_can_be_left():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL
    assert set(TRANSITIONS) == set(S) and all(TRANSITIONS[s] for s in S)
    assert OUTCOMES <= TRANSITIONS[S.persuading]


def fails_on(facts: CaseFacts, target: S) -> list[str]:
    with pytest.raises(MissingData) as err:
        check(facts, target, now=NOW, reopen_window=TERM)
    return [e["field"] for e in err.value.errors]


def test_a_false_alarm_needs_one_of_the_known_reasons():
    assert fails_on(CaseFacts(S.verifying), S.false_alarm) == ["reason"]
    assert fails_on(CaseFacts(S.verifying, reason="bored"), S.false_alarm) == ["reason"]
    for reason in ("sick", "on_leave", "data_error", "transferred"):
        check(CaseFacts(S.verifying, reason=reason), S.false_alarm, now=NOW, reopen_window=TERM)


def test_persuading_needs_a_responsible_person_and_a_plan():
    assert fails_on(CaseFacts(S.confirmed), S.persuading) == ["responsible_person", "plan"]
    assert fails_on(CaseFacts(S.confirmed, responsible_person={"name": "李"}), S.persuading) == ["plan"]
    assert fails_on(CaseFacts(S.confirmed, plan_items=2), S.persuading) == ["responsible_person"]


def test_a_transfer_needs_the_receipt_and_close_out_needs_evidence():
    assert fails_on(CaseFacts(S.persuading, evidence={"note": "moved"}), S.transferred) == ["evidence.receipt"]
    for outcome in (S.home_teaching, S.transferred, S.false_alarm, S.judicial_notice):
        assert fails_on(CaseFacts(outcome), S.closed) == ["evidence"]
    assert fails_on(CaseFacts(S.returned, evidence={"note": "back"}), S.closed) == ["evidence.returned_on"]
    check(CaseFacts(S.returned, evidence={"returned_on": "2026-11-20"}), S.closed, now=NOW, reopen_window=TERM)


def test_reopening_is_allowed_within_the_term_only():
    check(CaseFacts(S.closed, closed_at=NOW - TERM), S.reported, now=NOW, reopen_window=TERM)
    with pytest.raises(IllegalTransition, match="within the term"):
        check(CaseFacts(S.closed, closed_at=NOW - TERM - timedelta(minutes=1)), S.reported, now=NOW,
              reopen_window=TERM)


CHAIN = [{"code": "41", "kind": "province", "name": "省"}, {"code": "4101", "kind": "city", "name": "市"},
         {"code": "410122", "kind": "county", "name": "县"}, {"code": "410122100", "kind": "township", "name": "镇"},
         {"code": "4101221001", "kind": "school", "name": "校"}]
PATH = [o["code"] for o in CHAIN]


def test_escalation_goes_one_level_up():
    assert escalation_target(CHAIN, PATH, "410122100") == ("410122", "县")
    assert escalation_target(CHAIN, PATH, "410122") == ("4101", "市")
    assert escalation_target([], PATH, "410122") == ("4101", "4101")  # no chain: the code names it
    assert escalation_target(CHAIN, PATH, "41") is None
    assert escalation_target(CHAIN, PATH, "999") is None
