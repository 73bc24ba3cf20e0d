"""What the benchmarks share: a throwaway database, a bulk-loaded roster, tokens, peak RSS."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import insert

from attendance.adapters.tables import roster
from shared.auth import mint
from shared.db import make_engine

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


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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


async def drop(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


