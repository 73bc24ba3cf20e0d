from datetime import date

import pytest

from registry.domain.national_id import InvalidNationalId, compose, parse


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_known_valid_numbers_parse(number):
    nid = parse(number)
    assert nid.number == number and nid.region_code == number[:6]


def test_parse_reads_birth_date_gender_and_masks():
    nid = parse("11010519491231002X")
    assert nid.birth_date == date(1949, 12, 31)
    assert nid.gender == "female"  # 17th digit 2 is even
    assert nid.masked() == "1101**********002X"


def test_lower_case_x_and_spaces_are_normalised():
    assert parse(" 11010519491231002x ").number == "11010519491231002X"


@pytest.mark.parametrize("number, reason", [
    ("11010519491231002", "18 characters"),
    ("1101051949123100XX", "17 digits"),
    ("11010519491231002Y", "17 digits"),
    ("110105194912310021", "check character"),
    ("110105194902300027", "not a calendar date"),
    ("910105194912310020", "names no province"),
])
def test_malformed_numbers_say_why(number, reason):
    with pytest.raises(InvalidNationalId, match=reason):
        parse(number)


def test_future_birth_date_is_refused():
    number = compose("410122", date(2030, 1, 1), 11)
    with pytest.raises(InvalidNationalId, match="future"):
        parse(number, today=date(2026, 11, 23))


def test_compose_round_trips_and_sets_gender_by_sequence():
    for seq, gender in [(11, "male"), (12, "female")]:
        nid = parse(compose("410122", date(2013, 4, 1), seq))
        assert nid.gender == gender and nid.birth_date == date(2013, 4, 1)


def test_every_single_digit_change_breaks_the_check():
    good = compose("410122", date(2013, 4, 1), 11)
    for i in range(17):
        for d in "0123456789":
            if d != good[i]:
                bad = good[:i] + d + good[i + 1:]
                with pytest.raises(InvalidNationalId):
                    parse(bad)
