"""`make run DEMO=1`: the demo county loads through the public APIs and opens exactly one case."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from devtools.demo import load_demo
from devtools.stack import SERVICES, Stack, free_port
from shared.envelope import TOPIC_ATTENDANCE
from tests.conftest import TEST_JWT_SECRET, Databases, bearer, token
from tests.factories import outbox_drained
from tests.kafka_helpers import eventually, group_has_consumed_everything

pytestmark = pytest.mark.e2e


@pytest.fixture
def sqlite_stack(broker, tmp_path):
    dbs = Databases("sqlite", tmp_path)
    s = Stack(var_dir=tmp_path / "var", kafka_bootstrap=broker.bootstrap, ports={svc: free_port() for svc in SERVICES},
              database_urls={svc: dbs.url(svc) for svc in SERVICES},
              env={"BAOXUE_DETECTOR_INTERVAL_S": "0.5", "BAOXUE_JWT_SECRET": TEST_JWT_SECRET,
                   "BAOXUE_WRITES_PER_MINUTE": "6000"})
    s.up()
    yield s
    s.stop()


def _detector_passes(metrics: str) -> float:
    found = re.search(r'^baoxue_job_runs_total\{[^}]*job="absence_detector"[^}]*outcome="ok"[^}]*\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


async def nothing_more_to_come(stack: Stack, client: httpx.AsyncClient) -> None:
    """No other absence can still open a case: the detector has run a whole pass since the demo
    was loaded, everything it fired has left attendance's outbox, and cases has been through
    everything on the attendance topic."""
    ops = bearer("ops", "410000")

    async def passes() -> float:
        return _detector_passes((await client.get(f"{stack.url('attendance')}/metrics", headers=ops)).text)

    seen = await passes()
    # One more could be a pass already under way; the second began after this point.
    await eventually(lambda: _at_least(passes, seen + 2), timeout=30)
    await outbox_drained(stack.database_url("attendance"))
    await eventually(lambda: group_has_consumed_everything(stack.kafka_bootstrap, "baoxue-cases", [TOPIC_ATTENDANCE]),
                     timeout=60)


async def _at_least(value, floor: float) -> bool:
    return await value() >= floor


async def test_demo_county_loads_and_its_one_48_hour_episode_opens_one_case(sqlite_stack: Stack):
    urls = {svc: sqlite_stack.url(svc) for svc in SERVICES}
    lines: list[str] = []
    summary = await asyncio.to_thread(lambda: load_demo(urls, lines.append, token=token()))
    assert summary["students"] >= 200 and summary["absent_hours"] >= 48
    assert any(line.startswith("roll calls") for line in lines)  # progress was shown

    async with httpx.AsyncClient(timeout=10, headers=bearer()) as client:
        async def one_case():
            page = (await client.get(f"{urls['cases']}/v1/cases")).json()
            return page if page["total"] else None

        page = await eventually(one_case, timeout=60)
        await nothing_more_to_come(sqlite_stack, client)
        page = (await client.get(f"{urls['cases']}/v1/cases")).json()
        assert page["total"] == 1 and page["items"][0]["student_id"] == summary["absent_student_id"]

        async def county_counts():
            s = (await client.get(f"{urls['reporting']}/v1/reports/summary",
                                  params={"org_code": summary["county_code"]})).json()
            return s if s.get("open_cases") == 1 and s.get("enrolled") == summary["students"] else None

        await eventually(county_counts, timeout=30)
