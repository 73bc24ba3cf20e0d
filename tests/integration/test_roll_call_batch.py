"""Offline batches from a teaching point's tablet, over HTTP on SQLite and PostgreSQL: mixed
valid and invalid items, a batch replayed after a dropped connection, two devices on one
class-session, and every send kept as a revision."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from attendance.adapters.tables import marks, roll_call_revisions, roll_calls
from shared.clock import FixedClock
from shared.messaging import outbox
from tests.conftest import bearer
from tests.factories import CLASS, SCHOOL, a_school, local, post_and_lose_the_answer

HEAD = bearer("head_teacher", SCHOOL, classes=[CLASS])


def item(day: int, session: str, statuses: dict[str, str], *, recorded: str | None = None, **extra) -> dict:
    return {"client_id": str(uuid.uuid4()), "school_code": SCHOOL, "class_id": CLASS,
            "date": f"2026-11-{day:02d}", "session": session,
            "recorded_at": recorded or f"2026-11-{day:02d}T00:10:00Z",
            "marks": [{"student_id": s, "status": st} for s, st in statuses.items()], **extra}


async def rows(client, table) -> int:
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(table))).scalar_one()


async def test_a_batch_stores_the_valid_items_and_rejects_the_others_each_with_its_pointer(databases):
    async with a_school(databases, FixedClock(local(23, 9))) as school:
        client = school.client
        a, b = await school.enroll(2)
        batch = [
            item(16, "am", {a: "present", b: "absent"}),
            item(16, "pm", {a: "present", b: "sick"}),                  # not a status
            item(17, "am", {a: "present", "no-such-child": "absent"}),  # a child not in the class
            {**item(17, "pm", {a: "present"}), "class_id": "c-elsewhere"},  # a class nobody sees
            item(30, "am", {a: "present"}),                            # in the future
            item(18, "am", {a: "absent", b: "absent"}),
        ]
        r = await client.post("/v1/roll-calls/batch", json={"roll_calls": batch}, headers=HEAD)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["result"] for x in results] == ["created", "rejected", "rejected", "rejected", "rejected", "created"]
        assert results[1]["problem"]["status"] == 422
        assert results[1]["problem"]["errors"][0]["pointer"] == "/roll_calls/1/marks/1/status"
        assert results[2]["problem"]["errors"][0]["pointer"] == "/roll_calls/2/marks/1/student_id"
        assert results[3]["problem"]["status"] == 404 and results[3]["problem"]["type"] == "/problems/not-found"
        assert results[4]["problem"]["errors"][0]["pointer"] == "/roll_calls/4/date"
        assert [x["client_id"] for x in results] == [x["client_id"] for x in batch]
        assert await rows(client, roll_calls) == 2 and await rows(client, marks) == 4
        # The stored items count for the 48-hour rule like any roll call.
        assert (await school.absence(b))["since"] == "2026-11-16T00:00:00Z"
        # Too many at once: the whole batch is refused, naming the list.
        many = await client.post("/v1/roll-calls/batch", headers=HEAD, json={
            "roll_calls": [item(16, "am", {a: "present"}) for _ in range(school.runtime.settings.roll_call_batch_max + 1)]})
        assert many.status_code == 422 and many.json()["errors"][0]["pointer"] == "/roll_calls"


async def test_a_batch_sent_again_after_the_link_dropped_writes_nothing_twice(databases):
    async with a_school(databases, FixedClock(local(23, 9))) as school:
        client = school.client
        a, b = await school.enroll(2)
        batch = [item(day, session, {a: "present", b: "absent"}) for day in (16, 17, 18) for session in ("am", "pm")]
        # The tablet sends the week; the 2G link drops before the answer arrives.
        await post_and_lose_the_answer(client.app, "/v1/roll-calls/batch", {"roll_calls": batch}, HEAD)
        events = await rows(client, outbox)
        # It sends the same batch again (no Idempotency-Key): every item is found unchanged.
        again = await client.post("/v1/roll-calls/batch", json={"roll_calls": batch}, headers=HEAD)
        assert [x["result"] for x in again.json()["results"]] == ["unchanged"] * 6
        assert await rows(client, roll_calls) == 6 and await rows(client, marks) == 12
        assert await rows(client, roll_call_revisions) == 0  # nothing was replaced
        assert await rows(client, outbox) == events
        # With an Idempotency-Key the retry is the first answer itself.
        key = {"Idempotency-Key": str(uuid.uuid4()), **HEAD}
        more = [item(19, "am", {a: "present", b: "absent"})]
        await post_and_lose_the_answer(client.app, "/v1/roll-calls/batch", {"roll_calls": more}, key)
        replay = await client.post("/v1/roll-calls/batch", json={"roll_calls": more}, headers=key)
        assert replay.headers["idempotent-replayed"] == "true" and replay.json()["results"][0]["result"] == "created"
        assert await rows(client, roll_calls) == 7 and await rows(client, roll_call_revisions) == 0
        # A client_id sent again with other marks is refused: a new send needs a new id.
        changed = {**batch[0], "marks": [{"student_id": a, "status": "late"}]}
        r = await client.post("/v1/roll-calls/batch", json={"roll_calls": [changed]}, headers=HEAD)
        assert r.json()["results"][0]["problem"]["errors"][0]["pointer"] == "/roll_calls/0/client_id"


async def test_two_devices_on_one_session_the_last_received_wins_and_every_send_is_kept(databases):
    clock = FixedClock(local(16, 9))
    async with a_school(databases, clock) as school:
        client = school.client
        a, b = await school.enroll(2)
        # The teacher's tablet took the roll at 08:10 but syncs late; the office's paper entry
        # arrives first. The device clocks say the opposite of the order of receipt.
        office = bearer("school_staff", SCHOOL)
        first = item(16, "am", {a: "absent", b: "absent"}, recorded="2026-11-16T03:00:00Z")
        r = await client.post("/v1/roll-calls/batch", json={"roll_calls": [first]}, headers=office)
        assert r.json()["results"][0]["result"] == "created"
        clock.advance(hours=2)
        second = item(16, "am", {a: "present", b: "absent"}, recorded="2026-11-16T00:10:00Z")
        r = await client.post("/v1/roll-calls/batch", json={"roll_calls": [second]}, headers=HEAD)
        assert r.json()["results"][0]["result"] == "replaced"
        page = (await client.get(f"/v1/classes/{CLASS}/roll-calls", headers=HEAD)).json()
        (call,) = page["items"]
        assert {m["student_id"]: m["status"] for m in call["marks"]} == {a: "present", b: "absent"}
        assert [(v["sender"], v["device_recorded_at"], v["received_at"], v["result"], v["client_id"])
                for v in call["revisions"]] == [
            ("test-school_staff", "2026-11-16T03:00:00Z", "2026-11-16T01:00:00Z", "created", first["client_id"]),
            ("test-head_teacher", "2026-11-16T00:10:00Z", "2026-11-16T03:00:00Z", "replaced", second["client_id"])]
        # Device time never moves a deadline: a is seen, b's episode starts at the session.
        assert (await school.absence(a))["since"] is None
        assert (await school.absence(b))["since"] == "2026-11-16T00:00:00Z"
        # A single POST is a revision too (without a client_id).
        r = await client.post("/v1/roll-calls", headers=HEAD, json={k: v for k, v in second.items() if k != "client_id"})
        assert r.status_code == 200 and r.json()["replaced"] is True
        revisions = (await client.get(f"/v1/classes/{CLASS}/roll-calls", headers=HEAD)).json()["items"][0]["revisions"]
        assert [v["client_id"] for v in revisions][-1] is None and len(revisions) == 3
        def by_child(marks_):
            return sorted(marks_, key=lambda m: m["student_id"])
        assert by_child(revisions[0]["marks"]) == by_child(first["marks"])


async def test_a_fortnight_synced_in_batches_with_detector_passes_between_raises_what_the_data_supports(databases):
    """Issue 13's fortnight (tests/integration/test_late_register.py) sent by a tablet as
    batches of random sizes in a shuffled order, the detector passing after every batch: the
    alarms are those of the complete data, A alone, once."""
    import random

    from tests.factories import (
        FORTNIGHT,
        THRESHOLD,
        approve_leave,
        enroll_on_roster,
        file_sick_leave,
        fortnight_register,
    )

    rng = random.Random(25)
    async with a_school(databases, FixedClock(local(23, 18))) as school:
        a, b, c = await enroll_on_roster(school, 3)
        await approve_leave(school, await file_sick_leave(school, c))
        register_ = fortnight_register(a, b, c)
        items = [item(day, session, register_[day]) for day in FORTNIGHT for session in ("am", "pm")]
        rng.shuffle(items)
        while items:
            size = rng.randint(1, 6)
            batch, items = items[:size], items[size:]
            r = await school.client.post("/v1/roll-calls/batch", json={"roll_calls": batch}, headers=HEAD)
            assert {x["result"] for x in r.json()["results"]} == {"created"}, r.text
            await school.detect()
        assert [e["subject"] for e in await school.emitted(THRESHOLD)] == [a]
        for student in (b, c):
            assert (await school.absence(student))["threshold_reached"] is False
