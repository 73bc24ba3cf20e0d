"""Attendance ingest: roll calls over HTTP against the same rows inserted straight into the database.

    python -m bench.ingest [--students 100000] [--clients 16] [--replicas 1,2] [--backend postgresql|sqlite]

The attendance service runs as its own process (``python -m attendance serve``, as in production)
with the embedded broker, on a fresh database. Its roster (100,000 students in classes of 50) is
bulk-loaded, as the registry's events would have built it. Concurrent clients then post one roll
call per class (50 marks each) for one school day: a 2xx means the marks and their outbox rows are
committed. The ceiling is measured in the same run on the same machine: the same roll-call and mark
rows inserted straight into the database in batches of 50. Printed: marks per second both ways,
the ratio, each service's peak RSS (VmHWM), and where each burst's CPU went (each service, the
broker, the bench's own clients, PostgreSQL's backends of the bench's databases, the rest of the
server and the machine's other load, against the cores' capacity in the burst's wall time): is
the machine the limit, or attendance? ``--replicas 1,2`` runs the burst once per count
in the same run, side by side: first with one attendance process (the morning session), then with
that many on the same database (the afternoon session, as a deployment scales out), the clients
taking turns between them. The second burst finds the first's rows in the tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime
from datetime import time as dtime

from sqlalchemy import delete, insert, text

from attendance.adapters.tables import marks, roll_calls
from bench.harness import (
    DAY,
    CpuLedger,
    cpu_seconds,
    layout,
    load_roster,
    peak_rss_mib,
    report,
    service_stack,
    token,
)
from bench.keepalive import KeepAlive
from devtools.stack import SERVICES
from shared.db import make_engine, make_sessionmaker
from shared.sql import insert_many


def marks_of(sids: list[str], rng: random.Random) -> list[dict[str, str]]:
    # Mostly present; a few absent or late, as on a real morning.
    return [{"student_id": s, "status": rng.choices(["present", "absent", "late"], [94, 4, 2])[0]} for s in sids]


async def post_all(bases: list[str], classes, clients: int, session: str = "am") -> float:
    queue: asyncio.Queue = asyncio.Queue()
    rng = random.Random(7)
    # Bodies are encoded before the clock starts: the clients share the machine with the service,
    # and their JSON encoding is not the service's work.
    for school, cid, sids in classes:
        queue.put_nowait(json.dumps({"school_code": school, "class_id": cid, "date": DAY.isoformat(),
                                     "session": session, "marks": marks_of(sids, rng)}).encode())
    failures: list[str] = []

    async def client(base: str) -> None:
        # A bare keep-alive client (bench/keepalive.py): httpx's own CPU was the services'.
        async with KeepAlive(base, {"Authorization": f"Bearer {token()}",
                                    "Content-Type": "application/json"}) as http:
            while not queue.empty():
                body = queue.get_nowait()
                status, answer = await asyncio.wait_for(http.post("/v1/roll-calls", body), 120)
                if status >= 300:
                    failures.append(f"{status} {answer[:200].decode(errors='replace')}")

    started = time.perf_counter()
    await asyncio.gather(*(client(bases[i % len(bases)]) for i in range(clients)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} roll calls failed, e.g. {failures[0]}")
    return elapsed


async def ceiling(url: str, classes, runs: int = 3) -> list[float]:
    """The same rows straight into the tables, one transaction per roll call (its row, then its 50
    marks in one statement, as the service writes them), from empty tables. Seconds per run: a
    single connection is at the mercy of the machine's other load, so the bench takes the best."""
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    at = datetime.combine(DAY, dtime(0, 0), tzinfo=UTC)
    seconds = []
    for _ in range(runs):
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # no dead rows left behind for the next run
                await conn.execute(text("TRUNCATE marks, roll_calls"))
            else:
                await conn.execute(delete(marks))
                await conn.execute(delete(roll_calls))
        rng = random.Random(7)
        started = time.perf_counter()
        for school, cid, sids in classes:
            async with sessionmaker() as session, session.begin():
                rc = (await session.execute(insert(roll_calls).values(
                    school_code=school, class_id=cid, date=DAY, session="am", session_at=at,
                    received_at=datetime.now(UTC)).returning(roll_calls.c.id))).scalar_one()
                await insert_many(session, marks, [{"roll_call_id": rc, "student_id": m["student_id"], "at": at,
                                                    "status": m["status"]} for m in marks_of(sids, rng)])
        seconds.append(time.perf_counter() - started)
    await engine.dispose()
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--replicas", default="1",
                        help="attendance processes per burst, comma-separated: 1,2 runs two bursts (at most two)")
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    counts = [int(n) for n in args.replicas.split(",")]
    if len(counts) > 2 or min(counts) < 1:
        raise SystemExit("--replicas: one or two counts of at least 1 (a burst per school session)")
    classes = layout(args.students)
    total = sum(len(s) for _, _, s in classes)
    bursts: list[tuple[int, float, float]] = []  # (processes, seconds, attendance CPU ms per roll call)
    loads: list[float] = []  # the machine's 1-minute load average as each burst starts (shared cores)
    spent: list[dict[str, float]] = []  # each burst's CPU seconds by process (CpuLedger)
    # All four services run, as in production: the others consume what attendance publishes,
    # and each one's peak memory during the burst is a figure.
    async with service_stack(args.backend, SERVICES, BAOXUE_REQUEST_TIMEOUT_S="120") as stack:
        await load_roster(stack.database_url("attendance"), classes)
        for svc in SERVICES:
            stack.start(svc)
        replicas = ["attendance", *(stack.start_replica("attendance") for _ in range(max(counts) - 1))]
        stack.wait_ready([*SERVICES, *replicas[1:]])
        pids = {svc: proc.pid for svc, proc in stack.procs.items()}
        # Where the burst's CPU goes: is the machine the limit, or attendance?
        assert stack.broker is not None and stack.broker.proc is not None
        ledger = CpuLedger({**pids, "broker": stack.broker.proc.pid, "bench (its HTTP clients)": os.getpid()},
                           stack.databases)
        for count, session in zip(counts, ("am", "pm")):
            serving = replicas[:count]
            loads.append(os.getloadavg()[0])
            cpu_before = sum(cpu_seconds(pids[r]) for r in serving)
            ledger.start()
            http_s = await post_all([stack.url(r) for r in serving], classes, args.clients, session)
            spent.append(ledger.stop())
            bursts.append((count, http_s, (sum(cpu_seconds(pids[r]) for r in serving) - cpu_before) * 1000 / len(classes)))
        rss = {svc: peak_rss_mib(pid) for svc, pid in pids.items()}
        stack.stop()
        ceiling_load = os.getloadavg()[0]  # the ceiling shares the machine too: its load is a figure
        ceiling_runs = await ceiling(stack.database_url("attendance"), classes)
    direct_s = min(ceiling_runs)
    direct_rate = total / direct_s
    figures: dict[str, object] = {"roll calls per burst": len(classes), "concurrent clients": args.clients,
                                  "load average at each burst": ", ".join(f"{x:.1f}" for x in loads)}
    for (count, http_s, cpu_ms), cpu in zip(bursts, spent):
        n = f"{count} attendance process{'es' if count > 1 else ''}"
        figures.update({
            f"{n}: over HTTP, stored + outbox (s)": http_s, f"{n}: over HTTP (marks/s)": total / http_s,
            f"{n}: attendance CPU per roll call (ms)": cpu_ms,
            f"{n}: ratio to the ceiling": f"{total / http_s / direct_rate:.0%}",
            # CPU seconds in the burst's wall time, and the share of the machine's cores it had.
            f"{n}: burst CPU (s) by process": ", ".join(f"{name} {s:.2f}" for name, s in cpu.items()),
            f"{n}: burst CPU, machine's capacity (core-s)": (os.cpu_count() or 1) * http_s,
        })
    report(f"Attendance ingest: {total:,} students, roll calls of 50 over HTTP ({args.backend})", {
        **figures,
        "ceiling: same rows inserted directly in batches of 50, best of 3 (s)": direct_s,
        "ceiling runs (s)": ", ".join(f"{t:.2f}" for t in ceiling_runs), "ceiling (marks/s)": direct_rate,
        "load average as the ceiling starts": f"{ceiling_load:.1f}",
        **{f"peak RSS {svc} (MiB)": round(mib or 0) for svc, mib in rss.items()},
    })

if __name__ == "__main__":
    asyncio.run(main())
