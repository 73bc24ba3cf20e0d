"""The roll counts the projection keeps (``reporting.adapters.tables.roll_counts``, read by the
school year's figures instead of every child's newest row) are a recount of the facts whatever
order the events arrive in: late status rows, a promotion arriving after rows placed later
than it (or before rows placed earlier), a school's system corrected, a child moving classes.
Real projection handlers, real SQL on SQLite and PostgreSQL, hypothesis drawing the histories
and the arrival order (each child's own events stay in order, as on their partition). One
service per test; each example uses new classes and children."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select

from reporting.adapters.tables import class_grades, roll_counts, student_statuses
from reporting.domain.statutory import SchoolYear
from reporting.queries.read_model import Org
from reporting.queries.school_year import _steady, kept_query
from tests.conftest import running
from tests.factories import feed_reporting
from tests.reporting_fixture import COUNTY, PROVINCE, T1, _event, _org, chain

REGISTRY = "baoxue.registry.v1"
YEAR = SchoolYear(2026)
# A day in the term and the day after the July promotion: the grade differs.
DAYS = [date(2026, 11, 20), date(2027, 7, 11)]
EXAMPLES = 12
# Junior middle in a five-four school, primary once the system is corrected to six-three.
GRADE = 6
_examples = itertools.count()

STATUS = st.sampled_from(["dropped_out", "enrolled", "suspended", "transferred_out", "deceased"])


@st.composite
def histories(draw) -> dict:
    children = []
    for _ in range(draw(st.integers(1, 4))):
        # Enrolled a year before or on the census (or later), then some changes on any day.
        enrolled = date(2025, 9, 1) + timedelta(days=draw(st.sampled_from([0, 365, 366, 400])))
        changes = [(draw(STATUS), enrolled + timedelta(days=draw(st.integers(0, 400))), draw(st.integers(0, 1)))
                   for _ in range(draw(st.integers(0, 3)))]
        children.append((enrolled, changes))
    promotions = [date(2026, 7, 10) + timedelta(days=draw(st.sampled_from([0, 365, 100]))) for _ in
                  range(draw(st.integers(1, 2)))]
    return {"children": children, "promotions": promotions, "corrected": draw(st.booleans()),
            "seed": draw(st.randoms(use_true_random=False))}


def events_of(h: dict, k: int) -> list[list]:
    """The streams of events (each applied in its own order): the school's corrections, each
    class's promotions, each child's history."""
    school = f"41012210{k:02d}"
    path = [PROVINCE, "410100", COUNTY, T1, school]
    classes = [f"c{k}-a", f"c{k}-b"]

    def org(system: str, at: str) -> tuple:
        return (REGISTRY, _event("baoxue.registry.org.registered", school, at, {
            "code": school, "name": f"学校{k}", "kind": "school", "parent_code": T1, "path": path, "system": system}))

    streams: list[list] = [[org("5+4", "2025-08-01T00:00:00")]]
    if h["corrected"]:
        streams[0].append(org("6+3", "2026-10-01T00:00:00"))
    streams.append([(REGISTRY, _event("baoxue.registry.class.promoted", classes[0], f"{on}T02:00:00", {
        "class_id": classes[0], "school_code": school, "name": "班", "grade": 6 + i, "previous_grade": 5 + i,
        "school_year": on.year})) for i, on in enumerate(sorted(h["promotions"]))])
    for j, (enrolled, changes) in enumerate(h["children"]):
        student = f"student-{k}-{j}"
        stream = [(REGISTRY, _event("baoxue.registry.student.enrolled", student, f"{enrolled}T01:00:00", {
            "student_id": student, "national_id_masked": "4101**********0113", "name": student, "gender": "male",
            "birth_date": "2014-04-01", "school_code": school, "class_id": classes[0], "grade": GRADE,
            "level": "primary", "org_path": path, "org_chain": chain(path[:4]) + [
                {"code": school, "name": f"学校{k}", "kind": "school"}],
            "enrolled_on": str(enrolled), "flags": [], "guardians": [], "status": "enrolled"}))]
        for n, (status, on, moved) in enumerate(changes):
            # Sent on the day itself, or weeks later (a late row lands inside the history).
            stream.append((REGISTRY, _event("baoxue.registry.student.status_changed", student,
                                            f"{on + timedelta(days=20 * (n % 2))}T0{3 + n}:00:00", {
                "student_id": student, "status": status, "effective_on": str(on), "actor": "test",
                "school_code": school, "class_id": classes[moved], "grade": GRADE, "org_path": path,
                "org_chain": chain(path[:4]) + [{"code": school, "name": f"学校{k}", "kind": "school"}]})))
        streams.append(stream)
    return streams


def interleaved(streams: list[list], rnd) -> list:
    """Any arrival order that keeps each stream's own order."""
    left = [list(s) for s in streams if s]
    out = []
    while left:
        s = rnd.choice(left)
        out.append(s.pop(0))
        if not s:
            left.remove(s)
    return out


