"""Builders shared by the test modules: test data through the public API (STYLE.md example 7),
events as the services publish them, stacks of service processes, and probes of a service's
database. A test module imports from here, never from another test module."""

from __future__ import annotations

import importlib
import itertools
import json
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from attendance.adapters.tables import episodes
from attendance.usecases.detector import detect_overdue
from attendance.usecases.episodes import sync_episodes
from devtools.stack import Stack, free_port
from registry.domain.national_id import compose
from shared.clock import FixedClock
from shared.envelope import Event, stable_id
from shared.messaging import inbox, outbox
from shared.routes import Routes
from shared.uow import UnitOfWork
from tests import reporting_fixture as fixture_county
from tests.conftest import TEST_JWT_SECRET, Databases, bearer, migrate, running, settings_for
from tests.contract.openapi_contract import Contract
from tests.kafka_helpers import eventually

_seq = itertools.count(11, 2)  # odd sequences: male
# The tidy tree every builder here places its school in: province, city, county, township, school.
PROVINCE, CITY, COUNTY, TOWNSHIP, SCHOOL = "410000", "410100", "410122", "410122100", "4101221001"


def ok(resp: httpx.Response, status: int = 200) -> dict:
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json()


def org_tree(*, county: str = "410122", township: str = "410122100", school: str = "4101221001") -> list[dict]:
    return [
        {"code": "410000", "name": "河南省", "kind": "province", "parent_code": None},
        {"code": "410100", "name": "郑州市", "kind": "city", "parent_code": "410000"},
        {"code": county, "name": "中牟县", "kind": "county", "parent_code": "410100"},
        {"code": township, "name": "城关镇", "kind": "township", "parent_code": county},
        {"code": school, "name": "城关镇第一初级中学", "kind": "school", "parent_code": township},
    ]


async def school_with_class(registry: httpx.AsyncClient, school: str = "4101221001", grade: int = 7) -> dict:
    for org in org_tree(school=school):
        r = await registry.post("/v1/orgs", json=org)
        assert r.status_code in (201, 409), r.text
    r = await registry.post(f"/v1/schools/{school}/classes", json={"grade": grade, "name": f"{grade}年级(1)班"})
    if r.status_code == 409:  # the class is there already: reuse it
        return next(c for c in (await registry.get(f"/v1/schools/{school}/classes")).json() if c["id"] == r.json()["class_id"])
    assert r.status_code == 201, r.text
    return r.json()


def student_body(klass: dict, *, born: date = date(2013, 4, 1), seq: int | None = None, **extra) -> dict:
    seq = next(_seq) if seq is None else seq
    return {"national_id": compose("410122", born, seq % 1000), "name": "王小明",
            "gender": "male" if seq % 2 else "female", "birth_date": born.isoformat(),
            "school_code": klass["school_code"], "class_id": klass["id"], **extra}


# --- service processes and their databases ----------------------------------------------

def stack_for(services, databases: Databases, broker, tmp_path: Path, **env: str) -> Stack:
    """Services as processes (as `make run` starts them), each with its own database."""
    return Stack(
        var_dir=tmp_path / "var", kafka_bootstrap=broker.bootstrap,
        ports={svc: free_port() for svc in services},
        database_urls={svc: databases.url(svc) for svc in services},
        # Roll calls here mark the last three calendar days absent, weekend or not: count wall-clock
        # hours and fire at once (the school-hours rule has its own tests).
        env={"BAOXUE_DETECTOR_INTERVAL_S": "0.5", "BAOXUE_OUTBOX_POLL_INTERVAL_S": "0.1",
             "BAOXUE_ABSENCE_COUNTING": "wall_clock", "BAOXUE_ABSENCE_ROLL_CALL_GRACE_MINUTES": "0",
             "BAOXUE_JWT_SECRET": TEST_JWT_SECRET, "BAOXUE_WRITES_PER_MINUTE": "100000",
             # Nobody checks these cases: their dual reports leave at a deadline of about a second.
             "BAOXUE_VERIFY_DEADLINE_HOURS": "0.0003", "BAOXUE_ESCALATION_INTERVAL_S": "0.5", **env},
    )


