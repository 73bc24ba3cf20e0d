"""A case move decided without a database (``cases.domain.moves.decide_move``): for every legal
pair of states, the columns it writes, the outcome, the timeline entry, the event and what it
does to the dual reports; the refusals; a reopen starting a new round."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cases.domain.lifecycle import (
    OUTCOMES,
    TIMESTAMP_COLUMN,
    TRANSITIONS,
    IllegalTransition,
    MissingData,
)
from cases.domain.lifecycle import (
    CaseStatus as S,
)
from cases.domain.moves import CaseState, MoveRequest, decide_move
from shared.events.cases import CaseClosed, CaseStatusChanged

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OPENED = NOW - timedelta(days=10)
TERM = timedelta(days=150)
DEADLINE = timedelta(hours=24)
EVIDENCE = {"receipt": "R-1", "returned_on": "2026-11-20", "document_ref": "D-1", "description": "x"}


def state(status: S, **kw) -> CaseState:
    """A case that satisfies every requirement, so only the move decides."""
    facts = dict(id="c-1", child_id="s-1", status=status, origin="absence", opened_at=OPENED,
                 evidence={"note": "stored"}, outcome="returned", responsible_person={"name": "李老师"}, plan_items=1,
                 closed_at=NOW - timedelta(days=3), false_alarm_reason="sick", reopen_count=1, reports_issued=True)
    return CaseState(**{**facts, **kw})


def request(to: S, **kw) -> MoveRequest:
    return MoveRequest(**{**dict(to=to, actor="teacher-1", reason="sick", evidence=EVIDENCE, note="n",
                                 causes=("poverty",), cause_note="why"), **kw})


def decide(current: CaseState, req: MoveRequest):
    return decide_move(current, req, now=NOW, reopen_window=TERM, verify_deadline=DEADLINE)


LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets, key=lambda s: s.value)]


@pytest.mark.parametrize("current,to", LEGAL, ids=lambda s: s.value)
def test_every_legal_move_writes_its_state_timestamp_and_event(current, to):
    move = decide(state(current), request(to))
    assert move.previous is current and move.to is to
    assert move.values["status"] == to.value and move.values["updated_at"] == NOW
    assert move.values[TIMESTAMP_COLUMN[to]] == NOW
    assert move.reopened is (current is S.closed)
    assert move.timeline_kind == ("reopened" if current is S.closed else "status_changed")
    assert move.timeline_detail["from"] == current.value and move.timeline_detail["to"] == to.value
    assert move.timeline_detail["evidence"] == EVIDENCE  # as given, not merged
    if to is S.closed:
        assert isinstance(move.event, CaseClosed)
        assert move.values["closed_at"] == NOW
        # The close-out names the outcome it closes and the evidence merged with the stored one.
        assert move.event.outcome == "returned" and move.event.evidence == {"note": "stored", **EVIDENCE}
    else:
        assert isinstance(move.event, CaseStatusChanged) and "closed_at" not in move.values
        assert move.event.origin == "absence"
    assert (move.event.case_id, move.event.student_id, move.event.status, move.event.previous_status,
            move.event.at, move.event.actor) == ("c-1", "s-1", to.value, current.value, NOW, "teacher-1")
    if to in OUTCOMES or to is S.false_alarm:
        assert move.values["outcome"] == to.value
    elif current is not S.closed:
        assert "outcome" not in move.values


def test_the_stored_evidence_is_merged_and_kept_when_none_is_given():
    move = decide(state(S.persuading), request(S.returned, evidence={"returned_on": "2026-11-22"}))
    assert move.values["evidence"] == {"note": "stored", "returned_on": "2026-11-22"}
    kept = decide(state(S.returned, evidence={"returned_on": "2026-11-20"}), request(S.closed, evidence=None))
    assert "evidence" not in kept.values and kept.event.evidence == {"returned_on": "2026-11-20"}


def test_a_confirmation_names_its_causes_and_since_when():
    move = decide(state(S.verifying, episode_started_at="2026-11-10T00:00:00+00:00", reports_issued=False),
                  request(S.confirmed, causes=("poverty", "family")))
    assert move.values["causes"] == ["poverty", "family"] and move.values["cause_note"] == "why"
    assert move.timeline_detail["causes"] == ["poverty", "family"]
    assert move.event.causes == ["poverty", "family"] and move.event.cause_note == "why"
    assert move.event.dropped_out_since == datetime(2026, 11, 10, tzinfo=UTC)
    assert move.reports == "issue"
    opened = decide(state(S.reported, reports_issued=False), request(S.confirmed))
    assert opened.event.dropped_out_since == OPENED  # no absence: since the case's opening
    # Reported already at the deadline: the confirmation issues nothing more.
    assert decide(state(S.reported, reports_issued=True), request(S.confirmed)).reports is None


def test_other_moves_carry_no_causes():
    move = decide(state(S.confirmed), request(S.persuading))
    assert move.event.causes is None and move.event.cause_note is None and move.event.dropped_out_since is None
    assert "causes" not in move.values and "causes" not in move.timeline_detail
    assert move.reports is None


def test_a_false_alarm_keeps_its_reason_and_withdraws_or_notes_the_reports():
    after = decide(state(S.reported, reports_issued=True), request(S.false_alarm, reason="on_leave"))
    assert after.values["false_alarm_reason"] == "on_leave" and after.values["outcome"] == "false_alarm"
    assert after.reports == "withdraw"
    before = decide(state(S.verifying, reports_issued=False), request(S.false_alarm, reason="data_error"))
    assert before.reports == "none"


def test_a_reopen_starts_a_new_round():
    move = decide(state(S.closed, reports_issued=True), request(S.reported))
    assert move.reopened and move.timeline_kind == "reopened"
    for column in ("outcome", "evidence", "false_alarm_reason", "causes", "cause_note", "back_at"):
        assert move.values[column] is None, column
    assert move.values["reopen_count"] == 2 and move.values["reopened_at"] == NOW
    assert "verify_due_at" not in move.values  # reported before: the reports stand
    never = decide(state(S.closed, reports_issued=False), request(S.reported))
    assert never.values["verify_due_at"] == NOW + DEADLINE
    system = decide_move(state(S.closed, reports_issued=False), request(S.reported), now=NOW, reopen_window=TERM)
    assert "verify_due_at" not in system.values


@pytest.mark.parametrize("current,to", [(a, b) for a in S for b in S if b not in TRANSITIONS[a] and a is not b],
                         ids=lambda s: s.value)
def test_every_illegal_move_is_refused(current, to):
    with pytest.raises(IllegalTransition):
        decide(state(current), request(to))


def test_a_legal_notice_is_not_a_close_out():
    with pytest.raises(IllegalTransition):
        decide(state(S.judicial_notice), request(S.closed))


def test_a_reopen_outside_the_term_is_refused():
    with pytest.raises(IllegalTransition, match="within the term"):
        decide(state(S.closed, closed_at=NOW - TERM - timedelta(days=1)), request(S.reported))


@pytest.mark.parametrize("current,req,field", [
    (S.persuading, request(S.transferred, evidence=None), "evidence.receipt"),
    (S.verifying, request(S.confirmed, causes=()), "causes"),
    (S.verifying, request(S.confirmed, causes=("bad_luck",)), "causes"),
    (S.reported, request(S.false_alarm, reason=None), "reason"),
    (S.reported, request(S.false_alarm, reason="transferred", evidence=None), "evidence.receipt"),
], ids=["transfer-receipt", "no-causes", "unknown-cause", "false-alarm-reason", "false-alarm-receipt"])
def test_a_legal_move_missing_its_data_is_refused(current, req, field):
    with pytest.raises(MissingData) as err:
        decide(state(current, evidence=None), req)
    assert field in {e["field"] for e in err.value.errors}


def test_persuasion_needs_a_responsible_person_and_a_plan():
    with pytest.raises(MissingData) as err:
        decide(replace(state(S.confirmed), responsible_person=None, plan_items=0), request(S.persuading))
    assert {e["field"] for e in err.value.errors} == {"responsible_person", "plan"}


def test_a_close_out_names_the_evidence_of_what_it_closes():
    with pytest.raises(MissingData) as err:
        decide(state(S.returned, evidence=None), request(S.closed, evidence={"receipt": "R-1"}))
    assert {e["field"] for e in err.value.errors} == {"evidence.returned_on"}
    # A false alarm "transferred" is closed on the receipt it was decided on.
    move = decide(state(S.false_alarm, false_alarm_reason="transferred", evidence={"receipt": "R-9"}),
                  request(S.closed, evidence=None))
    assert move.event.evidence == {"receipt": "R-9"}
