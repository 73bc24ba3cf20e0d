"""The student status lifecycle, every pair, and the other pure rules of the registry."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from registry.domain.lifecycle import TRANSFER_STATUSES, TRANSITIONS, change_status
from registry.domain.model import StudentStatus as S
from registry.domain.model import region_prefix
from registry.domain.promotion import graduated_name, promoted_name
from registry.domain.school_age import age_at_cutoff, is_compulsory_age
from shared.errors import Conflict, Invalid

TODAY = date(2026, 11, 23)
LEGAL = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}


@pytest.mark.parametrize("current, target", list(itertools.product(S, S)), ids=lambda s: s.value)
def test_every_pair_is_legal_exactly_when_the_table_says(current, target):
    def attempt():
        return change_status(current, target, effective_on=TODAY, reason="paperwork 2026-1", today=TODAY,
                             last_effective_on=None)
    if (current, target) in LEGAL:
        change = attempt()
        assert (change.previous, change.status) == (current, target)
    else:
        with pytest.raises(Conflict):
            attempt()


def test_the_table_is_what_the_domain_says():
    # Graduated and deceased records are history; transfers go through their own routes.
    assert TRANSITIONS[S.graduated] == TRANSITIONS[S.deceased] == frozenset()
    assert not any(t in TRANSFER_STATUSES for targets in TRANSITIONS.values() for t in targets)
    # Every status but the final ones can reach deceased; a dropout can come back.
    assert all(S.deceased in TRANSITIONS[s] for s in S if s not in (S.graduated, S.deceased))
    assert S.enrolled in TRANSITIONS[S.dropped_out] and S.enrolled in TRANSITIONS[S.suspended]


def test_a_dropout_needs_a_reason_and_a_date_not_in_the_future():
    with pytest.raises(Invalid) as exc:
        change_status(S.enrolled, S.dropped_out, effective_on=TODAY, reason="  ", today=TODAY, last_effective_on=None)
    assert exc.value.errors[0]["field"] == "reason"
    with pytest.raises(Invalid):
        change_status(S.enrolled, S.suspended, effective_on=date(2026, 11, 24), reason="ill", today=TODAY,
                      last_effective_on=None)
    with pytest.raises(Invalid):  # before the record's last change: the history would read backwards
        change_status(S.enrolled, S.suspended, effective_on=date(2026, 9, 1), reason="ill", today=TODAY,
                      last_effective_on=date(2026, 10, 1))
    # Graduation needs no reason.
    assert change_status(S.enrolled, S.graduated, effective_on=TODAY, reason=None, today=TODAY,
                         last_effective_on=None).status is S.graduated


@pytest.mark.parametrize("born, as_of, age, compulsory", [
    (date(2020, 8, 31), date(2026, 11, 23), 6, True),    # 6 on 31 August 2026: grade 1 this year
    (date(2020, 9, 1), date(2026, 11, 23), 5, False),    # a day too young: next year
    (date(2010, 9, 1), date(2026, 11, 23), 15, True),    # turns 16 a day after the cut-off
    (date(2010, 8, 31), date(2026, 11, 23), 16, False),  # 16 on the cut-off: past compulsory age
    (date(2020, 8, 31), date(2027, 3, 1), 6, True),      # spring belongs to the school year begun in 2026
])
def test_compulsory_school_age_is_counted_on_31_august(born, as_of, age, compulsory):
    assert age_at_cutoff(born, as_of) == age
    assert is_compulsory_age(born, as_of) is compulsory


def test_promotion_renames_by_grade_word_and_graduates_the_top_grade():
    assert promoted_name("七年级(1)班", 7) == "八年级(1)班"
    assert promoted_name("初一(3)班", 7) == "初二(3)班"
    assert promoted_name("2024级1班", 7) == "2024级1班"
    assert graduated_name("九年级(1)班", 2026) == "九年级(1)班（2027届）"


def test_region_prefix_strips_whole_levels():
    assert region_prefix("410000") == "41" and region_prefix("410100") == "4101"
    assert region_prefix("410122") == "410122" and region_prefix("410120") == "410120"
