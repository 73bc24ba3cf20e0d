"""Boarding elsewhere (寄读) and suspension (休学): what a change must say, what is missing, when it
is overdue, and which school of a transfer confirms it. Pure rules, every case.

Seed 002 (a middle school's plan): 严把休、转、寄手续关。要求外寄的学生及家长或所在学校必须开回回执证明
— a child sent to board elsewhere needs a receipt from the family or the host school.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from registry.domain.lifecycle import Side, cancelling_side, confirming_side
from registry.domain.model import StudentStatus as S
from registry.domain.off_roll import (
    WATCHED,
    Cutoffs,
    Missing,
    OverdueReason,
    Period,
    Terms,
    check_terms,
    missing,
    overdue,
    receipt_due_on,
    return_due_on,
)
from shared.errors import Invalid

START = date(2026, 9, 1)
DAYS = 30


def _fields(exc: pytest.ExceptionInfo) -> list[str]:
    return [e["field"] for e in exc.value.errors]


@pytest.mark.parametrize("status", list(S), ids=lambda s: s.value)
def test_terms_belong_to_their_status(status):
    host = Terms(host_school_code="4101221002")
    end = Terms(expected_end=START + timedelta(days=90))
    if status is S.boarding_elsewhere:
        check_terms(status, host, effective_on=START)
    else:
        with pytest.raises(Invalid) as exc:
            check_terms(status, host, effective_on=START)
        assert _fields(exc) == ["host_school_code"]
    if status in WATCHED:
        check_terms(status, end, effective_on=START)
    else:
        with pytest.raises(Invalid) as exc:
            check_terms(status, end, effective_on=START)
        assert _fields(exc) == ["expected_end"]
    check_terms(status, Terms(), effective_on=START)  # the old shape is accepted: the watchdog asks later


@pytest.mark.parametrize("terms, field", [
    (Terms(host_school_code="4101221002", host_school_name="某小学"), "host_school_name"),
    (Terms(host_school_code="4101221002", host_region="441900"), "host_school_name"),
    (Terms(host_school_name="东莞市某小学"), "host_region"),
    (Terms(host_region="441900"), "host_school_name"),
    (Terms(host_school_code="4101221002", expected_end=START), "expected_end"),
    (Terms(host_school_code="4101221002", expected_end=START - timedelta(days=1)), "expected_end"),
])
def test_a_host_is_named_one_way_and_the_end_comes_after_the_start(terms, field):
    with pytest.raises(Invalid) as exc:
        check_terms(S.boarding_elsewhere, terms, effective_on=START)
    assert _fields(exc) == [field]
    check_terms(S.boarding_elsewhere, Terms(host_school_name="东莞市某小学", host_region="441900",
                                            expected_end=START + timedelta(days=1)), effective_on=START)


def test_what_is_missing():
    boarding = Period(S.boarding_elsewhere, START, expected_end=None)
    assert missing(boarding, START) == [Missing.host, Missing.expected_end, Missing.receipt]
    named = Period(S.boarding_elsewhere, START, expected_end=date(2026, 12, 31), names_host=True)
    assert missing(named, START) == [Missing.receipt]
    received = Period(S.boarding_elsewhere, START, date(2026, 12, 31), names_host=True, received_on=START)
    assert missing(received, date(2026, 12, 31)) == []  # the last day away is not late
    assert missing(received, date(2027, 1, 1)) == [Missing.return_]
    assert missing(Period(S.suspended, START, None), START) == [Missing.expected_end]
    assert missing(Period(S.suspended, START, date(2027, 1, 31)), date(2027, 2, 1)) == [Missing.return_]


@pytest.mark.parametrize("kind, end, received, today, expected", [
    # Boarding: the receipt is due overdue_days after the start, to the day.
    (S.boarding_elsewhere, date(2027, 1, 31), None, START + timedelta(days=DAYS - 1), []),
    (S.boarding_elsewhere, date(2027, 1, 31), None, START + timedelta(days=DAYS), [OverdueReason.receipt]),
    (S.boarding_elsewhere, date(2027, 1, 31), START, START + timedelta(days=DAYS), []),
    # ... and the return the day after the expected end.
    (S.boarding_elsewhere, date(2027, 1, 31), START, date(2027, 1, 31), []),
    (S.boarding_elsewhere, date(2027, 1, 31), START, date(2027, 2, 1), [OverdueReason.return_]),
    (S.boarding_elsewhere, date(2026, 9, 15), None, date(2026, 10, 1),
     [OverdueReason.receipt, OverdueReason.return_]),
    # No end given: the return is due when a receipt would be.
    (S.boarding_elsewhere, None, START, START + timedelta(days=DAYS), [OverdueReason.return_]),
    (S.suspended, None, None, START + timedelta(days=DAYS - 1), []),
    (S.suspended, None, None, START + timedelta(days=DAYS), [OverdueReason.return_]),
    # A suspension needs no receipt, only a return by its end.
    (S.suspended, date(2027, 1, 31), None, date(2027, 1, 31), []),
    (S.suspended, date(2027, 1, 31), None, date(2027, 2, 1), [OverdueReason.return_]),
])
def test_overdue_to_the_day(kind, end, received, today, expected):
    period = Period(kind, START, end, names_host=True, received_on=received)
    assert overdue(period, today, DAYS) == expected


@pytest.mark.parametrize("offset", range(-3, 4))
def test_the_sweeps_cutoffs_say_what_overdue_says(offset):
    """The SQL claims compare with Cutoffs; they must agree with the rule for one period."""
    for kind, end, received in itertools.product(WATCHED, (None, date(2026, 9, 20)), (None, START)):
        period = Period(kind, START, end, names_host=True, received_on=received)
        today = receipt_due_on(START, DAYS) + timedelta(days=offset) if end is None or offset % 2 \
            else return_due_on(START, end, DAYS) + timedelta(days=offset)
        cut = Cutoffs.on(today, DAYS)
        receipt_claimed = kind is S.boarding_elsewhere and received is None and START <= cut.started_by
        return_claimed = (end is not None and end < cut.ended_before) or (end is None and START <= cut.started_by)
        assert (OverdueReason.receipt in overdue(period, today, DAYS)) == receipt_claimed
        assert (OverdueReason.return_ in overdue(period, today, DAYS)) == return_claimed


@pytest.mark.parametrize("started_by", list(Side))
def test_the_other_school_confirms_and_the_first_may_withdraw(started_by):
    assert confirming_side(started_by) is started_by.other is not started_by
    assert cancelling_side(started_by) is started_by
    assert {confirming_side(Side.sender), confirming_side(Side.receiver)} == set(Side)