def start_migrated(stack: Stack, services=None) -> None:
    """``Stack.up`` but for ``python -m <service> migrate``: databases from ``Databases.url`` hold
    the schema already (tests/conftest.py, Templates). tests/e2e/test_demo.py still migrates as
    ``make run`` does."""
    services = list(services or stack.database_urls)
    stack.var_dir.mkdir(parents=True, exist_ok=True)
    for service in services:
        stack.start(service)
    stack.wait_ready(services)


async def outbox_drained(database_url: str, *, timeout: float = 30) -> None:
    """Wait until the service has sent everything in its outbox: the topics up to their high
    watermarks then hold all it will publish for what has happened so far."""
    db = Counter(database_url)
    try:
        async def drained() -> bool:
            return await db.rows(outbox, outbox.c.sent_at.is_(None)) == 0

        await eventually(drained, timeout=timeout)
    finally:
        await db.close()


class Counter:
    """Counts rows in a service's database from the test (effects, inbox, outbox)."""

    def __init__(self, url: str) -> None:
        self.engine = create_async_engine(url)

    async def rows(self, table, *where) -> int:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()

    async def close(self) -> None:
        await self.engine.dispose()


# --- cases: the events it consumes, and its handlers and routes in-process --------------------

CHAIN = [{"code": "410000", "kind": "province", "name": "河南省"}, {"code": "410100", "kind": "city", "name": "郑州市"},
         {"code": "410122", "kind": "county", "name": "中牟县"},
         {"code": "410122100", "kind": "township", "name": "城关镇"},
         {"code": "4101221001", "kind": "school", "name": "城关镇第一初级中学"}]

PATH = [o["code"] for o in CHAIN]


def enrolled(student_id: str) -> Event:
    return Event(type="baoxue.registry.student.enrolled", source="/baoxue/registry", subject=student_id, data={
        "student_id": student_id, "name": "王小明", "national_id_masked": "4101**********0113", "gender": "male",
        "birth_date": "2013-04-01", "school_code": PATH[-1], "class_id": "c1", "grade": 7, "org_path": PATH,
        "org_chain": CHAIN, "flags": ["left_behind"],
        "guardians": [{"name": "王大山", "relation": "father", "phone": "13800000000"}], "status": "enrolled"})


def threshold(student_id: str, started: str) -> Event:
    return Event(type="baoxue.attendance.absence.threshold_reached", source="/baoxue/attendance",
                 subject=student_id, id=stable_id("threshold", student_id, started), data={
                     "student_id": student_id, "episode_id": str(uuid.uuid4()), "episode_started_at": started,
                     "last_absent_at": started, "absent_sessions": 4, "hours": 50.0, "threshold_hours": 48,
                     "counting": "wall_clock", "school_code": PATH[-1], "class_id": "c1", "grade": 7,
                     "org_path": PATH, "org_chain": CHAIN})


T0 = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)

NO_BROKER = "127.0.0.1:1"


async def feed_cases(client, *events: Event) -> None:
    """Apply events with the service's consumer handlers, each in its own unit of work."""
    from cases.bootstrap import handlers_for
    from shared.routes import Routes

    runtime = client.app.state.runtime
    routes = Routes(handlers_for(runtime.settings))  # validated into the models, as the consumer does
    for event in events:
        async with runtime.uow() as uow:
            await routes.deliver(uow, event)
            await uow.commit()


async def open_case(client, *, enrol: bool = True, confirm: bool = False) -> tuple[str, str]:
    student = str(uuid.uuid4())
    await feed_cases(client, *([enrolled(student)] if enrol else []), threshold(student, T0.isoformat()))
    page = (await client.get("/v1/cases", params={"student_id": student})).json()
    if confirm:
        await confirm_case(client, page["items"][0]["id"])
    return student, page["items"][0]["id"]


