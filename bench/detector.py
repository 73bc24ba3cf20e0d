"""How long one pass of the 48-hour detector takes over 100,000 active students with a term of
roll calls, and what a roll call's recomputation (`sync_episodes`) costs once a student has a
term of marks.

    python -m bench.detector                       # PostgreSQL (127.0.0.1:5432), 100,000 students, 90 days
    python -m bench.detector --backend sqlite
    python -m bench.detector --students 20000 --days 30
    make bench BENCH_ARGS="--backend sqlite"

Data goes in in bulk (asyncpg COPY on PostgreSQL, executemany on SQLite), never over HTTP, into
a throw-away database migrated with the service's own Alembic history. Each student gets a mark
per school session (am, pm) of the term: mostly present, ~3 % absent, some late or on leave,
and 2 % stop coming in the last days (some past the threshold, some not). Episodes and their
due instants are computed with the same pure functions `sync_episodes` uses, then stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from attendance.adapters.tables import episodes, roster
from attendance.domain import clock as school_clock
from attendance.domain.calendar import Calendar
from attendance.domain.episodes import Mark, observed_at
from attendance.domain.episodes import episodes as compute_episodes
from attendance.domain.roll_calls import RollCall, RollCallMark
from attendance.settings import AttendanceSettings
from attendance.usecases import detector
from attendance.usecases import episodes as episode_sync
from attendance.usecases import roll_calls as roll_call_use
from shared.auth import Principal, Role
from shared.clock import FixedClock
from shared.db import make_engine, make_sessionmaker
from shared.migrations import upgrade
from shared.paths import encode
from shared.uow import UnitsOfWork

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("BAOXUE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
CLASS_SIZE, CLASSES_PER_SCHOOL = 40, 30
TERM_START = date(2026, 9, 7)  # a Monday
CHUNK_CLASSES = 50


def school_days(n: int, cal: Calendar) -> list[date]:
    days, day = [], TERM_START
    while len(days) < n:
        if cal.is_school_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def place(c: int) -> dict:
    school = f"41012210{c // CLASSES_PER_SCHOOL:04d}"
    return {"school_code": school, "class_id": f"class-{c:05d}", "grade": 7 + c % 3,
            "org_path": ["410000", "410100", "410122", "410122100", school]}


def statuses(rnd: random.Random, sessions: int, runaway: int) -> list[str]:
    out = []
    for i in range(sessions):
        if runaway and i >= sessions - runaway:
            out.append("absent")
            continue
        x = rnd.random()
        out.append("absent" if x < 0.03 else "late" if x < 0.04 else "leave" if x < 0.05 else "present")
    return out


class Loader:
    def __init__(self, url: str) -> None:
        self.url, self.pg = url, url.startswith("postgresql")

    async def __aenter__(self):
        if self.pg:
            import asyncpg
            self.conn = await asyncpg.connect(self.url.replace("postgresql+asyncpg", "postgresql"))
        else:
            import sqlite3
            self.conn = sqlite3.connect(self.url.split("///", 1)[1])
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        return self

    async def __aexit__(self, *exc):
        if self.pg:
            await self.conn.close()
        else:
            self.conn.commit()
            self.conn.close()

    async def rows(self, table: str, columns: list[str], records: list[tuple]) -> None:
        if self.pg:  # json columns travel as text
            records = [tuple(json.dumps(v) if isinstance(v, list) else v for v in r) for r in records]
            await self.conn.copy_records_to_table(table, records=records, columns=columns)
        else:
            def lite(v):
                if isinstance(v, datetime):  # the format SQLAlchemy's SQLite DateTime stores
                    return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                return json.dumps(v) if isinstance(v, list) else v
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                  [tuple(lite(v) for v in r) for r in records])


async def load(url: str, students: int, days: int, settings: AttendanceSettings, seed: int) -> dict:
    cal = Calendar(timezone=settings.timezone)
    term = school_days(days, cal)
    sessions = [(d, s) for d in term for s in ("am", "pm")]
    at = [cal.session_at(d, s) for d, s in sessions]
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    counts = {"marks": 0, "roll_calls": 0, "episodes": 0, "open": 0}
    classes = (students + CLASS_SIZE - 1) // CLASS_SIZE
    rc_id = 0
    async with Loader(url) as db:
        for first in range(0, classes, CHUNK_CLASSES):
            roster_rows, rc_rows, mark_rows, ep_rows = [], [], [], []
            for c in range(first, min(first + CHUNK_CLASSES, classes)):
                p = place(c)
                ids = [str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                       for _ in range(min(CLASS_SIZE, students - c * CLASS_SIZE))]
                roster_rows += [(sid, p["school_code"], p["class_id"], p["grade"], encode(p["org_path"]), [], True, "enrolled",
                                 now) for sid in ids]
                call_ids = []
                for (d, s), when in zip(sessions, at):
                    rc_id += 1
                    call_ids.append(rc_id)
                    rc_rows.append((rc_id, p["school_code"], p["class_id"], d, s, when, when + timedelta(minutes=10)))
                for sid in ids:
                    runaway = rnd.randint(1, 8) if rnd.random() < 0.02 else 0
                    marked = statuses(rnd, len(sessions), runaway)
                    mark_rows += [(rid, sid, when, st) for rid, when, st in zip(call_ids, at, marked)]
                    student_marks = [Mark(w, st) for w, st in zip(at, marked)]
                    for ep in compute_episodes(student_marks):
                        due = school_clock.due_at(ep.started_at, cal, settings.absence_counting,
                                                  settings.absence_threshold_hours)
                        seen = observed_at(ep, student_marks, [], due)
                        # An ended episode that was observed fired back then (past the window).
                        fired = seen + timedelta(hours=2) if seen is not None and ep.ended_at else None
                        ep_rows.append((str(uuid.uuid4()), sid, ep.started_at, ep.absent_sessions[-1],
                                        len(ep.absent_sessions), ep.ended_at, due,
                                        "returned" if ep.ended_at else None, seen, fired))
                        counts["open"] += ep.ended_at is None
            await db.rows("roster", ["student_id", "school_code", "class_id", "grade", "org_path", "org_chain",
                                     "active", "status", "updated_at"], roster_rows)
            await db.rows("roll_calls", ["id", "school_code", "class_id", "date", "session", "session_at",
                                         "received_at"], rc_rows)
            await db.rows("marks", ["roll_call_id", "student_id", "at", "status"], mark_rows)
            await db.rows("absence_episodes", ["id", "student_id", "started_at", "last_absent_at", "absent_sessions",
                                               "ended_at", "due_at", "end_reason", "observed_at",
                                               "threshold_fired_at"], ep_rows)
            counts["marks"] += len(mark_rows)
            counts["roll_calls"] += len(rc_rows)
            counts["episodes"] += len(ep_rows)
        if db.pg:
            await db.conn.execute("SELECT setval(pg_get_serial_sequence('roll_calls', 'id'), $1)", rc_id)
            await db.conn.execute("ANALYZE")
        else:
            db.conn.execute("ANALYZE")
    counts["term_days"] = len(term)
    counts["after_term"] = term[-1] + timedelta(days=1)
    return counts


async def measure(url: str, settings: AttendanceSettings, after: date) -> dict[str, float]:
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    cal = Calendar(timezone=settings.timezone)
    # The day after the last roll call, past the grace: every runaway whose clock reached 48 h is due.
    now = cal.session_at(after, "pm")
    clock = FixedClock(now)
    units = UnitsOfWork(sm, source="/baoxue/attendance", clock=clock)
    out: dict[str, float] = {}
    try:
        async with sm() as s:
            out["due_open_episodes"] = (await s.execute(select(func.count()).select_from(episodes).where(
                episodes.c.observed_at.is_not(None), episodes.c.threshold_fired_at.is_(None),
                episodes.c.observed_at <= now - timedelta(minutes=settings.absence_roll_call_grace_minutes)))).scalar()
        for label in ("first_pass", "second_pass"):
            t0 = time.perf_counter()
            async with units() as uow:
                out[f"{label}_fired"] = await detector.detect_overdue(uow, settings)
            out[f"{label}_s"] = time.perf_counter() - t0
        # One roll call's recomputation: a class of 40, each with a term of marks.
        async with sm() as s:
            class_id, school = (await s.execute(select(roster.c.class_id, roster.c.school_code).limit(1))).one()
            ids = (await s.execute(select(roster.c.student_id).where(roster.c.class_id == class_id))).scalars().all()
        for label in ("sync_cold_s", "sync_episodes_one_class_s"):  # the first compiles the statements
            t0 = time.perf_counter()
            async with units() as uow:
                await episode_sync.sync_episodes(uow, settings, list(ids))
                await uow.commit()
            out[label] = time.perf_counter() - t0
        caller = Principal("bench", Role.province_official, "410000")
        cmd = RollCall(school_code=school, class_id=class_id, date=after, session="am",
                       marks=tuple(RollCallMark(sid, "present") for sid in ids))
        t0 = time.perf_counter()
        async with units() as uow:
            await roll_call_use.record_roll_call(uow, settings, cmd, caller)
        out["roll_call_one_class_s"] = time.perf_counter() - t0
    finally:
        await engine.dispose()
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--students", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=90, help="school days of roll calls (a term is ~90)")
    ap.add_argument("--counting", choices=["school_hours", "wall_clock"], default="school_hours")
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    settings = AttendanceSettings(absence_counting=args.counting, environment="test")
    tmp = tempfile.TemporaryDirectory(prefix="baoxue-bench-")
    if args.backend == "sqlite":
        url, drop = f"sqlite+aiosqlite:///{tmp.name}/attendance.db", None
    else:
        import asyncpg
        name = f"baoxue_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url, drop = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}", name
    try:
        await asyncio.to_thread(upgrade, ROOT / "services" / "attendance", url)
        t0 = time.perf_counter()
        counts = await load(url, args.students, args.days, settings, args.seed)
        load_s = time.perf_counter() - t0
        figures = await measure(url, settings, counts["after_term"])
        print(f"backend {args.backend}, counting {args.counting}: {args.students:,} active students, "
              f"{counts['term_days']} school days x 2 sessions")
        print(f"  loaded {counts['marks']:,} marks, {counts['roll_calls']:,} roll calls, {counts['episodes']:,} "
              f"episodes ({counts['open']:,} open) in {load_s:.1f} s ({counts['marks'] / load_s:,.0f} marks/s)")
        print(f"  detector pass, first (fires {figures['first_pass_fired']:,} of {figures['due_open_episodes']:,} due):"
              f" {figures['first_pass_s'] * 1000:.1f} ms")
        print(f"  detector pass, steady state (fires {figures['second_pass_fired']}): "
              f"{figures['second_pass_s'] * 1000:.1f} ms")
        print(f"  sync_episodes for one class of {CLASS_SIZE} ({2 * counts['term_days']} marks each): "
              f"{figures['sync_episodes_one_class_s'] * 1000:.1f} ms (first call {figures['sync_cold_s'] * 1000:.1f} ms)")
        print(f"  one roll call for that class (recompute + chronic share, committed): "
              f"{figures['roll_call_one_class_s'] * 1000:.1f} ms")
    finally:
        if drop:
            import asyncpg
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
            await admin.close()
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
