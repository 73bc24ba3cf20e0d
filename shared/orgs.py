"""The org tree as it really is, and school systems: pure rules every service shares.

China's tree is not five fixed levels. County-level units sit directly under a province (济源,
仙桃, Hainan's counties); a municipality (北京, 上海...) is province-level and its districts sit
directly under it; some prefecture cities have no counties (东莞, 中山, 儋州, 嘉峪关), only towns;
cities and provinces run schools of their own (市直/省直学校). So an org's level is read from its
kind, never from its depth on a path, and "the county" of a school is the nearest county-level
area above it, which may be a city or a province doing a county's work.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence


class OrgKind(str, enum.Enum):
    province = "province"  # also a municipality (直辖市): province-level, districts directly under it
    city = "city"          # a prefecture-level city (地级市), with or without counties
    county = "county"      # a county, district or county-level city, under a city or a province
    township = "township"  # a town, township or sub-district (乡镇/街道)
    school = "school"
    office = "office"      # a dual-report recipient office of its area (乡镇人民政府, 中心校, 县教育局...), with a line


AREAS = (OrgKind.province, OrgKind.city, OrgKind.county, OrgKind.township)


class SchoolSystem(str, enum.Enum):
    """How a school divides the nine compulsory years. A six-three or five-four school teaches one
    stage (a primary school, or a junior middle school) unless it has classes of both; nine- and
    twelve-year schools (九年一贯制, 十二年一贯制) keep the child from grade 1 to the end."""

    six_three = "6+3"      # 六三学制: primary 1-6, junior middle 7-9 (most of China)
    five_four = "5+4"      # 五四学制: primary 1-5, junior middle 6-9 (Shanghai, parts of Shandong, Heilongjiang)
    nine_year = "nine_year"
    twelve_year = "twelve_year"


DEFAULT_SYSTEM = SchoolSystem.six_three
LAST_COMPULSORY_GRADE = 9


def school_system(value: str | None) -> SchoolSystem:
    """The system an event or a row names; absent (an org announced before systems were
    recorded) it is six-three, as every school was until then."""
    return SchoolSystem(value) if value else DEFAULT_SYSTEM


def last_primary_grade(system: SchoolSystem | str | None) -> int:
    """Nine- and twelve-year schools split their stages as six-three unless they say otherwise."""
    return 5 if school_system(system) is SchoolSystem.five_four else 6


def level_of(system: SchoolSystem | str | None, grade: int | None) -> str | None:
    """primary or junior (middle) for a grade at a school of this system: grade 6 is junior in 5+4."""
    if grade is None:
        return None
    return "primary" if int(grade) <= last_primary_grade(system) else "junior"


def graduating_grade(system: SchoolSystem | str | None, grades: set[int]) -> int:
    """The grade that leaves the school at year end. A nine- or twelve-year school keeps its
    children through the stage change and lets them go after grade 9 (the end of compulsory
    education; a twelve-year school's senior years are outside this system). A one-stage school
    graduates the last grade of its stage: 9 once it has any junior middle class, else its
    system's last primary grade (5 in five-four, 6 in six-three); the child must then turn up in a
    junior middle school (小升初), which the population cross-check watches for."""
    system = school_system(system)
    if system in (SchoolSystem.nine_year, SchoolSystem.twelve_year):
        return LAST_COMPULSORY_GRADE
    top_primary = last_primary_grade(system)
    return LAST_COMPULSORY_GRADE if any(g > top_primary for g in grades) else top_primary


# --- places on a path, by kind ----------------------------------------------------------------

def nearest(chain: Sequence[Mapping[str, str]], kinds: Sequence[OrgKind | str],
            *, above: str | None = None) -> Mapping[str, str] | None:
    """The org nearest the bottom of ``chain`` (province first, as org_chain is) whose kind is one
    of ``kinds``; with ``above``, only orgs higher up than that code."""
    wanted = {OrgKind(k).value for k in kinds}
    entries = list(chain)
    if above is not None:
        codes = [o["code"] for o in entries]
        entries = entries[:codes.index(above)] if above in codes else []
    for org in reversed(entries):
        if org.get("kind") in wanted:
            return org
    return None


# The areas that stand in for a county when a school has none above it, nearest first: a city
# without counties (东莞) runs its schools and towns as a county would; a province's own school
# (省直) answers to the province.
COUNTY_LEVEL = (OrgKind.county, OrgKind.city, OrgKind.province)


def county_level(chain: Sequence[Mapping[str, str]]) -> Mapping[str, str] | None:
    """The nearest area doing a county's work for the school at the end of ``chain``: its county,
    else its city, else its province."""
    for kind in COUNTY_LEVEL:
        found = nearest(chain, [kind])
        if found is not None:
            return found
    return None


def township_level(chain: Sequence[Mapping[str, str]]) -> Mapping[str, str] | None:
    """The township (乡镇/街道) above the school, if it has one: a school run by a county, a city
    or a province has none, and its county-level area takes the township's part."""
    return nearest(chain, [OrgKind.township])
