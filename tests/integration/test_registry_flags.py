"""Risk flags that change (PATCH /v1/students/{id}/flags) with their history, and the services that
keep a copy following them through the real broker: reporting's poor-household ledger, the case."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.envelope import TOPIC_REGISTRY
from shared.messaging import outbox
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import eventually, read_events

FLAGS_CHANGED = "baoxue.registry.student.flags_changed"


async def _outbox(client) -> int:
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(outbox))).scalar_one()


async def test_flags_change_with_history_and_the_ledgers_follow(databases, broker):
    from cases.adapters.tables import students as cases_students

    async with running("registry", databases.url("registry"), broker.bootstrap) as registry, \
            running("reporting", databases.url("reporting"), broker.bootstrap) as reporting, \
            running("cases", databases.url("cases"), broker.bootstrap) as cases:
        klass = await school_with_class(registry, grade=7)
        student = (await registry.post("/v1/students", json=student_body(klass, flags=["left_behind"]))).json()
        url = f"/v1/students/{student['id']}/flags"

        r = await registry.patch(url, json={"add": ["poor_household"], "remove": ["left_behind"],
                                            "reason": "建档立卡 since 2026-10; parents back home",
                                            "effective_on": "2026-10-01"})
        assert r.status_code == 200, r.text
        assert r.json()["flags"] == ["poor_household"]

        async def poor_ledger():
            r = await reporting.get("/v1/ledgers/poor-households", params={"org_code": "410122"})
            if r.status_code == 404:  # the county has not reached the read model yet
                return None
            assert r.status_code == 200, r.text
            return [i["student_id"] for i in r.json()["items"]]

        assert await eventually(lambda: _equal(poor_ledger, [student["id"]]), timeout=30)

        # The same change again is no change: no history row, no event.
        before = await _outbox(registry)
        again = await registry.patch(url, json={"add": ["poor_household"], "reason": "retry"})
        assert again.status_code == 200 and again.json()["flags"] == ["poor_household"]
        assert await _outbox(registry) == before

        r = await registry.patch(url, json={"remove": ["poor_household"], "reason": "脱贫, off the 2027 list"})
        assert r.status_code == 200 and r.json()["flags"] == []
        assert await eventually(lambda: _equal(poor_ledger, []), timeout=30)

        async def cases_flags():
            async with cases.app.state.runtime.sessionmaker() as session:
                return (await session.execute(select(cases_students.c.flags).where(
                    cases_students.c.student_id == student["id"]))).scalar_one_or_none()
        assert await eventually(lambda: _equal(cases_flags, []), timeout=30)  # was ["left_behind"] at enrolment

        history = (await registry.get(f"/v1/students/{student['id']}/flag-changes")).json()
        assert [(h["flag"], h["action"], h["source"]) for h in history] == [
            ("poor_household", "added", "manual"), ("left_behind", "removed", "manual"),
            ("poor_household", "removed", "manual")]
        assert history[0]["effective_on"] == "2026-10-01" and history[0]["actor"] == "test-province_official"

        events = await read_events(broker.bootstrap, TOPIC_REGISTRY,
                                   until=lambda evs: sum(e.type == FLAGS_CHANGED for e in evs) >= 2, timeout=20)
        changed = [e for e in events if e.type == FLAGS_CHANGED]
        assert [(e.data["added"], e.data["removed"]) for e in changed] == [
            (["poor_household"], ["left_behind"]), ([], ["poor_household"])]
        assert changed[0].kafka_key.decode() == student["id"] and changed[0].data["org_path"][-1] == klass["school_code"]


async def _equal(read, expected) -> bool:
    return await read() == expected


async def test_flag_changes_are_checked_and_scoped(databases):
    async with running("registry", databases.url("registry"), "127.0.0.1:1") as registry:
        klass = await school_with_class(registry, grade=7)
        student = (await registry.post("/v1/students", json=student_body(klass))).json()
        url = f"/v1/students/{student['id']}/flags"
        r = await registry.patch(url, json={"add": ["disabled"]})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/reason", r.text
        r = await registry.patch(url, json={"add": ["disabled"], "remove": ["disabled"], "reason": "x"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/remove", r.text
        r = await registry.patch(url, json={"add": ["rich"], "reason": "x"})
        assert r.status_code == 422
        r = await registry.patch(url, json={"add": ["disabled"], "reason": "x", "effective_on": "2999-01-01"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/effective_on", r.text
        other = bearer("county_official", "410199")
        assert (await registry.patch(url, json={"add": ["disabled"], "reason": "x"}, headers=other)).status_code == 404
        teacher = bearer("head_teacher", klass["school_code"], classes=[klass["id"]])
        assert (await registry.patch(url, json={"add": ["disabled"], "reason": "x"}, headers=teacher)).status_code == 403
        assert (await registry.get(f"/v1/students/{student['id']}/flag-changes")).json() == []
