"""Which records look like one child (问题学籍): the pure rules."""

from __future__ import annotations

from datetime import date

from registry.domain.problems import (
    Candidate,
    ProblemKind,
    county_of,
    problem_id,
    same_id_problems,
    same_person_problems,
)

BORN = date(2013, 4, 1)


def c(sid: str, nid: str | None, *, county: str = "410122", status: str = "enrolled", name: str = "张三") -> Candidate:
    return Candidate(student_id=sid, national_id=nid, name=name, gender="male", birth_date=BORN, status=status,
                     county=county)


def test_the_same_child_twice_in_one_county_is_a_problem_and_in_two_counties_is_not():
    (problem,) = same_person_problems([c("a", "X1"), c("b", None)])
    assert problem.kind is ProblemKind.same_person and problem.student_ids == ("a", "b")
    assert same_person_problems([c("a", "X1"), c("b", None, county="410123")]) == []


def test_one_childs_successive_records_are_not_a_same_person_problem():
    assert same_person_problems([c("a", "X1", status="graduated"), c("b", "X1")]) == []


def test_one_id_twice_ignores_graduated_stage_records():
    assert same_id_problems([c("a", "X1", status="graduated"), c("b", "X1")]) == []
    (problem,) = same_id_problems([c("a", "X1", status="deceased"), c("b", "X1")])
    assert problem.kind is ProblemKind.same_national_id


def test_a_problem_id_is_the_group_and_changes_when_a_record_joins():
    assert problem_id(ProblemKind.same_person, ["b", "a"]) == problem_id(ProblemKind.same_person, ["a", "b"])
    assert problem_id(ProblemKind.same_person, ["a", "b"]) != problem_id(ProblemKind.same_person, ["a", "b", "c"])


def test_the_county_is_taken_from_kinds_not_depth():
    kinds = {"440000": "province", "441900": "city", "441900100": "township", "S": "school"}
    assert county_of(["440000", "441900", "441900100", "S"], kinds) == "441900"  # 东莞: no counties
    kinds |= {"410000": "province", "410100": "city", "410122": "county"}
    assert county_of(["410000", "410100", "410122", "S"], kinds) == "410122"
