import pytest

from cases.domain.model import Recipient, dual_report_recipients, escalation_area
from registry.domain.model import OrgKind, SchoolSystem, check_parent, check_system
from shared.errors import Invalid
from shared.orgs import county_level, graduating_grade, level_of, nearest, township_level

CHAIN = [{"code": "410000", "kind": "province", "name": "河南省"}, {"code": "410100", "kind": "city", "name": "郑州市"},
         {"code": "410122", "kind": "county", "name": "中牟县"}, {"code": "410122100", "kind": "township", "name": "城关镇"},
         {"code": "S1", "kind": "school", "name": "一中"}]


def test_dual_report_goes_to_the_township_government_and_the_township_education_office():
    got = dual_report_recipients(CHAIN, [c["code"] for c in CHAIN])
    assert [(r.recipient, r.org_code) for r in got] == [(Recipient.government, "410122100-GOV"),
                                                        (Recipient.education, "410122100-EDU")]


def test_a_county_run_school_reports_to_the_two_county_offices():
    chain = CHAIN[:3] + CHAIN[4:]
    got = dual_report_recipients(chain, [c["code"] for c in chain])
    assert [(r.recipient, r.org_code) for r in got] == [(Recipient.government, "410122-GOV"),
                                                        (Recipient.education, "410122-EDU")]


def test_without_the_chain_the_area_is_the_org_the_school_sits_under_never_a_depth():
    got = dual_report_recipients([], ["410000", "410100", "410122", "410122100", "S1"])
    assert [r.org_code for r in got] == ["410122100-GOV", "410122100-EDU"]
    # A school of a city without counties: the path is three long, and its third code is the school.
    assert {r.area_code for r in dual_report_recipients([], ["440000", "441900", "S2"])} == {"441900"}


def _chain(*orgs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "kind": kind, "name": code} for code, kind in orgs]


# Every real shape: (chain down to the school, the reporting area whose two offices receive).
SHAPES = {
    "county under a province (济源)": (
        _chain(("410000", "province"), ("419001", "county"), ("419001100", "township"), ("S", "school")), "419001100"),
    "district under a municipality (上海 浦东)": (
        _chain(("310000", "province"), ("310115", "county"), ("310115101", "township"), ("S", "school")), "310115101"),
    "town under a city with no counties (东莞 虎门)": (
        _chain(("440000", "province"), ("441900", "city"), ("441900121", "township"), ("S", "school")), "441900121"),
    "school directly under a city with no counties (东莞)": (
        _chain(("440000", "province"), ("441900", "city"), ("S", "school")), "441900"),
    "city-run school (郑州 市直)": (_chain(("410000", "province"), ("410100", "city"), ("S", "school")), "410100"),
    "province-run school (省直)": (_chain(("410000", "province"), ("S", "school")), "410000"),
    "county-run school": (_chain(("410000", "province"), ("410100", "city"), ("410122", "county"), ("S", "school")),
                          "410122"),
    "county-run school directly under a province (济源直属)": (
        _chain(("410000", "province"), ("419001", "county"), ("S", "school")), "419001"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_dual_report_routing_follows_the_kinds_above_the_school_to_two_distinct_offices(shape):
    chain, area = SHAPES[shape]
    got = dual_report_recipients(chain, [o["code"] for o in chain])
    assert [(r.recipient, r.org_code, r.area_code) for r in got] == [
        (Recipient.government, f"{area}-GOV", area), (Recipient.education, f"{area}-EDU", area)]


def test_each_line_escalates_to_the_parent_area_whatever_its_kind():
    chain, _ = SHAPES["county under a province (济源)"]
    path = [o["code"] for o in chain]
    assert escalation_area(path, "419001100") == "419001"
    assert escalation_area(path, "419001") == "410000"
    assert escalation_area(path, "410000") is None
    dongguan, _ = SHAPES["school directly under a city with no counties (东莞)"]
    assert escalation_area([o["code"] for o in dongguan], "441900") == "440000"


@pytest.mark.parametrize("kind, parent, ok", [
    (OrgKind.province, None, True), (OrgKind.city, OrgKind.province, True), (OrgKind.county, OrgKind.city, True),
    (OrgKind.county, OrgKind.province, True),   # 济源, 仙桃; a municipality's districts
    (OrgKind.township, OrgKind.county, True),
    (OrgKind.township, OrgKind.city, True),     # 东莞's towns
    (OrgKind.school, OrgKind.township, True), (OrgKind.school, OrgKind.county, True),
    (OrgKind.school, OrgKind.city, True), (OrgKind.school, OrgKind.province, True),  # 市直, 省直
    (OrgKind.township, OrgKind.province, False), (OrgKind.city, OrgKind.city, False),
    (OrgKind.county, OrgKind.county, False), (OrgKind.city, None, False), (OrgKind.province, OrgKind.city, False),
    (OrgKind.school, OrgKind.school, False), (OrgKind.township, OrgKind.school, False),
])
def test_org_tree_shape(kind, parent, ok):
    if ok:
        check_parent(kind, parent)
    else:
        with pytest.raises(Invalid):
            check_parent(kind, parent)


def test_only_a_school_has_a_system_and_it_defaults_to_six_three():
    assert check_system(OrgKind.school, None) is SchoolSystem.six_three
    assert check_system(OrgKind.school, SchoolSystem.five_four) is SchoolSystem.five_four
    assert check_system(OrgKind.county, None) is None
    with pytest.raises(Invalid) as err:
        check_system(OrgKind.county, SchoolSystem.five_four)
    assert err.value.errors[0]["pointer"] == "/system"


@pytest.mark.parametrize("system, grade, level", [
    ("6+3", 6, "primary"), ("6+3", 7, "junior"), ("5+4", 5, "primary"), ("5+4", 6, "junior"),
    ("nine_year", 6, "primary"), ("nine_year", 7, "junior"), ("twelve_year", 9, "junior"),
    (None, 6, "primary"), (None, None, None),
])
def test_a_childs_level_follows_the_school_system(system, grade, level):
    assert level_of(system, grade) == level


@pytest.mark.parametrize("system, grades, top", [
    ("6+3", {1, 2, 6}, 6),          # a primary school graduates grade 6
    ("6+3", {1, 2, 5}, 6),          # ... even in a year with no grade 6 class: grade 5 moves up
    ("6+3", {7, 8, 9}, 9),          # a junior middle school
    ("6+3", {1, 6, 7, 9}, 9),       # both stages: grade 6 moves up to 7 and stays
    ("5+4", {1, 3, 5}, 5),          # a five-four primary school graduates grade 5
    ("5+4", {6, 7, 8, 9}, 9),       # five-four junior middle starts at grade 6
    ("nine_year", {1, 6}, 9),       # a nine-year school keeps its grade 6 through the stage change
    ("twelve_year", {5, 6}, 9),     # grade 9 ends compulsory education
])
def test_year_end_graduates_the_last_grade_of_the_schools_stage(system, grades, top):
    assert graduating_grade(system, grades) == top


def test_nearest_reads_kinds_from_the_bottom_up():
    chain = _chain(("440000", "province"), ("441900", "city"), ("441900121", "township"), ("S", "school"))
    assert township_level(chain)["code"] == "441900121" and county_level(chain)["code"] == "441900"
    assert nearest(chain, ["city", "province"], above="441900")["code"] == "440000"
    assert nearest(chain, ["county"]) is None
