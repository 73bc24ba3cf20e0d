"""The legal ladder's order, as a pure rule: every step against every previous one."""

from __future__ import annotations

from datetime import date

import pytest

from cases.domain.ladder import ORDER, LadderRefused, Response, Step, StepRecord, check_next, overdue

TODAY = date(2026, 11, 26)
PASSED, NOT_YET = date(2026, 11, 25), date(2026, 11, 26)


def test_the_ladder_starts_with_the_parent_notice_and_only_on_a_verified_case():
    check_next(Step.parent_notice, case_status="confirmed", previous=[], today=TODAY)
    for status in ("reported", "verifying", "false_alarm", "closed", "returned"):
        with pytest.raises(LadderRefused):
            check_next(Step.parent_notice, case_status=status, previous=[], today=TODAY)
    for step in ORDER[1:]:
        with pytest.raises(LadderRefused):
            check_next(step, case_status="persuading", previous=[], today=TODAY)


@pytest.mark.parametrize("last", ORDER)
@pytest.mark.parametrize("step", ORDER)
def test_each_pair_of_steps(last, step):
    previous = [StepRecord(last, PASSED, None)]
    allowed = ORDER.index(step) == ORDER.index(last) + 1 or (
        last is Step.order_to_send and step is Step.fine)  # the judicial office's document is optional
    if allowed:
        check_next(step, case_status="judicial_notice", previous=previous, today=TODAY)
    else:
        with pytest.raises(LadderRefused):
            check_next(step, case_status="judicial_notice", previous=previous, today=TODAY)


def test_the_next_step_waits_for_the_deadline_and_stops_at_compliance():
    with pytest.raises(LadderRefused, match="deadline"):
        check_next(Step.order_to_send, case_status="persuading",
                   previous=[StepRecord(Step.parent_notice, NOT_YET, None)], today=TODAY)
    with pytest.raises(LadderRefused, match="complied"):
        check_next(Step.order_to_send, case_status="persuading",
                   previous=[StepRecord(Step.parent_notice, PASSED, Response.complied)], today=TODAY)
    check_next(Step.order_to_send, case_status="persuading",
               previous=[StepRecord(Step.parent_notice, PASSED, Response.refused)], today=TODAY)


def test_a_step_is_overdue_after_its_deadline_day_with_nothing_recorded():
    assert not overdue(NOT_YET, None, TODAY) and overdue(PASSED, None, TODAY)
    assert not overdue(PASSED, Response.no_response, TODAY)
