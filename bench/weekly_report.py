"""How long a county's weekly report takes over 100,000 students with a term of history.

    python -m bench.weekly_report [--students 100000] [--counties 1] [--backend sqlite|postgresql|both]

The read model is bulk-inserted (not fed over HTTP or the broker): one county (or, with
``--counties N``, a city of N counties sharing the students, whose report is then the city's)
of 20 townships, 10 schools each, 50-child classes across grades 1-9, every child enrolled on 2026-09-01; during
the term 2 % drop out (half of them return), 1 % transfer out (most confirmed elsewhere), 0.5 %
are suspended; 3 % have a 48-hour episode and a case with two dual reports and home visits; 0.2 %
transfers are overdue. Then the reporting app (in-process, ASGI, no network in the figure)
answers the county's (or city's) weekly report as JSON and XLSX, its summary, and its rankings
by dropout rate (of its townships; a city's of its counties) and its circular.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, text

from bench.harness import SECRET, database, drop
from bench.registry_import import ROOT
from reporting.adapters.tables import (
    absence_episodes,
    cases,
    dual_reports,
    home_visits,
    orgs,
    overdue_transfers,
    student_statuses,
    students,
)
from reporting.bootstrap import create_app
from reporting.settings import ReportingSettings
from reporting.usecases.projections import link_history
from reporting.usecases.rolls import recount_all
from shared.auth import mint
from shared.db import make_engine
from shared.migrations import upgrade

COUNTY_PATH = ["410000", "410100", "410122"]
CITY = "410100"
TERM = date(2026, 9, 1)
WEEK = "2026-W47"
CHUNK = 5_000


def at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def county_paths(counties: int) -> list[list[str]]:
    """The counties' paths: 410122 first, then its neighbours in the same city."""
    return [[*COUNTY_PATH[:2], str(int(COUNTY_PATH[2]) + k)] for k in range(counties)]


