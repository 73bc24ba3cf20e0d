"""How long a school's 10,000-row spreadsheet takes to import, end to end over HTTP.

    python -m bench.registry_import [--rows 10000] [--backend sqlite|postgresql|both]

The registry app runs in-process behind an ASGI client (no network in the figure), on a fresh
database migrated for the run; the file is a CSV with Chinese headings, and every row is checked
and written with its outbox event, as in production. PostgreSQL is used when 127.0.0.1:5432
answers (user postgres, trust auth), with a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

from registry.bootstrap import create_app
from registry.domain.national_id import compose
from registry.settings import RegistrySettings
from shared.auth import mint
from shared.migrations import upgrade

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-only-signing-key-" + "x" * 32
ORGS = [("410000", "河南省", "province", None), ("410100", "郑州市", "city", "410000"),
        ("410122", "中牟县", "county", "410100"), ("410122100", "城关镇", "township", "410122"),
        ("4101221001", "城关镇第一初级中学", "school", "410122100")]


def sheet(rows: int, class_names: list[str]) -> bytes:
    lines = ["身份证号,姓名,性别,出生日期,班级,监护人,联系电话,关注类型"]
    for i in range(rows):
        born = date(2012, 9, 1) + timedelta(days=i // 500)
        nid = compose("410122", born, (i % 500) * 2 + 1)
        lines.append(f"{nid},学生{i},男,{born},{class_names[i % len(class_names)]},家长{i},138{i:08d},"
                     + ("留守儿童" if i % 7 == 0 else ""))
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


async def run(url: str, rows: int) -> dict[str, float]:
    await asyncio.to_thread(upgrade, ROOT / "services" / "registry", url)
    settings = RegistrySettings(database_url=url, kafka_bootstrap="127.0.0.1:1", jwt_secret=SECRET,
                                environment="test", writes_per_minute=100_000, request_timeout_s=600)
    app = create_app(settings)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # after create_app configured logging
    token = mint(SECRET, subject="bench", role="province_official", org="410000")
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
            for code, name, kind, parent in ORGS:
                (await client.post("/v1/orgs", json={"code": code, "name": name, "kind": kind,
                                                     "parent_code": parent})).raise_for_status()
            names = [f"七年级({n})班" for n in range(1, 21)]
            for name in names:
                (await client.post("/v1/schools/4101221001/classes", json={"grade": 7, "name": name})).raise_for_status()
            content = sheet(rows, names)
            started = time.perf_counter()
            r = await client.post("/v1/students/imports", data={"school_code": "4101221001"},
                                  files={"file": ("students.csv", content)})
            elapsed = time.perf_counter() - started
            r.raise_for_status()
            assert r.json()["imported"] == rows, r.text[:300]
            return {"seconds": elapsed, "rows_per_s": rows / elapsed, "mb": len(content) / 1e6}


async def postgres_url() -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=2)
    except (OSError, asyncpg.PostgresError):
        return None
    name = f"baoxue_bench_{uuid.uuid4().hex[:8]}"
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    # No broker in this figure: the relay's "unavailable" retries are expected, not news.
    os.environ.setdefault("BAOXUE_LOG_LEVEL", "ERROR")
    print(f"bulk import of {args.rows} rows over HTTP (registry in-process), {os.cpu_count()} CPUs")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            f = await run(f"sqlite+aiosqlite:///{tmp}/registry.db", args.rows)
            print(f"  sqlite      {f['seconds']:6.2f} s  {f['rows_per_s']:8.0f} rows/s  ({f['mb']:.1f} MB CSV)")
    if args.backend in ("postgresql", "both"):
        url = await postgres_url()
        if url is None:
            print("  postgresql  skipped: nothing answers on 127.0.0.1:5432")
        else:
            try:
                f = await run(url, args.rows)
                print(f"  postgresql  {f['seconds']:6.2f} s  {f['rows_per_s']:8.0f} rows/s  ({f['mb']:.1f} MB CSV)")
            finally:
                await drop(url)
    print(f"  peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
