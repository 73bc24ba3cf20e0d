"""Standing responsibility and the duties of persuasion work, as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.domain.responsibility import (
    Assignments,
    Level,
    Person,
    Standing,
    VillageHead,
    WrongLevel,
    check_roles,
    fill_chain,
    level_of_kind,
    named_roles,
    relapsed,
    unassigned,
    visits_short,
)

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_each_level_holds_its_own_roles():
    check_roles(Level.school, {"principal": {"name": "王校长"}, "bureau_leader": {"name": "孙副局长"}})
    check_roles(Level.township, {"township_head": {"name": "张镇长"}, "village_heads": [{}]})
    with pytest.raises(WrongLevel) as exc:
        check_roles(Level.county, {"county_head": {"name": "赵县长"}, "head_teacher": {"name": "李老师"},
                                   "village_heads": [{}]})
    assert [e["pointer"] for e in exc.value.errors] == ["/head_teacher", "/village_heads"]
    assert "class" in exc.value.errors[0]["message"]


def test_assignments_are_kept_in_one_order_without_empty_roles():
    """The stored document is what a GET answers and what a new case's chain is filled from:
    the same put gives the same document, whatever order the roles were named in."""
    given = Assignments(people={"head_teacher": Person("李老师"), "township_head": Person("张镇长", phone="123")},
                        village_heads=(VillageHead("李庄村", Person("李村长")),))
    stored = given.stored()
    assert list(stored) == ["township_head", "village_heads", "head_teacher"]
    assert stored["township_head"] == {"name": "张镇长", "title": None, "phone": "123", "org_code": None}
    assert stored["village_heads"] == [{"village": "李庄村", "person": {"name": "李村长", "title": None, "phone": None,
                                                                     "org_code": None}}]
    assert "village_heads" not in Assignments(people={}).stored()


def test_the_level_follows_the_kind_not_the_depth():
    assert level_of_kind("county") is Level.county and level_of_kind("school") is Level.school
    assert level_of_kind("city") is None and level_of_kind(None) is None


def test_a_chain_is_filled_from_the_places_above_and_the_village_from_the_address():
    standing = [
        Standing("410122", Level.county, {"county_head": {"name": "赵县长"}}),
        Standing("410122100", Level.township, {"township_head": {"name": "张镇长"}, "village_heads": [
            {"village": "王庄村", "person": {"name": "王村长"}}, {"village": "李庄村", "person": {"name": "李村长"}}]}),
        Standing("c1", Level.klass, {"head_teacher": {"name": "李老师"}, "principal": {"name": "不该出现"}}),
    ]
    chain = fill_chain({"responsible_person": None}, standing, addresses=["某镇李庄村3组"])
    assert named_roles(chain) == {"county_head": "赵县长", "township_head": "张镇长", "village_head": "李村长",
                                  "head_teacher": "李老师"}
    assert chain["village_head"]["from_org"] == "410122100" and chain["responsible_person"] is None
    assert "village_head" not in fill_chain({}, standing, addresses=["城关镇"])


def test_a_confirmed_case_is_unassigned_after_24_hours_without_a_responsible_person():
    confirmed = NOW - timedelta(hours=24)
    assert not unassigned(confirmed, None, NOW)
    assert unassigned(confirmed - timedelta(seconds=1), None, NOW)
    assert not unassigned(confirmed - timedelta(days=3), NOW - timedelta(days=2), NOW)
    assert not unassigned(None, None, NOW)


def test_relapse_is_a_return_within_a_year_or_a_reopened_case():
    assert relapsed(NOW - timedelta(days=365), 0, NOW) and not relapsed(NOW - timedelta(days=366), 0, NOW)
    assert relapsed(None, 1, NOW) and not relapsed(None, 0, NOW)
    assert visits_short(1, 2) == 1 and visits_short(5, 2) == 0