def model(n_students: int, seed: int = 6, counties: int = 1) -> dict:
    """Rows for every table of the read model, deterministic for a seed."""
    rnd = random.Random(seed)
    rows: dict = {t: [] for t in ("orgs", "students", "history", "cases", "visits", "episodes", "reports", "overdue")}
    for i, (code, kind) in enumerate(zip(COUNTY_PATH[:2], ("province", "city"))):
        rows["orgs"].append({"code": code, "name": code, "kind": kind, "path": "/" + "/".join(COUNTY_PATH[:i + 1]) + "/"})
    schools = []
    for county_path in county_paths(counties):
        county = county_path[-1]
        rows["orgs"].append({"code": county, "name": county, "kind": "county", "path": "/" + "/".join(county_path) + "/"})
        for t in range(20):
            township = f"{county}{t + 1:03d}"
            rows["orgs"].append({"code": township, "name": f"乡镇{t + 1}", "kind": "township",
                                 "path": "/" + "/".join([*county_path, township]) + "/"})
            for s in range(10):
                school = f"{township}{s + 1:02d}"
                path = "/" + "/".join([*county_path, township, school]) + "/"
                rows["orgs"].append({"code": school, "name": f"学校{school}", "kind": "school", "path": path})
                schools.append((school, path))
    term_days = (date(2026, 11, 20) - TERM).days
    for i in range(n_students):
        school, path = schools[i % len(schools)]
        grade = 1 + (i // len(schools)) % 9
        class_id = f"{school}-{grade}-{(i // (len(schools) * 9)) % 2}"
        level = "primary" if grade <= 6 else "junior"
        sid = f"s{i:07d}"
        placement = {"path": path, "class_id": class_id, "grade": grade, "level": level}
        status, since = "enrolled", TERM
        rows["history"].append({"student_id": sid, "effective_on": TERM, "at": at(TERM), "status": "enrolled",
                                "reason": None, **placement})
        roll = rnd.random()
        if roll < 0.02 + 0.01 + 0.005:
            day = TERM + timedelta(days=rnd.randrange(term_days))
            if roll < 0.02:
                status, reason = "dropped_out", "外出务工"
                case_id = f"c{i:07d}"
                opened = at(day - timedelta(days=2), 8)
                first = opened + timedelta(hours=rnd.randrange(4, 96))
                rows["episodes"].append({"episode_id": f"e{i}", "student_id": sid, "path": path, "level": level,
                                         "started_at": opened - timedelta(hours=50), "reached_at": opened})
                back = rnd.random() < 0.5 and day + timedelta(days=14) < date(2026, 11, 20)
                rows["cases"].append({"case_id": case_id, "student_id": sid, "path": path, "level": level,
                                      "class_id": class_id, "status": "closed" if back else "reported",
                                      "opened_at": opened, "first_visit_at": first,
                                      "returned_at": at(day + timedelta(days=14)) if back else None,
                                      "closed_at": at(day + timedelta(days=14), 6) if back else None,
                                      "outcome": "returned" if back else None})
                rows["visits"] += [{"visit_id": f"v{i}-{k}", "case_id": case_id,
                                    "visited_at": first + timedelta(days=3 * k)} for k in range(3)]
                rows["reports"] += [{"report_id": f"r{i}-{r}", "case_id": case_id, "recipient": r, "issued_at": opened,
                                     "acknowledged_at": opened + timedelta(hours=5) if rnd.random() < 0.8 else None}
                                    for r in ("government", "education")]
                rows["history"].append({"student_id": sid, "effective_on": day, "at": at(day), "status": status,
                                        "reason": reason, **placement})
                if back:
                    status, since = "enrolled", day + timedelta(days=14)
                    rows["history"].append({"student_id": sid, "effective_on": since, "at": at(since),
                                            "status": status, "reason": None, **placement})
                else:
                    since = day
            elif roll < 0.03:
                status, since = "transferred_out", day
                rows["history"].append({"student_id": sid, "effective_on": day, "at": at(day), "status": status,
                                        "reason": "随迁", **placement})
                if rnd.random() < 0.8:
                    other, other_path = schools[(i + 37) % len(schools)]
                    placement = {**placement, "path": other_path, "class_id": f"{other}-{grade}-0"}
                    path, status, since = other_path, "transferred_in", day + timedelta(days=2)
                    rows["history"].append({"student_id": sid, "effective_on": since, "at": at(since),
                                            "status": status, "reason": None, **placement})
                elif rnd.random() < 0.5:
                    rows["overdue"].append({"transfer_id": f"t{i}", "student_id": sid, "path": path, "level": level,
                                            "requested_on": day, "flagged_at": at(day + timedelta(days=30))})
            else:
                status, since = "suspended", day
                rows["history"].append({"student_id": sid, "effective_on": day, "at": at(day), "status": status,
                                        "reason": "病休", **placement})
        rows["students"].append({"student_id": sid, "status": status, "school_code": placement["path"].split("/")[-2],
                                 "name": f"学生{i}", "national_id_masked": "4101**********0113", "gender": "male",
                                 "birth_date": date(2012, 1, 1), "flags": "/poor_household/" if i % 20 == 0 else "/",
                                 "status_reason": None, "status_since": since, "enrolled_on": TERM, **placement})
    return rows


async def load(url: str, rows: dict) -> float:
    tables = {"orgs": orgs, "students": students, "history": student_statuses, "cases": cases,
              "visits": home_visits, "episodes": absence_episodes, "reports": dual_reports,
              "overdue": overdue_transfers}
    engine = make_engine(url)
    started = time.perf_counter()
    async with engine.begin() as conn:
        for name, table in tables.items():
            for i in range(0, len(rows[name]), CHUNK):
                await conn.execute(insert(table), rows[name][i:i + CHUNK])
        # The links the projection keeps on each status row as it writes it (one child at a
        # time), for the whole history at once, as the migration that added them does.
        await conn.execute(link_history())
        for statement in recount_all():  # and the roll counts it keeps per class
            await conn.execute(statement)
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load: without statistics the planner
        # takes 100,000 rows for a handful and joins them by index lookups, one child at a time.
        async with engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("ANALYZE"))
    await engine.dispose()
    return time.perf_counter() - started


