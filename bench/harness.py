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


@dataclass
class BenchStack(Stack):
    """A stack with its broker and its PostgreSQL databases at hand (a bench counts their CPU)."""
    broker: Broker | None = None
    databases: list[str] = field(default_factory=list)


@asynccontextmanager
async def service_stack(backend: str, services: Sequence[str], **env: str) -> AsyncIterator[BenchStack]:
    """The embedded broker and the services as processes (as `make run` starts them), each on a
    fresh migrated database; not started yet, so a bench can bulk-load first. Torn down after."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        dbs = {svc: await database(backend, tmp, svc) for svc in services}
        broker = Broker(free_port(), tmp / "broker.log")
        broker.start()
        stack = BenchStack(tmp, broker.bootstrap, ports={svc: free_port() for svc in services},
                      database_urls={svc: url for svc, (url, _) in dbs.items()},
                      env={"BAOXUE_JWT_SECRET": SECRET, "BAOXUE_WRITES_PER_MINUTE": "10000000",
                           "BAOXUE_LOG_LEVEL": "WARNING", **env},
                           broker=broker, databases=[name for _, name in dbs.values() if name])
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


def machine_cpu_seconds() -> float:
    """CPU time every process on the machine has used since boot (all cores; /proc/stat's busy
    columns, idle and iowait left out)."""
    line = next((ln for ln in _read("/proc/stat").splitlines() if ln.startswith("cpu ")), "")
    cols = [int(x) for x in line.split()[1:]]
    busy = sum(cols[:8]) - sum(cols[3:5]) if len(cols) >= 8 else 0  # user nice system [idle iowait] irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(databases: Sequence[str]) -> dict[int, tuple[bool, float]]:
    """Each PostgreSQL process's CPU time so far, by pid: (is it a backend of one of these
    databases, seconds). A backend's title names its database (``postgres: 15/main: user db
    127.0.0.1(port) idle``), so no query is needed; the rest are the server's own processes
    (WAL writer, checkpointer) and other databases' backends."""
    found: dict[int, tuple[bool, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _read(f"/proc/{entry.name}/comm").strip() != "postgres":
            continue
        title = _read(f"/proc/{entry.name}/cmdline").replace("\0", " ").split()
        found[int(entry.name)] = (any(db in title for db in databases), cpu_seconds(int(entry.name)))
    return found


@dataclass
class CpuLedger:
    """Where a window's CPU went: the named processes, PostgreSQL (the bench's databases' backends
    and the rest of the server), and the whole machine, whose remainder is other load. A
    PostgreSQL process that ends inside the window takes its time with it (the services' pooled
    connections stay open); one that starts inside it counts from zero."""
    processes: Mapping[str, int]
    databases: Sequence[str]
    _before: dict[str, float] = field(default_factory=dict)
    _pg_before: dict[int, tuple[bool, float]] = field(default_factory=dict)

    def start(self) -> None:
        self._before = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        self._before["machine"] = machine_cpu_seconds()
        self._pg_before = postgres_cpu_seconds(self.databases)

    def stop(self) -> dict[str, float]:
        """CPU seconds since ``start`` by process, then ``PostgreSQL: bench databases``,
        ``PostgreSQL: rest of the server``, ``other load on the machine`` and ``machine``."""
        spent = {name: cpu_seconds(pid) - self._before[name] for name, pid in self.processes.items()}
        ours = rest = 0.0
        for pid, (bench_db, seconds) in postgres_cpu_seconds(self.databases).items():
            before = self._pg_before.get(pid, (bench_db, 0.0))[1]
            if bench_db:
                ours += seconds - before
            else:
                rest += seconds - before
        machine_s = machine_cpu_seconds() - self._before["machine"]
        spent["PostgreSQL: the bench's databases"] = ours
        spent["PostgreSQL: rest of the server"] = rest
        spent["other load on the machine"] = max(0.0, machine_s - sum(spent.values()))
        spent["machine (all cores)"] = machine_s
        return spent


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