async def confirm_case(client, case_id: str) -> dict:
    """Checked and confirmed a dropout: the moment the two dual reports go out."""
    assert (await move_case(client, case_id, "verifying")).status_code == 200
    r = await move_case(client, case_id, "confirmed", causes=["left_to_work"], cause_note="随父母外出务工")
    assert r.status_code == 200, r.text
    return r.json()


async def outbox_payloads(client, event_type: str) -> list[dict]:
    async with client.app.state.runtime.sessionmaker() as s:
        rows = (await s.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)
                                .order_by(outbox.c.id))).scalars().all()
    return [json.loads(r) for r in rows]


async def move_case(client, case_id: str, to: str, **body):
    return await client.post(f"/v1/cases/{case_id}/transitions", json={"to": to, **body})


async def add_plan_item(client, case_id: str, due_on: str = "2026-11-30", owner: str = "李老师"):
    r = await client.post(f"/v1/cases/{case_id}/plan-items", json={
        "kind": "persuasion", "description": "每周上门劝返", "owner": owner, "due_on": due_on})
    assert r.status_code == 201, r.text
    return r.json()


async def start_persuading(client, case_id: str, responsible: str = "李明") -> None:
    """A confirmed case into persuasion, with what that move asks first: a responsible person
    (劝返责任人) and an item of the plan."""
    r = await client.put(f"/v1/cases/{case_id}/responsibility", json={"responsible_person": {"name": responsible}})
    assert r.status_code == 200, r.text
    await add_plan_item(client, case_id)
    r = await move_case(client, case_id, "persuading")
    assert r.status_code == 200, r.text


# --- reporting: its projection handlers and figures in-process -------------------------------

async def feed_reporting(client, evs, *, in_runs: bool = False) -> None:
    """Apply events through reporting's real handlers: one transaction each, or (``in_runs``)
    each run of consecutive events of one type in one call and one transaction, as the consumer
    hands a fetched batch to a ``Batched`` handler."""
    from reporting.usecases.projections import HANDLERS

    routes = Routes(HANDLERS)
    runtime = client.app.state.runtime
    if not in_runs:
        for _topic, event in evs:
            async with runtime.uow() as uow:
                if await uow.claim(event):
                    await routes.deliver(uow, event)
                    await uow.commit()
        return
    runs: list[list[Event]] = []
    for _topic, event in evs:
        if runs and runs[-1][0].type == event.type:
            runs[-1].append(event)
        else:
            runs.append([event])
    for run in runs:
        async with runtime.uow() as uow:
            claimed = [routes.validate(e) for e in run if await uow.claim(e)]
            await routes.apply_run(uow, run[0].type, claimed)
            await uow.commit()


async def summary_of(client, org: str, day: str) -> dict:
    r = await client.get("/v1/reports/summary", params={"org_code": org, "date": day})
    assert r.status_code == 200, r.text
    return r.json()




async def inbox_rows(client) -> int:
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(inbox))).scalar_one()


async def caught_up(client, n: int) -> None:
    async def done():
        return await inbox_rows(client) >= n

    await eventually(done, timeout=90)


async def reporting_snapshot(client) -> dict:
    """Every figure the service answers for the fixture county."""
    county, township, school = fixture_county.COUNTY, fixture_county.T1, fixture_county.S1
    out = {}
    for org in (county, township, school):
        for day in ("2026-10-25", "2026-11-04", "2026-11-20"):
            out[f"summary {org} {day}"] = (await client.get("/v1/reports/summary", params={"org_code": org, "date": day})).json()
    for week in ("2026-W45", "2026-W47"):
        out[f"weekly {week}"] = (await client.get("/v1/reports/weekly", params={"org_code": county, "week": week})).json()
    for name in ("poor-households", "unable-to-study", "dropouts"):
        out[name] = (await client.get(f"/v1/ledgers/{name}", params={"org_code": county})).json()
    for by in ("dropout_rate", "time_to_first_visit", "time_to_return"):
        out[by] = (await client.get("/v1/reports/rankings", params={"org_code": county, "by": by, "date": "2026-11-20"})).json()
    out["circular"] = (await client.get("/v1/reports/circular", params={"org_code": county, "date": "2026-11-20"})).json()
    out["targets"] = (await client.get(f"/v1/targets/{school}")).json()
    return out


