"""What every benchmark needs, written once: the machine it ran on, rates and percentiles, a
process's peak memory, a section appended to bench/RESULTS.md with the command that produced
it; and the fixtures several share (a throwaway database, a bulk-loaded attendance roster, a
token). Benchmarks print their figures; they are never timed tests."""

from __future__ import annotations

import math
import os
import platform
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert

from attendance.adapters.tables import roster
from devtools.stack import Broker, Stack, free_port
from shared.auth import mint
from shared.db import make_engine

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-only-signing-key-" + "x" * 32
DAY = date(2026, 11, 16)  # a Monday in the past: roll calls for future dates are refused
PATH = ["410000", "410100", "410122", "410122100"]
CHAIN = [{"code": c, "kind": k, "name": k} for c, k in zip(PATH, ("province", "city", "county", "township"))]


def layout(students: int) -> list[tuple[str, str, list[str]]]:
    """(school_code, class_id, student ids): schools of 20 classes of 50."""
    classes = []
    for c in range(students // 50):
        school = f"4101221{c // 20:03d}"
        classes.append((school, str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(50)]))
    return classes


async def load_roster(url: str, classes) -> None:
    engine = make_engine(url)
    rows = [{"student_id": sid, "school_code": school, "class_id": cid, "grade": 7,
             "org_path": [*PATH, school], "org_chain": [*CHAIN, {"code": school, "kind": "school", "name": "s"}],
             "active": True, "status": "enrolled"} for school, cid, sids in classes for sid in sids]
    async with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            await conn.execute(insert(roster), rows[i:i + 5000])
    await engine.dispose()


def token(role: str = "province_official", org: str = "410000") -> str:
    return mint(SECRET, subject="bench", role=role, org=org)


async def database(backend: str, tmp: Path, service: str = "attendance") -> tuple[str, str | None]:
    """(URL, PostgreSQL database name to drop afterwards, or None for an SQLite file)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / (service + '.db')}", None
    import asyncpg

    name = f"baoxue_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", name


@asynccontextmanager
async def service_stack(backend: str, services: Sequence[str], **env: str) -> AsyncIterator[Stack]:
    """The embedded broker and the services as processes (as `make run` starts them), each on a
    fresh migrated database; not started yet, so a bench can bulk-load first. Torn down after."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        dbs = {svc: await database(backend, tmp, svc) for svc in services}
        broker = Broker(free_port(), tmp / "broker.log")
        broker.start()
        stack = Stack(tmp, broker.bootstrap, ports={svc: free_port() for svc in services},
                      database_urls={svc: url for svc, (url, _) in dbs.items()},
                      env={"BAOXUE_JWT_SECRET": SECRET, "BAOXUE_WRITES_PER_MINUTE": "10000000",
                           "BAOXUE_LOG_LEVEL": "WARNING", **env})
        try:
            for svc in services:
                stack.migrate(svc)
            yield stack
        finally:
            stack.stop()
            broker.stop()
            for _, name in dbs.values():
                if name:
                    await drop(name)


async def drop(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def machine() -> dict[str, str]:
    """The hardware and software a figure belongs to (a figure without it means nothing)."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0-100) of the samples."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM) so far, in MiB; None if it is gone."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far. Steadier than a rate when the
    machine is shared: other load stretches the wall clock, not the work done per request."""
    fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if len(fields) > 12 else 0.0


@dataclass
class Stopwatch:
    started: float = field(default_factory=time.perf_counter)
    stopped: float | None = None

    @property
    def seconds(self) -> float:
        return (self.stopped or time.perf_counter()) - self.started

    def rate(self, count: int) -> float:
        return count / self.seconds if self.seconds else float("inf")


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    watch = Stopwatch()
    try:
        yield watch
    finally:
        watch.stopped = time.perf_counter()


def report(title: str, figures: Mapping[str, object], *, results: Path | None = RESULTS,
           command: str | None = None) -> str:
    """Print the figures, and append them with the machine and the command to RESULTS.md."""
    command = command or _command_line()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()
    lines = [f"## {title}", "", f"`{command}` — {when}", "",
             f"Machine: {host['cpu']}, {host['cores']} cores, {host['memory']}, {host['os']}, Python {host['python']}",
             "", "| figure | value |", "| --- | --- |",
             *(f"| {name} | {_fmt(value)} |" for name, value in figures.items()), ""]
    text = "\n".join(lines)
    print(text, flush=True)
    if results is not None:
        header = "" if results.exists() else "# Benchmark results\n\nAppended by the commands in bench/; newest last.\n\n"
        with results.open("a", encoding="utf-8") as out:
            out.write(header + text + "\n")
    return text


def _command_line() -> str:
    """How this run was started, as one would type it: ``python -m bench.ingest --replicas 2``
    (run with -m, sys.argv[0] is the module's file path)."""
    script, *args = sys.argv
    path = Path(script)
    start = ["python", "-m", f"bench.{path.stem}"] if path.parent == RESULTS.parent else ["python", script]
    return " ".join(shlex.quote(a) for a in [*start, *args])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
