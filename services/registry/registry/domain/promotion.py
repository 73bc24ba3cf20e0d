"""Year-end promotion (升级): every class moves up a grade, the top grade graduates. No I/O.

Which grade is the top one follows the school's system: ``shared.orgs.graduating_grade``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

GRADE_WORDS = {1: "一年级", 2: "二年级", 3: "三年级", 4: "四年级", 5: "五年级", 6: "六年级",
               7: "七年级", 8: "八年级", 9: "九年级"}
# Junior middle schools often say 初一/初二/初三 for grades 7-9.
JUNIOR_WORDS = {7: "初一", 8: "初二", 9: "初三"}


@dataclass(frozen=True)
class Promotion:
    """The school year that is ending, moved up at once."""

    school_year: int
    effective_on: date | None = None       # the graduation date; today when not given
    graduating_grade: int | None = None    # the school system's top grade when not given


def promoted_name(name: str, grade: int) -> str:
    """"七年级(1)班" becomes "八年级(1)班"; a name that does not start with its grade's word
    ("2024级1班", cohort naming) stays as it is."""
    for words in (GRADE_WORDS, JUNIOR_WORDS):
        word, nxt = words.get(grade), words.get(grade + 1)
        if word and nxt and name.startswith(word):
            return nxt + name[len(word):]
    return name


def graduated_name(name: str, school_year: int) -> str:
    """A graduated class keeps its roll under a name that frees the old one: "九年级(1)班（2027届）"."""
    return f"{name}（{school_year + 1}届）"