# --- attendance: a class under a fixed clock, its roll calls, leave and detector -------------

SCHOOL, CLASS = PATH[-1], "c-7-1"  # the school of every builder here, and its class

THRESHOLD = "baoxue.attendance.absence.threshold_reached"


RETURNED = "baoxue.attendance.student.returned"


BEIJING = timezone(timedelta(hours=8))


def local(d: int, hh: int = 0, mm: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, d, hh, mm, tzinfo=BEIJING)


def roster_enrolled(student: str, class_id: str = CLASS) -> Event:
    return Event(type="baoxue.registry.student.enrolled", source="/baoxue/registry", subject=student,
                 data={"student_id": student, "school_code": SCHOOL, "class_id": class_id, "grade": 7,
                       "org_path": PATH, "org_chain": [], "status": "enrolled"})


class School:
    """One class of a school: students on the roster, roll calls and the detector under a fixed clock."""

    def __init__(self, client, clock: FixedClock) -> None:
        self.client, self.clock = client, clock
        self.runtime = client.app.state.runtime

    def uow(self) -> UnitOfWork:
        return self.runtime.uow(clock=self.clock)

    async def deliver(self, uow: UnitOfWork, event: Event) -> None:
        """A registry event applied as the service's consumer applies it (validated into its model)."""
        await self.runtime.consumers[0].routes.deliver(uow, event)

    async def enroll(self, n: int = 1) -> list[str]:
        ids = [str(uuid.uuid4()) for _ in range(n)]
        async with self.uow() as uow:
            for sid in ids:
                await self.deliver(uow, roster_enrolled(sid))
            await uow.commit()
        return ids

    async def roll_call(self, day: int, session: str, marks: dict[str, str], month: int = 11) -> None:
        r = await self.client.post("/v1/roll-calls", json={
            "school_code": SCHOOL, "class_id": CLASS, "date": f"2026-{month:02d}-{day:02d}", "session": session,
            "marks": [{"student_id": s, "status": st} for s, st in marks.items()]})
        assert r.status_code == 200, r.text

    async def detect(self, at: datetime | None = None) -> int:
        if at is not None:
            self.clock.set(at.astimezone(UTC))
        async with self.uow() as uow:
            return await detect_overdue(uow, self.runtime.settings)

    async def absence(self, student: str) -> dict:
        return (await self.client.get(f"/v1/students/{student}/absence")).json()

    async def emitted(self, event_type: str) -> list[dict]:
        return await emitted_events(self.runtime.sessionmaker, event_type)


@asynccontextmanager
async def a_school(databases, clock: FixedClock, broker: str = "127.0.0.1:1", **settings):
    """The attendance service under the fixed clock; its own detector pass is an hour away."""
    async with running("attendance", databases.url("attendance"), broker, clock=clock, detector_interval_s=3600,
                       **settings) as client:
        yield School(client, clock)


async def emitted_events(sm, event_type: str) -> list[dict]:
    async with sm() as s:
        rows = (await s.execute(select(outbox.c.subject, outbox.c.event_id, outbox.c.payload)
                                .where(outbox.c.event_type == event_type))).all()
    return [{"subject": r.subject, "id": r.event_id, **json.loads(r.payload)} for r in rows]


FORTNIGHT = [9, 10, 11, 12, 13, 16, 17, 18, 19, 20]


def fortnight_register(a: str, b: str, c: str) -> dict[int, dict[str, str]]:
    """Each school day's marks (the same for both sessions)."""
    away = {a: {11, 12, 13}, b: {13}, c: {10, 11, 12}}
    return {day: {s: "absent" if day in days else "present" for s, days in away.items()} for day in FORTNIGHT}


