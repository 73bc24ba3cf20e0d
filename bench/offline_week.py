"""A school's offline week: 30 classes x 10 sessions x 45 pupils sent as roll-call batches.

    python -m bench.offline_week [--classes 30] [--pupils 45] [--clients 4] [--backend postgresql|sqlite]

The attendance service runs as its own process (``python -m attendance serve``) with the embedded
broker, on a fresh database with the school's roster bulk-loaded. Each class's tablet sends its
week (Monday to Friday, morning and afternoon: 10 roll calls) as one ``POST /v1/roll-calls/batch``
with an ``Idempotency-Key``, a few tablets at once. Then the link "drops" and every tablet sends
its batch again without the key: every item must come back ``unchanged``. Printed: the time of
each pass, items per second, and the service's peak RSS (VmHWM). The whole school's week as one
batch (300 items, about 0.9 MB) is timed too, on a second school.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import timedelta

import httpx

from bench.harness import DAY, PATH, load_roster, peak_rss_mib, report, service_stack, token

SESSIONS = [(DAY + timedelta(days=d), s) for d in range(5) for s in ("am", "pm")]


def school(code: str, classes: int, pupils: int) -> list[tuple[str, str, list[str]]]:
    return [(code, str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(pupils)]) for _ in range(classes)]


def week_of(school_code: str, class_id: str, sids: list[str], rng: random.Random) -> list[dict]:
    return [{"client_id": str(uuid.uuid4()), "school_code": school_code, "class_id": class_id,
             "date": day.isoformat(), "session": session, "recorded_at": f"{day.isoformat()}T00:05:00Z",
             "marks": [{"student_id": s, "status": rng.choices(["present", "absent", "late"], [94, 4, 2])[0]}
                       for s in sids]} for day, session in SESSIONS]


async def send(base: str, bodies: list[bytes], clients: int, *, keyed: bool, expect: str) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    failures: list[str] = []

    async def tablet() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=300, headers={
                "Authorization": f"Bearer {token()}", "Content-Type": "application/json"}) as http:
            while not queue.empty():
                body = queue.get_nowait()
                headers = {"Idempotency-Key": str(uuid.uuid4())} if keyed else {}
                r = await http.post("/v1/roll-calls/batch", content=body, headers=headers)
                results = r.json().get("results", []) if r.status_code == 200 else []
                if r.status_code != 200 or any(x["result"] not in expect.split("|") for x in results):
                    failures.append(f"{r.status_code} {r.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(tablet() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} batches failed, e.g. {failures[0]}")
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=30)
    parser.add_argument("--pupils", type=int, default=45)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    rng = random.Random(25)
    teaching_point = school(PATH[-1] + "001", args.classes, args.pupils)
    whole = school(PATH[-1] + "002", args.classes, args.pupils)
    per_class = [json.dumps({"roll_calls": week_of(s, c, sids, rng)}).encode() for s, c, sids in teaching_point]
    one_batch = json.dumps({"roll_calls": [i for s, c, sids in whole for i in week_of(s, c, sids, rng)]}).encode()
    items = args.classes * len(SESSIONS)
    async with service_stack(args.backend, ["attendance"], BAOXUE_REQUEST_TIMEOUT_S="300") as stack:
        await load_roster(stack.database_url("attendance"), teaching_point + whole)
        stack.start("attendance")
        stack.wait_ready(["attendance"])
        base = stack.url("attendance")
        first_s = await send(base, per_class, args.clients, keyed=True, expect="created")
        again_s = await send(base, per_class, args.clients, keyed=False, expect="unchanged")
        whole_s = await send(base, [one_batch], 1, keyed=True, expect="created")
        rss = peak_rss_mib(stack.procs["attendance"].pid)
        stack.stop()
    report(f"A school's offline week as roll-call batches: {args.classes} classes x {len(SESSIONS)} sessions "
           f"x {args.pupils} pupils ({args.backend})", {
               "batches (one per class, 10 roll calls each)": len(per_class), "tablets at once": args.clients,
               "roll calls": items, "marks": items * args.pupils,
               "first send, with Idempotency-Key (s)": first_s, "first send (roll calls/s)": items / first_s,
               "sent again after a dropped link, all unchanged (s)": again_s,
               f"the whole week as one batch of {items} ({len(one_batch) / 1e6:.2f} MB) (s)": whole_s,
               "peak RSS attendance (MiB)": round(rss or 0),
           })


if __name__ == "__main__":
    asyncio.run(main())
