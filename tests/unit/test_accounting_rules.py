"""Which records account for a child in the population cross-check: the pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from registry.domain.accounting import (
    RecordFacts,
    Stage,
    Unaccounted,
    accounts,
    next_school_year_starts,
    stage_finished,
    why_unaccounted,
)
from registry.domain.model import StudentStatus as S


def test_the_next_school_year_starts_on_the_first_september_after_graduation():
    assert next_school_year_starts(date(2026, 6, 30)) == date(2026, 9, 1)
    assert next_school_year_starts(date(2026, 9, 10)) == date(2027, 9, 1)  # a late graduation


@pytest.mark.parametrize("grade, stage", [(9, Stage.compulsory), (6, Stage.primary), (5, Stage.primary)])
def test_only_the_last_compulsory_grade_finishes_compulsory_education(grade, stage):
    assert stage_finished(grade) is stage


def test_a_five_four_primary_graduate_owes_junior_middle_too():
    grad = RecordFacts(S.graduated, grade=5, graduated_on=date(2026, 6, 30), system="5+4")
    assert stage_finished(5, "5+4") is Stage.primary
    assert why_unaccounted([grad], date(2026, 9, 1)) is Unaccounted.no_junior_middle_record


def test_a_primary_graduate_accounts_until_the_school_year_starts():
    grad = RecordFacts(S.graduated, grade=6, graduated_on=date(2026, 6, 30))
    assert accounts(grad, date(2026, 8, 31))
    assert not accounts(grad, date(2026, 9, 1))
    assert why_unaccounted([grad], date(2026, 9, 1)) is Unaccounted.no_junior_middle_record
    junior = RecordFacts(S.enrolled, grade=7)
    assert why_unaccounted([grad, junior], date(2026, 9, 1)) is None


@pytest.mark.parametrize("status", [S.enrolled, S.transferred_in, S.suspended, S.boarding_elsewhere,
                                    S.transferred_out, S.home_teaching, S.unable_to_study, S.deceased])
def test_records_that_account(status):
    assert why_unaccounted([RecordFacts(status, grade=4)], date(2026, 11, 1)) is None


def test_a_grade_9_graduate_always_accounts_and_a_dropout_never():
    assert why_unaccounted([RecordFacts(S.graduated, grade=9, graduated_on=date(2026, 6, 30))],
                           date(2027, 5, 1)) is None
    assert why_unaccounted([RecordFacts(S.dropped_out, grade=8)], date(2026, 11, 1)) is Unaccounted.dropped_out
    assert why_unaccounted([], date(2026, 11, 1)) is Unaccounted.no_record


# --- the poverty office's lists ----------------------------------------------------------------

from registry.domain.poverty import Action, FlagState, decide  # noqa: E402

D = date(2026, 10, 1)


@pytest.mark.parametrize("state, on_list, action", [
    (FlagState(False, None, None), True, Action.set),
    (FlagState(True, "脱贫户", D), True, Action.unchanged),
    (FlagState(True, "低保", D), True, Action.set),                        # moved to this category
    (FlagState(False, None, date(2026, 11, 1)), True, Action.older),      # cleared after the list's date
    (FlagState(True, "脱贫户", D), False, Action.clear),
    (FlagState(True, None, D), False, Action.unchanged),                  # set by hand: not this list's
    (FlagState(True, "低保", D), False, Action.unchanged),                 # another list's
    (FlagState(True, "脱贫户", date(2026, 11, 1)), False, Action.older),
])
def test_a_list_sets_and_clears_its_own_category_as_of_its_date(state, on_list, action):
    assert decide(state, on_list=on_list, category="脱贫户", list_date=date(2026, 10, 15)) is action