async def run(url: str, n_students: int, counties: int = 1) -> dict[str, float]:
    await asyncio.to_thread(upgrade, ROOT / "services" / "reporting", url)
    rows = model(n_students, counties=counties)
    loaded = await load(url, rows)
    settings = ReportingSettings(database_url=url, kafka_bootstrap="127.0.0.1:1", jwt_secret=SECRET,
                                 environment="test", request_timeout_s=600)
    app = create_app(settings)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # after create_app configured logging
    org, role = (COUNTY_PATH[2], "county_official") if counties == 1 else (CITY, "city_official")
    unit = "township" if counties == 1 else "county"
    token = mint(SECRET, subject="bench", role=role, org=org)
    figures = {"load_s": loaded, "history_rows": len(rows["history"]), "cases": len(rows["cases"])}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reporting",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
            for label, path, params in (
                    ("weekly_json_s", "/v1/reports/weekly", {"org_code": org, "week": WEEK}),
                    ("weekly_xlsx_s", "/v1/reports/weekly", {"org_code": org, "week": WEEK, "format": "xlsx"}),
                    ("summary_s", "/v1/reports/summary", {"org_code": org, "date": "2026-11-20"}),
                    # A city ranks and names its counties, a county its townships (issue 22 part 3).
                    ("rankings_s", "/v1/reports/rankings", {"org_code": org, "date": "2026-11-20", "unit": unit}),
                    ("circular_s", "/v1/reports/circular", {"org_code": org, "date": "2026-11-20"})):
                started, cpu = time.perf_counter(), time.process_time()
                r = await client.get(path, params=params)
                figures[label] = time.perf_counter() - started
                # This process's CPU (Python, and decoding the rows): on a loaded machine the wall
                # time is mostly waiting for a core, this is not.
                figures[label.replace("_s", "_cpu_s")] = time.process_time() - cpu
                r.raise_for_status()
                if label == "weekly_json_s":
                    total = r.json()["totals"]["current"]
                    figures["on_roll"], figures["schools"] = total["on_roll"], len(r.json()["schools"])
    return figures


def show(backend: str, f: dict[str, float]) -> None:
    print(f"  {backend:<11} weekly JSON {f['weekly_json_s']:6.2f} s  XLSX {f['weekly_xlsx_s']:6.2f} s  "
          f"summary {f['summary_s']:5.2f} s  rankings {f['rankings_s']:5.2f} s  circular {f['circular_s']:5.2f} s  "
          f"(bulk load {f['load_s']:.1f} s; {f['on_roll']} on roll, "
          f"{f['schools']} schools, {f['history_rows']} status rows, {f['cases']} cases)")
    print("  " + " " * 11 + " of which this process's CPU: " + "  ".join(
        f"{k.removesuffix('_cpu_s')} {v:.2f} s" for k, v in f.items() if k.endswith("_cpu_s")))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--counties", type=int, default=1, help="more than one: a city of that many counties")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    os.environ.setdefault("BAOXUE_LOG_LEVEL", "ERROR")
    unit = "county" if args.counties == 1 else f"city ({args.counties} counties)"
    print(f"{unit} weekly report {WEEK} over {args.students} students with a term of history, {os.cpu_count()} CPUs")
    async for backend, url in databases(args.backend):
        if url is None:
            print(f"  {backend:<11} skipped: nothing answers on 127.0.0.1:5432")
        else:
            show(backend, await run(url, args.students, args.counties))


async def databases(choice: str):
    """(backend, url) of a throwaway database per backend asked for; url None if unreachable."""
    if choice in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            yield "sqlite", f"sqlite+aiosqlite:///{tmp}/reporting.db"
    if choice in ("postgresql", "both"):
        try:
            url, name = await database("postgresql", Path(tempfile.gettempdir()), "reporting")
        except OSError:  # nothing answers on 127.0.0.1:5432
            url, name = None, None
        try:
            yield "postgresql", url
        finally:
            if name is not None:
                await drop(name)

if __name__ == "__main__":
    asyncio.run(main())