async def enroll_on_roster(school: School, n: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    async with school.uow() as uow:
        for sid in ids:
            await school.deliver(uow, Event(
                type="baoxue.registry.student.enrolled", source="/baoxue/registry", subject=sid,
                data={"student_id": sid, "school_code": SCHOOL, "class_id": CLASS, "grade": 7, "org_path": PATH,
                      "org_chain": CHAIN, "status": "enrolled"}))
        await uow.commit()
    return ids


async def file_sick_leave(school: School, student: str) -> str:
    """C's sick note for Tuesday and Wednesday, filed; returns its id (approve it with `approve_leave`)."""
    r = await school.client.post("/v1/leaves", headers=bearer("head_teacher", SCHOOL, [CLASS]), json={
        "student_id": student, "start": local(10).isoformat(), "end": local(12).isoformat(), "reason": "病假"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def approve_leave(school: School, leave: str) -> None:
    r = await school.client.post(f"/v1/leaves/{leave}/approve", headers=bearer("school_staff", SCHOOL))
    assert r.status_code == 200, r.text


# --- requests whose answer is lost on the way --------------------------------------------

async def post_and_lose_the_answer(app, path: str, body: dict, headers: dict[str, str]) -> None:
    """The request reaches the service whole; the link drops before any byte of the answer."""
    raw = json.dumps(body).encode()
    all_headers = {**headers, "content-type": "application/json", "content-length": str(len(raw))}
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
             "client": ("10.0.0.9", 40000), "server": ("test", 80)}
    received = False

    async def receive():
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message):
        raise ConnectionResetError("the 2G link dropped")

    # Without an Idempotency-Key the route itself meets the dropped link, and the framework's
    # OSError handler finds the answer already started.
    with pytest.raises((ConnectionResetError, RuntimeError)):
        await app(scope, receive, send)


# --- the episodes as stored, against a recomputation ----------------------------------------

EPISODE = (episodes.c.id, episodes.c.student_id, episodes.c.started_at, episodes.c.last_absent_at,
           episodes.c.absent_sessions, episodes.c.ended_at, episodes.c.due_at, episodes.c.end_reason,
           episodes.c.threshold_fired_at)


async def _episode_rows(session, students: list[str]) -> list[tuple]:
    rows = (await session.execute(select(*EPISODE).where(episodes.c.student_id.in_(students))
                                  .order_by(episodes.c.student_id, episodes.c.started_at, episodes.c.id))).all()
    return [tuple(r) for r in rows]


async def matches_a_recompute_from_scratch(school, students: list[str]) -> bool:
    """Recompute every student in a transaction that is rolled back: nothing may change."""
    async with school.uow() as uow:
        stored = await _episode_rows(uow.session, students)
        await sync_episodes(uow, school.runtime.settings, students)
        recomputed = await _episode_rows(uow.session, students)
        announced = uow.pending_events  # the outbox rows commit() would write
        await uow.rollback()
    return stored == recomputed and not announced


# --- an app for fuzzing: no broker, a SQLite file, the contract as the oracle -----------------

PREFERRED_ROLES = ["province_official", "ops", "recipient"]


def app_for(service: str, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / (service + '.db')}"
    migrate(service, url)
    config = settings_for(service, database_url=url, kafka_bootstrap="127.0.0.1:1", environment="test",
                          jwt_secret=TEST_JWT_SECRET, writes_per_minute=1_000_000, log_level="WARNING")
    return importlib.import_module(f"{service}.bootstrap").create_app(config)


def problems_checker(contract: Contract) -> Callable[..., list[str]]:
    def problems_in(response, path: str) -> list[str]:
        """What is wrong with a response (empty: nothing)."""
        status = response.status_code
        # Not ready is /readyz's documented answer here (no broker), and a problem like any other.
        if status >= 500 and not (status == 503 and path == "/readyz"):
            return [f"server error {status}: {response.content[:300]!r}"]
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        # The path as sent (still percent-encoded), so a generated "/" inside a parameter stays one.
        sent = urlsplit(response.request.url).path
        return contract.check(response.request.method, sent, status, content_type, response.content)

    return problems_in
