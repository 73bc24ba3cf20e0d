"""How long the cases ledger and the escalation sweep take over many cases. One command:

    .venv/bin/python -m bench.cases_ledger [--cases 2000] [--database-url postgresql+asyncpg://...]

Seeds the cases through the service's own consumer handlers (student.enrolled, then
threshold_reached: a case and two dual reports each, plus a plan item on every third), then times over the real ASGI app: the first
ledger page (JSON), a 500-row CSV and XLSX export, and one escalation pass over every report.
Prints the figures; asserts nothing (speed goals live here, never in timed tests).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.clock import FixedClock
from tests.conftest import running
from tests.integration.test_cases_replay import enrolled, threshold

T0 = datetime(2026, 11, 16, tzinfo=UTC)


async def _seed(client, n: int) -> None:
    from cases.bootstrap import handlers_for
    from shared.routes import Routes

    runtime = client.app.state.runtime
    routes = Routes(handlers_for(runtime.settings))  # validated into the models, as the consumer does
    for start in range(0, n, 200):
        async with runtime.uow() as uow:
            for _ in range(start, min(start + 200, n)):
                student = str(uuid.uuid4())
                await routes.deliver(uow, enrolled(student))
                await routes.deliver(uow, threshold(student, T0.isoformat()))
            await uow.commit()
    page = (await client.get("/v1/cases", params={"limit": 500})).json()
    for case in page["items"][::3]:
        await client.post(f"/v1/cases/{case['id']}/plan-items", json={
            "kind": "care", "description": "每周电话", "owner": "李老师", "due_on": "2026-11-17"})


async def _time(label: str, call, repeat: int = 5) -> None:
    took = []
    for _ in range(repeat):
        t = time.perf_counter()
        resp = await call()
        took.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200, resp.text
    print(f"  {label:<40} median {statistics.median(took):8.1f} ms   ({len(resp.content):,} bytes)")


async def main(cases: int, database_url: str | None) -> None:
    clock = FixedClock(T0)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'cases.db'}"
        async with running("cases", url, "127.0.0.1:1", clock=clock, escalation_interval_s=3600) as client:
            t = time.perf_counter()
            await _seed(client, cases)
            print(f"{url.split(':')[0]}: {cases} cases seeded in {time.perf_counter() - t:.1f} s")
            clock.set(T0 + timedelta(days=2))
            await _time("ledger, first page of 50 (JSON)", lambda: client.get("/v1/cases/ledger"))
            await _time("ledger, 500 rows as CSV", lambda: client.get(
                "/v1/cases/ledger", params={"format": "csv", "limit": 500}))
            await _time("ledger, 500 rows as XLSX", lambda: client.get(
                "/v1/cases/ledger", params={"format": "xlsx", "limit": 500}))
            await _time("ledger, filtered by flag and township", lambda: client.get(
                "/v1/cases/ledger", params={"flag": "left_behind", "org_code": "410122100"}))
            from cases.usecases.dual_reports import escalate_overdue

            runtime = client.app.state.runtime
            t = time.perf_counter()
            async with runtime.uow() as uow:
                escalated = await escalate_overdue(uow, timedelta(hours=24))
            print(f"  {'escalation pass':<40} {escalated} reports in {(time.perf_counter() - t) * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.database_url))
