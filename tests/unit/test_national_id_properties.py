"""Property tests for the national ID validator: every generated valid number parses and gives
back its birth date and gender; every single-character corruption of one is rejected (ISO 7064
MOD 11-2 catches any one substituted character, the check character included)."""

from __future__ import annotations

from datetime import date

from hypothesis import example, given, settings
from hypothesis import strategies as st

from registry.domain.national_id import PROVINCE_CODES, InvalidNationalId, compose, parse

TODAY = date(2026, 11, 23)

regions = st.builds(lambda province, rest: province + rest, st.sampled_from(sorted(PROVINCE_CODES)),
                    st.from_regex(r"\A[0-9]{4}\Z"))
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)
valid_numbers = st.builds(compose, regions, births, sequences)
# Any character a form could carry: digits, X, letters, punctuation, CJK, whitespace.
characters = st.characters(codec="utf-8", exclude_categories=("Cs",))


@settings(max_examples=300)
@given(regions, births, sequences)
def test_a_composed_number_parses_back_to_what_it_was_made_of(region, born, sequence):
    nid = parse(compose(region, born, sequence), today=TODAY)
    assert (nid.region_code, nid.birth_date, int(nid.sequence)) == (region, born, sequence)
    assert nid.gender == ("male" if sequence % 2 else "female")
    assert nid.masked() == nid.number[:4] + "*" * 10 + nid.number[-4:]
    assert parse(nid.number.lower(), today=TODAY) == nid  # a lower-case x is the same number


@settings(max_examples=500)
@given(valid_numbers, st.integers(min_value=0, max_value=17), characters)
@example("11010519491231002X", 17, "0")
@example("440524188001010014", 0, "5")  # another province: only the check character catches it
@example("110000199601010009", 9, "\u19d6")  # NEW TAI LUE DIGIT SIX: \d and int() read it as 6
def test_any_single_character_corruption_is_rejected(number, position, replacement):
    original = number[position]
    if replacement.upper() == original:  # the same character (x and X are one): not a corruption
        replacement = "7" if original != "7" else "3"
    corrupted = number[:position] + replacement + number[position + 1:]
    try:
        parse(corrupted, today=TODAY)
    except InvalidNationalId:
        return
    raise AssertionError(f"{corrupted!r} (position {position} of {number}) was accepted")


@given(valid_numbers, st.integers(min_value=0, max_value=16))
def test_swapping_two_different_adjacent_digits_is_rejected(number, position):
    a, b = number[position], number[position + 1]
    if a == b or not (a + b).isdigit():
        return
    swapped = number[:position] + b + a + number[position + 2:]
    try:
        parse(swapped, today=TODAY)
    except InvalidNationalId:
        return
    raise AssertionError(f"{swapped} (swap at {position} of {number}) was accepted")
