"""How long a county's monthly report per class takes over 100,000 students with a term of history.

    python -m bench.monthly_report [--students 100000] [--backend postgresql|sqlite|both] [--no-append]

The read model is the weekly benchmark's (bench/weekly_report.py, bulk-inserted: one county of 20
townships, 200 schools, classes across grades 1-9, 2 % dropouts, 1 % transfers, 3 % cases with home
visits), then ANALYZEd. The reporting app (in-process, ASGI, no network in the figure) answers the county's
November report as JSON (the first request, then the best of three) and as XLSX, and freezes a
monthly submission (the report recomputed, canonical JSON, SHA-256, one INSERT). The target is
under 1 s for the JSON on PostgreSQL (issue 23).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time

import httpx
from sqlalchemy import text

from bench.harness import SECRET, report
from bench.registry_import import ROOT
from bench.weekly_report import databases, load, model
from reporting.bootstrap import create_app
from reporting.settings import ReportingSettings
from shared.auth import mint
from shared.db import make_engine
from shared.migrations import upgrade

MONTH = "2026-11"
COUNTY = "410122"


async def run(url: str, n_students: int) -> dict[str, float | int]:
    await asyncio.to_thread(upgrade, ROOT / "services" / "reporting", url)
    rows = model(n_students)
    loaded = await load(url, rows)
    # Planner statistics, as autovacuum (or SQLite's optimize) would have them a minute after a
    # real bulk import; without them PostgreSQL probes the history once per child.
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    settings = ReportingSettings(database_url=url, kafka_bootstrap="127.0.0.1:1", jwt_secret=SECRET,
                                 environment="test", request_timeout_s=600)
    app = create_app(settings)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # after create_app configured logging
    token = mint(SECRET, subject="bench", role="county_official", org=COUNTY)
    figures: dict[str, float | int] = {"bulk load (s)": loaded, "status rows": len(rows["history"])}
    params = {"org_code": COUNTY, "month": MONTH}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reporting",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
            async def timed(method: str, path: str, **kw) -> tuple[float, httpx.Response]:
                started = time.perf_counter()
                r = await client.request(method, path, **kw)
                took = time.perf_counter() - started
                r.raise_for_status()
                return took, r

            first, r = await timed("GET", "/v1/reports/monthly", params=params)
            body = r.json()
            figures["classes"], figures["on the roll at the month's end"] = (
                body["totals"]["classes"], body["totals"]["enrolled_at_end"])
            figures["monthly JSON, first (s)"] = first
            figures["monthly JSON, best of 3 (s)"] = min([(await timed("GET", "/v1/reports/monthly", params=params))[0]
                                                          for _ in range(3)])
            figures["monthly XLSX (s)"] = (await timed("GET", "/v1/reports/monthly", params={**params, "format": "xlsx"}))[0]
            figures["monthly submission (s)"] = (await timed("POST", f"/v1/reports/monthly/{COUNTY}/{MONTH}/submissions"))[0]
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="postgresql")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    os.environ.setdefault("BAOXUE_LOG_LEVEL", "ERROR")
    async for backend, url in databases(args.backend):
        if url is None:
            print(f"{backend}: skipped, nothing answers on 127.0.0.1:5432")
            continue
        figures = await run(url, args.students)
        report(f"County monthly report {MONTH} per class over {args.students:,} students ({backend})", figures,
               results=None if args.no_append else ROOT / "bench" / "RESULTS.md")


if __name__ == "__main__":
    asyncio.run(main())
