"""End-to-end latency from the detector firing to both dual reports on the county topic.

    python -m bench.latency [--episodes 1000] [--backend postgresql|sqlite]

Attendance and cases run as their own processes with the embedded broker, each on a fresh
database. Attendance's roster is bulk-loaded; roll calls over HTTP mark every student absent for
the three days before the bench day, so one detector pass fires every episode at once (the worst
burst: a whole county's absences found together). A consumer reading the attendance and reports
topics live notes, per student, when ``threshold_reached`` was fired (its ce_time, the detector's
clock) and when the second ``dual_report.issued`` arrived. Printed: p50/p90/p99/max over the
episodes, and the wall time until the last report.

The reports leave when a school confirms the case or at the verification deadline; nobody
confirms here, so the deadline is set to about a millisecond and the sweep runs every 0.2 s: the
figure is the pipeline (detector, case, deadline sweep, relay), not a school's decision time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date, timedelta

import httpx
from aiokafka import AIOKafkaConsumer

from bench.harness import layout, load_roster, percentile, report, service_stack, token
from shared.envelope import TOPIC_ATTENDANCE, TOPIC_REPORTS, from_record

FIRED = "baoxue.attendance.absence.threshold_reached"
ISSUED = "baoxue.cases.dual_report.issued"


async def mark_absent(base: str, classes, days: list[date]) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token()}"}, timeout=120) as http:
        for day in days:
            for session in ("am", "pm"):
                for school, cid, sids in classes:
                    r = await http.post("/v1/roll-calls", json={
                        "school_code": school, "class_id": cid, "date": day.isoformat(), "session": session,
                        "marks": [{"student_id": s, "status": "absent"} for s in sids]})
                    r.raise_for_status()


async def watch(bootstrap: str, expected: int, timeout: float) -> tuple[dict[str, float], dict[str, list[float]]]:
    """ce_time of each threshold_reached, and the arrival times of each student's reports."""
    consumer = AIOKafkaConsumer(TOPIC_ATTENDANCE, TOPIC_REPORTS, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", metadata_max_age_ms=1000)
    await consumer.start()
    fired: dict[str, float] = {}
    reports: dict[str, dict[str, float]] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batch.values():
                for r in records:
                    event = from_record(r.value, r.headers)
                    if event.type == FIRED:
                        fired.setdefault(event.subject, event.time.timestamp())
                    elif event.type == ISSUED:  # a re-sent record keeps its first arrival
                        reports.setdefault(event.subject, {}).setdefault(event.id, now)
            if sum(len(v) >= 2 for v in reports.values()) >= expected:
                break
    finally:
        await consumer.stop()
    return fired, {s: sorted(v.values()) for s, v in reports.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    classes = layout(args.episodes)
    today = date.today()
    days = [today - timedelta(days=n) for n in (3, 2, 1)]
    # The detector held back while the roll calls go in, so it fires them together.
    async with service_stack(args.backend, ["attendance", "cases"], BAOXUE_ABSENCE_COUNTING="wall_clock",
                             BAOXUE_DETECTOR_INTERVAL_S="15", BAOXUE_VERIFY_DEADLINE_HOURS="0.0000003",
                             BAOXUE_ESCALATION_INTERVAL_S="0.2") as stack:
        await load_roster(stack.database_url("attendance"), classes)
        for service in ("attendance", "cases"):
            stack.start(service)
        stack.wait_ready(["attendance", "cases"])
        watcher = asyncio.create_task(watch(stack.kafka_bootstrap, args.episodes, timeout=600))
        started = time.perf_counter()
        await mark_absent(stack.url("attendance"), classes, days)
        loaded = time.perf_counter() - started
        fired, reports = await watcher
    latencies = [reports[s][1] - t for s, t in fired.items() if len(reports.get(s, [])) >= 2]
    missing = len(fired) - len(latencies)
    if missing or not latencies:
        raise SystemExit(f"{missing} of {len(fired)} episodes fired without both reports within the timeout")
    report(f"Detector firing to both dual reports on {TOPIC_REPORTS}: {len(fired):,} episodes ({args.backend})", {
        "episodes fired in one detector pass": len(fired), "roll calls posted (s)": loaded,
        "p50 (s)": percentile(latencies, 50), "p90 (s)": percentile(latencies, 90),
        "p99 (s)": percentile(latencies, 99), "max (s)": max(latencies),
    })

if __name__ == "__main__":
    asyncio.run(main())
