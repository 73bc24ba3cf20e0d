"""Latency from detection to a case, and from the decision to report to both dual reports.

    python -m bench.latency [--episodes 1000] [--backend postgresql|sqlite]

Attendance and cases run as their own processes with the embedded broker, each on a fresh
database. Attendance's roster is bulk-loaded; roll calls over HTTP mark every student absent for
the three days before the bench day, so one detector pass fires every episode at once (the worst
burst: a whole county's absences found together). A consumer reading the attendance, cases and
reports topics live measures two legs per episode:

- detection: from ``threshold_reached`` (its ce_time, the detector's clock) to the arrival of the
  student's ``case.opened`` on the cases topic;
- reporting: from the decision that issues the reports (``issued_at`` in ``dual_report.issued``:
  the confirmation or the deadline sweep's clock) to the arrival of the second report on the
  reports topic.

Printed: p50/p90/p99/max of each over the episodes, and each service process's peak RSS.

The reports leave when a school confirms the case or at the verification deadline; nobody
confirms here, so the deadline is set to about a millisecond and the sweep runs every 0.2 s: the
sweep's own wait (up to its interval) comes before its decision and is not in the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx
from aiokafka import AIOKafkaConsumer

from bench.harness import cpu_seconds, layout, load_roster, peak_rss_mib, percentile, report, service_stack, token
from shared.envelope import TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REPORTS, from_record

FIRED = "baoxue.attendance.absence.threshold_reached"
OPENED = "baoxue.cases.case.opened"
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


@dataclass
class Seen:
    """Per student: when the episode fired, when its case.opened arrived, when the reports were
    decided (issued_at) and when each report arrived (first arrival of each ce_id)."""

    fired: dict[str, float] = field(default_factory=dict)
    arrived: dict[str, float] = field(default_factory=dict)
    opened: dict[str, float] = field(default_factory=dict)
    decided: dict[str, float] = field(default_factory=dict)
    reports: dict[str, dict[str, float]] = field(default_factory=dict)

    def legs(self) -> tuple[list[float], list[float]]:
        detection = [self.opened[s] - t for s, t in self.fired.items() if s in self.opened]
        reporting = [sorted(v.values())[1] - self.decided[s] for s, v in self.reports.items() if len(v) >= 2]
        return detection, reporting


async def watch(bootstrap: str, expected: int, timeout: float, seen: Seen) -> None:
    consumer = AIOKafkaConsumer(TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REPORTS, bootstrap_servers=bootstrap,
                                group_id=None, auto_offset_reset="earliest", metadata_max_age_ms=1000)
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batch.values():
                for r in records:
                    event = from_record(r.value, r.headers)
                    if event.type == FIRED:
                        seen.fired.setdefault(event.subject, event.time.timestamp())
                        seen.arrived.setdefault(event.subject, now)
                    elif event.type == OPENED:
                        seen.opened.setdefault(event.subject, now)
                    elif event.type == ISSUED:  # a re-sent record keeps its first arrival
                        seen.decided.setdefault(event.subject, datetime.fromisoformat(event.data["issued_at"]).timestamp())
                        seen.reports.setdefault(event.subject, {}).setdefault(event.id, now)
            if sum(len(v) >= 2 for v in seen.reports.values()) >= expected:
                break
    finally:
        await consumer.stop()


def figures(name: str, samples: list[float]) -> dict[str, float]:
    return {f"{name} p50 (s)": percentile(samples, 50), f"{name} p90 (s)": percentile(samples, 90),
            f"{name} p99 (s)": percentile(samples, 99), f"{name} max (s)": max(samples)}


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
        pids = {svc: proc.pid for svc, proc in stack.procs.items()}
        seen = Seen()
        watcher = asyncio.create_task(watch(stack.kafka_bootstrap, args.episodes, 600, seen))
        started = time.perf_counter()
        await mark_absent(stack.url("attendance"), classes, days)
        loaded = time.perf_counter() - started
        await watcher
        rss = {svc: peak_rss_mib(pid) for svc, pid in pids.items()}
        cpu = {svc: cpu_seconds(pid) for svc, pid in pids.items()}
    detection, reporting = seen.legs()
    if len(detection) < len(seen.fired) or len(reporting) < len(seen.fired) or not seen.fired:
        raise SystemExit(f"of {len(seen.fired)} episodes fired, {len(detection)} opened a case and {len(reporting)} "
                         "had both reports within the timeout")
    report(f"Detection to a case, and decision to both dual reports: {len(seen.fired):,} episodes ({args.backend})", {
        "episodes fired in one detector pass": len(seen.fired), "roll calls posted (s)": loaded,
        **figures("threshold_reached → case.opened", detection),
        "of which threshold_reached reaching its topic, p99 (s)": percentile(
            [seen.arrived[s] - t for s, t in seen.fired.items()], 99),
        **figures("decision → both dual_report.issued", reporting),
        **{f"peak RSS {svc} (MiB)": round(mib or 0) for svc, mib in rss.items()},
        # The work done, steadier than the wall clock on a shared machine.
        **{f"CPU {svc} from start to the last report (s)": seconds for svc, seconds in cpu.items()},
        "load average (1, 5, 15 min)": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    })

if __name__ == "__main__":
    asyncio.run(main())
