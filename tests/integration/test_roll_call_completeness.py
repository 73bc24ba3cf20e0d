"""Roll calls never taken (动态监测), over HTTP with an injected clock, on SQLite and PostgreSQL:
which sessions a class expects (school days inside a stored term, from the first roster day,
across a holiday and a make-up Saturday), when a missing one is listed (due time plus a teaching
point's sync interval), a session filled late announced once, a run of missed days escalated
once however many sweeps run, and the scoped missing list."""

from __future__ import annotations

import asyncio
from datetime import UTC

from attendance.usecases.completeness import sweep
from shared.clock import FixedClock
from shared.events.attendance import RollCallFilledLate, RollCallMissing, RollCallMissingEscalated, RollCallRecorded
from tests.conftest import bearer
from tests.factories import CLASS, SCHOOL, a_school, local

# Term ends Wednesday 18 Nov; Friday 13 Nov is a holiday, Saturday 14 Nov a make-up day (调休).
CALENDAR = {"terms": [{"name": "autumn", "start": "2026-11-02", "end": "2026-11-18"}],
            "holidays": ["2026-11-13"], "make_up_days": ["2026-11-14"]}
SCHOOL_DAYS = [9, 10, 11, 12, 14, 16, 17, 18]  # from Monday 9 Nov, the first roster day


def sessions(days, taken=()) -> set[tuple[str, str]]:
    return {(f"2026-11-{d:02d}", s) for d in days for s in ("am", "pm")} - set(taken)


