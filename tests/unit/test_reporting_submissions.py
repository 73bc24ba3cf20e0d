"""Pure parts of the monthly report and of frozen submissions: months, the class ranking,
canonical JSON and its diff, the weekly deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from reporting.domain.monthly import ClassCounts, rank_within_schools
from reporting.domain.months import Month
from reporting.domain.submissions import Deadline, canonical, changes, digest, standing

CHINA = ZoneInfo("Asia/Shanghai")


def test_months_parse_and_bound_local_days():
    m = Month.parse("2026-02")
    assert (m.first, m.last, str(m)) == (date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    assert Month.parse("2026-12").last == date(2026, 12, 31)
    assert Month.parse("2028-02").last == date(2028, 2, 29)
    assert Month.parse("2026-11").window(CHINA) == (datetime(2026, 10, 31, 16, tzinfo=UTC),
                                                    datetime(2026, 11, 30, 16, tzinfo=UTC))
    for bad in ("2026-13", "2026-00", "2026-1", "202611"):
        with pytest.raises(ValueError):
            Month.parse(bad)


def _class(school: str, class_id: str, start: int, dropped: int, **more) -> ClassCounts:
    return ClassCounts(school_code=school, class_id=class_id, grade=7, enrolled_at_start=start, dropped_out=dropped,
                       on_roll_at_end=start, **more)


def test_classes_rank_within_their_school_ties_share_and_empty_rolls_come_last():
    ranked = rank_within_schools([
        _class("S1", "a", 50, 1), _class("S1", "b", 40, 0), _class("S1", "c", 25, 0), _class("S1", "d", 50, 2),
        _class("S1", "e", 0, 0, home_visits=1), _class("S1", "gone", 0, 0), _class("S2", "z", 30, 3)])
    # b and c tie at 0 %; a 2 %, d 4 %; e had nobody on its roll (unranked); "gone" is empty.
    assert [(r.counts.school_code, r.counts.class_id, r.rank) for r in ranked] == [
        ("S1", "b", 1), ("S1", "c", 1), ("S1", "a", 3), ("S1", "d", 4), ("S1", "e", None), ("S2", "z", 1)]
    assert ranked[0].counts.no_dropout and not ranked[2].counts.no_dropout
    # A class whose dropout came back within the month still had a dropout that month.
    assert not ClassCounts("S1", "r", 7, enrolled_at_start=5, dropped_out=1, returned=1, on_roll_at_end=5).no_dropout


def test_canonical_json_is_sorted_compact_utf8_and_digested():
    body = {"b": 1, "a": {"名": "中牟县", "x": [1, 2]}}
    assert canonical(body) == '{"a":{"x":[1,2],"名":"中牟县"},"b":1}'.encode()
    assert digest(body) == digest({"a": {"x": [1, 2], "名": "中牟县"}, "b": 1})
    assert len(digest(body)) == 64


def test_changes_key_units_by_code_and_ignore_as_of():
    before = {"as_of": "t1", "totals": {"n": 1}, "schools": [{"code": "S1", "n": 1}, {"code": "S2", "n": 0}]}
    after = {"as_of": "t2", "totals": {"n": 2}, "schools": [{"code": "S0", "n": 5}, {"code": "S1", "n": 1},
                                                            {"code": "S2", "n": 1}]}
    assert [(c.path, c.submitted, c.now) for c in changes(before, after)] == [
        ("schools[S0].code", None, "S0"), ("schools[S0].n", None, 5), ("schools[S2].n", 0, 1), ("totals.n", 1, 2)]
    assert changes(before, {**before, "as_of": "t9"}) == []


def test_the_weekly_deadline_and_a_countys_standing():
    friday = Deadline.parse("friday 18:00")
    assert friday == Deadline.parse("Fri 18:00")
    due = friday.instant(2026, 47, CHINA)
    assert due == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert Deadline.parse("monday 9:30").instant(2026, 47, CHINA) == datetime(2026, 11, 16, 1, 30, tzinfo=UTC)
    for bad in ("friday", "someday 18:00", "friday 25:00", "18:00 friday"):
        with pytest.raises(ValueError):
            Deadline.parse(bad)
    before, after = datetime(2026, 11, 20, 9, tzinfo=UTC), datetime(2026, 11, 20, 11, tzinfo=UTC)
    assert standing(None, due, before) == "pending" and standing(None, due, after) == "missing"
    assert standing(due, due, after) == "on_time" and standing(after, due, after) == "late"


def test_a_cases_responsibility_standing_at_a_cut_off():
    from reporting.domain.indicators import case_standing, monitoring, responsibility

    cut = datetime(2026, 11, 20, 16, tzinfo=UTC)
    before, after = datetime(2026, 11, 11, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
    assert case_standing(None, None, cut) == (False, False)            # reported or being verified
    assert case_standing(before, None, cut) == (True, False)           # confirmed, nobody yet
    assert case_standing(before, after, cut) == (True, False)          # persuading only after the cut-off
    assert case_standing(None, before, cut) == (True, True)            # persuading implies confirmed
    # A person and a plan, both recorded before the cut-off, count without the move to persuading.
    assert case_standing(before, None, cut, before, before) == (True, True)
    assert case_standing(before, None, cut, before, after) == (True, False)
    assert case_standing(None, None, cut, before, before) == (False, False)  # not a confirmed dropout
    assert monitoring({}, 0.95).standing == "unknown"  # nothing expected is not 0 %
    assert monitoring({}, 0.95).parts["roll_call_completeness"].value is None
    watched = monitoring({"a": (10, 10, 9), "b": (10, 9, 9), "c": (10, 5, 0)}, 0.95)
    assert watched.standing == "known" and watched.parts["roll_call_completeness"].value == 0.8
    assert [s.code for s in watched.lagging] == ["c", "b"]  # worst first
    r = responsibility(4, 3)
    assert (r.standing, r.parts["cases"].value, r.parts["schools"].known) == ("partial", 0.75, False)
    r = responsibility(4, 3, 5, 2)
    assert (r.standing, r.parts["schools"].value, r.parts["schools"].denominator) == ("known", 0.4, 5)
    assert responsibility(0, 0).parts["cases"].value is None  # nothing to count is not 0 %


def test_a_schools_chain_is_set_when_its_school_township_and_county_name_their_heads():
    from reporting.domain.indicators import chain_set

    path = ["410000", "410100", "410122", "410122100", "4101221001"]
    county = ("county", {"county_head": "赵县长", "bureau_chief": "钱局长"})
    township = ("township", {"township_head": "张镇长"})
    school = ("school", {"principal": "王校长", "bureau_leader": "孙副局长"})
    full = {"410122": county, "410122100": township, "4101221001": school}
    assert chain_set(path, full)
    assert not chain_set(path, {**full, "410122100": ("township", {})})          # the township head missing
    assert not chain_set(path, {"410122100": township, "4101221001": school})   # no county chain
    assert not chain_set(path, {**full, "4101221001": ("school", {"principal": "王校长"})})  # no 包校 leader
    # A county-run school has no township above it: none is required.
    assert chain_set(["410000", "410100", "410122", "4101220001"], {"410122": county, "4101220001": school})
