"""The case lifecycle table: every (current, target) pair, and what each legal move requires; when
the dual reports go out and where.

The seeds' rule (000): 对48小时未到校又未履行请假手续的学生，迅速查明原因，一经确定是辍学情况，立即向当地政府和
教育部门报告 — check first; once it is a dropout, report at once to the local government AND the
education department: two different offices, each with its own line upwards."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from cases.domain.lifecycle import (
    OUTCOMES,
    RESOLUTIONS,
    TRANSITIONS,
    CaseFacts,
    DropoutCause,
    IllegalTransition,
    MissingData,
    check,
)
from cases.domain.lifecycle import (
    CaseStatus as S,
)
from cases.domain.model import (
    Recipient,
    deadline_reports_due,
    dual_report_recipients,
    escalation_area,
    known_back,
    reports_on_decision,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TERM = timedelta(days=150)

LEGAL = {
    (S.reported, S.verifying), (S.reported, S.confirmed), (S.reported, S.false_alarm),
    (S.verifying, S.confirmed), (S.verifying, S.false_alarm),
    (S.confirmed, S.persuading),
    (S.false_alarm, S.closed),
    (S.persuading, S.returned), (S.persuading, S.home_teaching), (S.persuading, S.transferred),
    (S.persuading, S.unable_to_study), (S.persuading, S.judicial_notice),
    # A legal notice is not a close-out: the child must still be back, taught, moved or certified.
    (S.judicial_notice, S.returned), (S.judicial_notice, S.home_teaching), (S.judicial_notice, S.transferred),
    (S.judicial_notice, S.unable_to_study),
    (S.returned, S.closed), (S.home_teaching, S.closed), (S.transferred, S.closed), (S.unable_to_study, S.closed),
    (S.closed, S.reported),
}


def complete(current: S) -> CaseFacts:
    """Facts that satisfy every requirement, so only the table decides."""
    return CaseFacts(status=current, responsible_person={"name": "李老师"}, plan_items=1, reason="sick",
                     evidence={"receipt": "R-1", "returned_on": "2026-11-20", "document_ref": "D-1",
                               "description": "x"},
                     closed_at=NOW - timedelta(days=3), causes=("poverty",), false_alarm_reason="sick")


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
    assert S.closed not in TRANSITIONS[S.judicial_notice] and TRANSITIONS[S.judicial_notice] == RESOLUTIONS


def fails_on(facts: CaseFacts, target: S) -> list[str]:
    with pytest.raises(MissingData) as err:
        check(facts, target, now=NOW, reopen_window=TERM)
    return [e["field"] for e in err.value.errors]


def test_a_false_alarm_needs_one_of_the_known_reasons():
    assert fails_on(CaseFacts(S.verifying), S.false_alarm) == ["reason"]
    assert fails_on(CaseFacts(S.verifying, reason="bored"), S.false_alarm) == ["reason"]
    for reason in ("sick", "on_leave", "data_error", "returned"):
        check(CaseFacts(S.verifying, reason=reason), S.false_alarm, now=NOW, reopen_window=TERM)
    # A false alarm "transferred" needs the receiving school's receipt (回执).
    assert fails_on(CaseFacts(S.verifying, reason="transferred"), S.false_alarm) == ["evidence.receipt"]
    check(CaseFacts(S.verifying, reason="transferred", evidence={"receipt": "R-9"}), S.false_alarm,
          now=NOW, reopen_window=TERM)


def test_a_confirmation_names_its_causes():
    assert fails_on(CaseFacts(S.verifying), S.confirmed) == ["causes"]
    assert fails_on(CaseFacts(S.reported, causes=("bored",)), S.confirmed) == ["causes"]
    assert fails_on(CaseFacts(S.verifying, causes=("poverty", "sick")), S.confirmed) == ["causes"]  # sick: a false alarm
    assert {c.value for c in DropoutCause} == {"poverty", "weariness_of_study", "left_to_work", "illness",
                                               "disability", "family", "early_marriage", "other"}
    check(CaseFacts(S.verifying, causes=("illness", "family")), S.confirmed, now=NOW, reopen_window=TERM)


def test_persuading_needs_a_responsible_person_and_a_plan():
    assert fails_on(CaseFacts(S.confirmed), S.persuading) == ["responsible_person", "plan"]
    assert fails_on(CaseFacts(S.confirmed, responsible_person={"name": "李"}), S.persuading) == ["plan"]
    assert fails_on(CaseFacts(S.confirmed, plan_items=2), S.persuading) == ["responsible_person"]


def test_a_transfer_needs_the_receipt_and_every_close_out_names_its_evidence():
    assert fails_on(CaseFacts(S.persuading, evidence={"note": "moved"}), S.transferred) == ["evidence.receipt"]
    named = {S.returned: "returned_on", S.home_teaching: "document_ref", S.transferred: "receipt",
             S.unable_to_study: "document_ref"}
    for state, field_name in named.items():
        assert fails_on(CaseFacts(state), S.closed) == [f"evidence.{field_name}"]
        assert fails_on(CaseFacts(state, evidence={"note": "done"}), S.closed) == [f"evidence.{field_name}"]
        check(CaseFacts(state, evidence={field_name: "2026-11-20"}), S.closed, now=NOW, reopen_window=TERM)
    for reason, field_name in {"returned": "returned_on", "transferred": "receipt", "sick": "description",
                               "on_leave": "description", "data_error": "description"}.items():
        facts = CaseFacts(S.false_alarm, false_alarm_reason=reason)
        assert fails_on(facts, S.closed) == [f"evidence.{field_name}"]
        check(CaseFacts(S.false_alarm, false_alarm_reason=reason, evidence={field_name: "x"}), S.closed,
              now=NOW, reopen_window=TERM)


def test_reopening_is_allowed_within_the_term_only():
    check(CaseFacts(S.closed, closed_at=NOW - TERM), S.reported, now=NOW, reopen_window=TERM)
    with pytest.raises(IllegalTransition, match="within the term"):
        check(CaseFacts(S.closed, closed_at=NOW - TERM - timedelta(minutes=1)), S.reported, now=NOW,
              reopen_window=TERM)


CHAIN = [{"code": "41", "kind": "province", "name": "省"}, {"code": "4101", "kind": "city", "name": "市"},
         {"code": "410122", "kind": "county", "name": "县"}, {"code": "410122100", "kind": "township", "name": "镇"},
         {"code": "4101221001", "kind": "school", "name": "校"}]
PATH = [o["code"] for o in CHAIN]


def test_escalation_goes_one_area_up():
    assert escalation_area(PATH, "410122100") == "410122"
    assert escalation_area(PATH, "410122") == "4101"
    assert escalation_area(PATH, "41") is None
    assert escalation_area(PATH, "999") is None


def _codes(chain, offices=None):
    return [(r.recipient.value, r.org_code, r.area_code)
            for r in dual_report_recipients(chain, [o["code"] for o in chain], offices)]


def test_two_distinct_offices_for_a_township_school_and_for_a_county_run_school():
    assert _codes(CHAIN) == [("government", "410122100-GOV", "410122100"), ("education", "410122100-EDU", "410122100")]
    county_run = CHAIN[:3] + [{"code": "4101220001", "kind": "school", "name": "县直学校"}]
    assert _codes(county_run) == [("government", "410122-GOV", "410122"), ("education", "410122-EDU", "410122")]
    registered = {("410122", "government"): ("410122-ZF", "县人民政府"), ("410122", "education"): ("410122-JYJ", "县教育局")}
    assert _codes(county_run, registered) == [("government", "410122-ZF", "410122"), ("education", "410122-JYJ", "410122")]
    # A school run by a city without counties (东莞), by a city, by a province: their own offices.
    dongguan = [{"code": "44", "kind": "province"}, {"code": "4419", "kind": "city"},
                {"code": "441900001", "kind": "township"}, {"code": "4419000011", "kind": "school"}]
    assert _codes(dongguan)[0][1] == "441900001-GOV"
    city_run = [{"code": "44", "kind": "province"}, {"code": "4419", "kind": "city"}, {"code": "44190001", "kind": "school"}]
    assert [c[1] for c in _codes(city_run)] == ["4419-GOV", "4419-EDU"]
    # A county-level unit directly under a province (济源): by kind, not depth.
    jiyuan = [{"code": "41", "kind": "province"}, {"code": "419001", "kind": "county"},
              {"code": "4190010001", "kind": "school"}]
    assert [c[1] for c in _codes(jiyuan)] == ["419001-GOV", "419001-EDU"]
    for chain in (CHAIN, county_run, dongguan, city_run, jiyuan):
        gov, edu = _codes(chain)
        assert gov[1] != edu[1] and gov[2] == edu[2]
    # Without the chain: the org the school sits under, never a guess from the depth.
    assert [r.org_code for r in dual_report_recipients([], ["41", "4101", "410122", "4101220001"])] == [
        "410122-GOV", "410122-EDU"]
    assert {r.recipient for r in dual_report_recipients(CHAIN, PATH)} == set(Recipient)


DUE = NOW


@pytest.mark.parametrize("status", list(S), ids=lambda s: s.value)
def test_reports_go_out_unverified_at_the_deadline_only_for_an_unchecked_case(status):
    due = deadline_reports_due(status=status, reports_issued_at=None, verify_due_at=DUE, back_at=None, now=DUE)
    assert due is (status in (S.reported, S.verifying))


def test_the_deadline_waits_for_a_child_known_to_be_back_and_fires_once():
    kw = {"status": S.reported, "verify_due_at": DUE}
    assert not deadline_reports_due(**kw, reports_issued_at=None, back_at=None, now=DUE - timedelta(minutes=1))
    assert deadline_reports_due(**kw, reports_issued_at=None, back_at=None, now=DUE)
    assert not deadline_reports_due(**kw, reports_issued_at=DUE, back_at=None, now=DUE + timedelta(hours=5))
    # Back before the deadline (a late-detected episode, a recorded return): the school decides.
    assert known_back(DUE - timedelta(hours=3), DUE)
    assert not deadline_reports_due(**kw, reports_issued_at=None, back_at=DUE - timedelta(hours=3), now=DUE)
    # Back only after the deadline had passed: the reports were due already.
    assert not known_back(DUE + timedelta(minutes=1), DUE)
    assert deadline_reports_due(**kw, reports_issued_at=None, back_at=DUE + timedelta(minutes=1),
                                now=DUE + timedelta(minutes=2))


def test_a_decision_issues_withdraws_or_says_no_report_went_out():
    assert reports_on_decision(S.confirmed, reports_issued=False) == "issue"
    assert reports_on_decision(S.confirmed, reports_issued=True) is None  # the deadline sent them: once
    assert reports_on_decision(S.false_alarm, reports_issued=False) == "none"
    assert reports_on_decision(S.false_alarm, reports_issued=True) == "withdraw"
    assert all(reports_on_decision(s, reports_issued=r) is None for s in S if s not in (S.confirmed, S.false_alarm)
               for r in (True, False))