async def recount(session, classes: list[str]) -> Counter:
    """The counts from the facts, in Python: each child's newest row, and how many of its
    class's promotions have an event time at or before the row's."""
    h, g = student_statuses, class_grades
    rows = (await session.execute(select(h).where(h.c.class_id.in_(classes)))).mappings().all()
    promoted = (await session.execute(select(g.c.class_id, g.c.at).where(g.c.class_id.in_(classes)))).all()
    newest: dict[str, dict] = {}
    for r in (dict(r) for r in rows):
        old = newest.get(r["student_id"])
        if old is None or (r["effective_on"], r["at"], r["id"]) > (old["effective_on"], old["at"], old["id"]):
            newest[r["student_id"]] = r
    return Counter((r["class_id"], r["status"], r["prev_status"], bool(r["was_out"]), r["grade"], r["effective_on"],
                    sum(1 for c, at in promoted if c == r["class_id"] and at <= r["at"])) for r in newest.values())


async def kept(session, classes: list[str]) -> Counter:
    r = roll_counts
    out: Counter = Counter()
    for row in (await session.execute(select(r).where(r.c.class_id.in_(classes)))).mappings():
        out[(row["class_id"], row["status"], row["prev_status"], bool(row["was_out"]), row["grade"],
             row["effective_on"], row["epoch"])] += row["n"]
    return out


def test_the_roll_counts_are_a_recount_of_the_facts_in_any_arrival_order(databases):
    loop = asyncio.new_event_loop()
    service = running("reporting", databases.url("reporting"), "127.0.0.1:1")
    client = loop.run_until_complete(service.__aenter__())
    seen = Counter()  # what the examples exercised: a late promotion, a corrected system
    try:
        loop.run_until_complete(feed_reporting(client, [_org(c) for c in (PROVINCE, "410100", COUNTY, T1)]))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
        @given(h=histories())
        def check(h: dict) -> None:
            async def example() -> None:
                k = next(_examples)
                school = f"41012210{k:02d}"
                await feed_reporting(client, interleaved(events_of(h, k), h["seed"]))
                classes = [f"c{k}-a", f"c{k}-b"]
                async with client.app.state.runtime.sessionmaker() as s:
                    counts = await kept(s, classes)
                    assert counts == await recount(s, classes)
                    seen["rows after a promotion"] += sum(n for key, n in counts.items() if key[-1])
                    seen["corrected"] += h["corrected"]
                    # The figures read from them are those read from the newest rows themselves.
                    org = Org(code=school, name="", kind="school", path=f"/{PROVINCE}/410100/{COUNTY}/{T1}/{school}/")
                    newest = select(student_statuses).where(student_statuses.c.next_on.is_(None)).subquery()
                    by_rows = _steady(newest, org, YEAR, DAYS, lambda p, r, i: p.c[f"at_{i}"] > r.c.at,
                                      lambda r: literal(1))
                    assert sorted(map(tuple, (await s.execute(kept_query(org, YEAR, DAYS))).all())) == sorted(
                        map(tuple, (await s.execute(by_rows)).all()))

            loop.run_until_complete(example())

        check()
        assert seen["rows after a promotion"] and seen["corrected"], seen
    finally:
        loop.run_until_complete(service.__aexit__(None, None, None))
        loop.close()