async def missing_of(client, **params) -> list[dict]:
    r = await client.get("/v1/roll-calls/missing", params={"from": "2026-11-01", "to": "2026-11-30",
                                                            "limit": 100, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def swept(school) -> tuple[int, int]:
    async with school.uow() as uow:
        s = await sweep(uow, school.runtime.settings)
    return s.missing, s.escalated


async def test_expected_sessions_missing_filled_late_and_escalated_once(databases):
    clock = FixedClock(local(9, 8, 5))
    async with a_school(databases, clock, roll_call_sweep_interval_s=3600) as school:
        client = school.client
        away, other = await school.enroll(2)  # the first roster day: Monday 9 Nov
        assert (await client.put(f"/v1/calendars/{SCHOOL}", json=CALENDAR)).status_code == 200
        await school.roll_call(9, "am", {away: "present", other: "present"})
        clock.set(local(9, 14, 5).astimezone(UTC))
        await school.roll_call(9, "pm", {away: "present", other: "present"})
        clock.set(local(10, 8, 5).astimezone(UTC))
        await school.roll_call(10, "am", {away: "absent", other: "present"})
        # Nothing is missing before its due time: Tuesday's pm session is due at 16:00.
        clock.set(local(10, 15, 59).astimezone(UTC))
        assert await swept(school) == (0, 0)

        clock.set(local(19, 23).astimezone(UTC))
        # Two replicas sweeping at once announce each gap and the escalation once.
        results = await asyncio.gather(swept(school), swept(school))
        expected = sessions(SCHOOL_DAYS, taken=[("2026-11-09", "am"), ("2026-11-09", "pm"), ("2026-11-10", "am")])
        assert sum(m for m, _ in results) == len(expected) == 13 and sum(e for _, e in results) == 1
        assert await swept(school) == (0, 0)
        listed = await missing_of(client)
        # Not the holiday, not Sunday, not before the first roster day, not after the term: the make-up Saturday is.
        assert {(i["date"], i["session"]) for i in listed} == expected
        assert all(i["class_id"] == CLASS and i["school_code"] == SCHOOL and not i["filled_late"] for i in listed)
        first = next(i for i in listed if (i["date"], i["session"]) == ("2026-11-10", "pm"))
        assert first["missing_since"] == "2026-11-10T08:00:00Z"  # 14:00 + 120 minutes, Beijing
        missing = await school.emitted(RollCallMissing.TYPE)
        assert len(missing) == 13 and len({e["id"] for e in missing}) == 13
        (escalated,) = await school.emitted(RollCallMissingEscalated.TYPE)
        assert escalated["run_start"] == "2026-11-11" and escalated["township_code"] == "410122100"

        # The child's episode since Tuesday 08:00 had 13 sessions nobody took a roll call for.
        assert (await school.absence(away))["unrecorded_sessions"] == 13

        # Wednesday's register typed in late fills its gap: announced once, even when re-posted.
        await school.roll_call(11, "am", {away: "absent", other: "present"})
        await school.roll_call(11, "am", {away: "absent", other: "present"})
        (filled,) = await school.emitted(RollCallFilledLate.TYPE)
        assert filled["date"] == "2026-11-11" and filled["session"] == "am"
        assert [i["filled_late"] for i in await missing_of(client) if i["date"] == "2026-11-11"] == [False, True]
        assert (await school.absence(away))["unrecorded_sessions"] == 12
        recorded = await school.emitted(RollCallRecorded.TYPE)
        assert [r["on_time"] for r in recorded] == [True, True, True, False, False]
        assert recorded[2]["counts"] == {"present": 1, "late": 0, "absent": 1, "leave": 0}
        assert await swept(school) == (0, 0) and len(await school.emitted(RollCallMissingEscalated.TYPE)) == 1

        # A roll call that leaves off a pupil on the roll lists the pupil (unmarked).
        await school.roll_call(12, "am", {away: "absent"})
        r = await client.get("/v1/roll-calls/missing", params={"from": "2026-11-01", "to": "2026-11-30",
                                                                "kind": "unmarked"})
        assert [(i["date"], i["session"], i["unmarked"], i["kind"]) for i in r.json()["items"]] == [
            ("2026-11-12", "am", [other], "unmarked")]

        # Scope: the class's head teacher sees it, another class's and another school's staff see nothing.
        r = await client.get("/v1/roll-calls/missing", params={"from": "2026-11-01", "to": "2026-11-30"},
                             headers=bearer("head_teacher", SCHOOL, classes=[CLASS]))
        assert r.json()["total"] == 13
        r = await client.get("/v1/roll-calls/missing", params={"from": "2026-11-01", "to": "2026-11-30",
                                                                "kind": "unmarked"},
                             headers=bearer("head_teacher", SCHOOL, classes=["another"]))
        assert r.json()["total"] == 0
        r = await client.get("/v1/roll-calls/missing", params={"from": "2026-11-01", "to": "2026-11-30"},
                             headers=bearer("head_teacher", SCHOOL, classes=["another"]))
        assert r.json()["total"] == 0
        r = await client.get("/v1/roll-calls/missing", params={"from": "2026-11-01", "to": "2026-11-30"},
                             headers=bearer("school_staff", "4101221002"))
        assert r.json()["total"] == 0


async def test_a_teaching_point_is_chased_after_its_sync_interval_and_nothing_without_terms(databases):
    clock = FixedClock(local(9, 8, 5))
    async with a_school(databases, clock, roll_call_sweep_interval_s=3600) as school:
        await school.enroll(1)
        clock.set(local(19, 23).astimezone(UTC))
        # No term stored: nothing is expected (vacation would flood the list).
        assert await swept(school) == (0, 0)
        calendar = (await school.client.get(f"/v1/calendars/{SCHOOL}")).json()
        assert calendar["effective"]["roll_calls"]["expected"] is False and "term" in calendar["effective"]["roll_calls"]["reason"]
        r = await school.client.put(f"/v1/calendars/{SCHOOL}", json={**CALENDAR, "sync_interval_days": 7,
                                                                     "roll_calls_from": "2026-11-10"})
        assert r.status_code == 200, r.text
        # A weekly sync: a session is missing a week after its due time. Thursday 12 pm was due
        # at 16:00 and is missing from Thursday 19 16:00; the make-up Saturday 14 not until the 21st.
        # Nothing before roll_calls_from (Tuesday 10) is chased.
        assert await swept(school) == (6, 1)
        assert {(i["date"], i["session"]) for i in await missing_of(school.client)} == sessions([10, 11, 12])
        clock.set(local(21, 15, 59).astimezone(UTC))
        assert await swept(school) == (1, 0)  # Saturday 08:00 + 2 h + 7 days
        clock.set(local(21, 16, 0).astimezone(UTC))
        assert await swept(school) == (1, 0)  # the run from Tuesday was escalated already


async def test_the_national_calendar_lies_under_every_school_and_drives_both_clocks(databases):
    """The county sets nothing: 中秋 (Fri 25 Sep 2026) and 国庆 (1-7 Oct) are not school days, the
    make-up Saturday 10 Oct is (chinese-calendar). The school overrides one day (Sun 20 Sep, a
    national make-up day, closed here). The 48-hour clock skips the same days."""
    clock = FixedClock(local(14, 8, month=9))
    async with a_school(databases, clock, roll_call_sweep_interval_s=3600) as school:
        (away,) = await school.enroll(1)
        r = await school.client.put(f"/v1/calendars/{SCHOOL}", json={
            "terms": [{"name": "2026 autumn", "start": "2026-09-01", "end": "2027-01-22"}], "holidays": ["2026-09-20"]})
        assert r.status_code == 200, r.text
        clock.set(local(30, 8, 5, month=9).astimezone(UTC))
        await school.roll_call(30, "am", {away: "absent"}, month=9)
        # Wed 30 Sep 08:00: 16 h on Wednesday, nothing for 1-7 Oct, 24 h on Thu 8, 8 h on Fri 9.
        assert (await school.absence(away))["due_at"] == "2026-10-09T00:00:00Z"
        clock.set(local(12, 12, month=10).astimezone(UTC))
        await swept(school)
        days = {i["date"] for i in await missing_of(school.client, **{"from": "2026-09-01", "to": "2026-10-31"})}
        assert "2026-10-10" in days and "2026-09-21" in days and "2026-09-14" in days and "2026-09-11" not in days
        assert not {"2026-09-20", "2026-09-25", "2026-09-26"} & days
        assert not {f"2026-10-0{d}" for d in range(1, 8)} & days
        calendar = (await school.client.get(f"/v1/calendars/{SCHOOL}")).json()["effective"]
        known = calendar["national"]
        assert known["source"].startswith("chinese-calendar") and known["known_until"] == "2026-12-31"
        assert "2026-10-01" in known["holidays"] and "2026-10-10" in known["make_up_days"]
        # The term runs into 2027, which the library does not know yet: a warning, not a failure.
        assert len(known["warnings"]) == 1 and "2027-01-22" in known["warnings"][0]
