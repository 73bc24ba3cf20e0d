"""Compulsory school age, as counties count it for the cross-check (排查比对).

A child starts grade 1 in the September after turning 6 (the usual cut-off is 31 August), and
nine years of compulsory education later is 15. So for a school year that starts on
1 September of year Y, a child is of compulsory school age when they are 6 to 15 years old on
31 August of Y. A date between January and August belongs to the school year that started the
previous September.
"""

from __future__ import annotations

from datetime import date

YOUNGEST = 6
OLDEST = 15


def school_year_start(on: date) -> int:
    return on.year if on.month >= 9 else on.year - 1


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_at_cutoff(birth_date: date, as_of: date) -> int:
    """Age on the 31 August that begins the school year containing ``as_of``."""
    return age_on(birth_date, date(school_year_start(as_of), 8, 31))


def is_compulsory_age(birth_date: date, as_of: date) -> bool:
    return YOUNGEST <= age_at_cutoff(birth_date, as_of) <= OLDEST
