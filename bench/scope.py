"""A township official's first page of students, cases and audit entries at province scale.

    python -m bench.scope [--students 1000000] [--requests 200]

On PostgreSQL (127.0.0.1:5432, throwaway databases): a province of 4 cities, 20 counties, 200
townships and 1,000 schools of 20 classes of 50 (1,000,000 students at the default), one case
for every tenth child and one audit row per child, all generated in SQL (INSERT ... SELECT
generate_series). Then, over the real registry and cases apps in-process (ASGI, no network in the
figure), a township official asks for the first page of ``GET /v1/students``, ``GET /v1/cases``
and the registry's ``GET /v1/audit``: p50 and p99 of the whole request (authentication, the
scope filter, the page and its total count). The plans of the statements one request runs are
appended with ``EXPLAIN (ANALYZE, BUFFERS)``: the scope is a prefix range on an index
(shared/paths.py), where the old ``LIKE '%/<code>/%'`` scanned the table.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text

from bench.harness import RESULTS, SECRET, database, drop, percentile, report, token
from shared.db import make_engine
from shared.migrations import upgrade

ROOT = Path(__file__).resolve().parents[1]
CITIES, COUNTIES, TOWNSHIPS, SCHOOLS, CLASSES = 4, 5, 10, 5, 20  # each per the level above
TOWNSHIP = "410101101"  # the first township: city 4101, county 410101


def _org_sql() -> list[str]:
    """The org tree, level by level (each row's parent exists first), codes and paths in SQL."""
    city = "'41' || lpad(c::text, 2, '0') || '00'"
    county = "'41' || lpad(c::text, 2, '0') || lpad(k::text, 2, '0')"
    township = f"{county} || '1' || lpad(t::text, 2, '0')"
    school = f"{township} || s::text"
    series = {"c": CITIES, "k": COUNTIES, "t": TOWNSHIPS, "s": SCHOOLS}

    def level(code: str, kind: str, parent: str, path: str, names: str) -> str:
        gens = ", ".join(f"generate_series(1, {series[v]}) {v}" for v in names)
        system = "'6+3'" if kind == "school" else "NULL"
        return (f"INSERT INTO orgs (code, name, kind, parent_code, path, system) SELECT {code}, '{kind} ' || {code}, "
                f"'{kind}', {parent}, {path}, {system} FROM {gens}")

    return [
        "INSERT INTO orgs (code, name, kind, parent_code, path) VALUES ('410000', '河南省', 'province', NULL, '/410000/')",
        level(city, "city", "'410000'", f"'/410000/' || {city} || '/'", "c"),
        level(county, "county", city, f"'/410000/' || {city} || '/' || {county} || '/'", "ck"),
        level(township, "township", county, f"'/410000/' || {city} || '/' || {county} || '/' || {township} || '/'", "ckt"),
        level(school, "school", township,
              f"'/410000/' || {city} || '/' || {county} || '/' || {township} || '/' || {school} || '/'", "ckts"),
    ]


def _school_paths() -> list[tuple[str, str]]:
    out = []
    for c in range(1, CITIES + 1):
        for k in range(1, COUNTIES + 1):
            for t in range(1, TOWNSHIPS + 1):
                for s in range(1, SCHOOLS + 1):
                    city, county = f"41{c:02d}00", f"41{c:02d}{k:02d}"
                    township = f"{county}1{t:02d}"
                    school = f"{township}{s}"
                    out.append((school, f"/410000/{city}/{county}/{township}/{school}/"))
    return out


async def load_registry(url: str, per_class: int) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        for sql in _org_sql():
            await conn.execute(text(sql))
        await conn.execute(text(
            f"INSERT INTO classes (id, school_code, grade, name, school_year) "
            f"SELECT md5(o.code || '-' || j)::uuid::text, o.code, 1 + j % 9, j || '班', 2026 "
            f"FROM orgs o, generate_series(0, {CLASSES - 1}) j WHERE o.kind = 'school'"))
        await conn.execute(text(
            f"INSERT INTO students (id, student_number, national_id, no_id_reason, name, name_key, gender, birth_date, "
            f"school_code, class_id, status, enrolled_on, guardians, created_at, updated_at) "
            f"SELECT md5(cl.id || '-' || g)::uuid::text, 'L' || substr(md5(cl.id || g), 1, 12), NULL, 'bench', "
            f"'学生' || g, '学生' || g, CASE WHEN g % 2 = 0 THEN 'male' ELSE 'female' END, "
            f"date '2014-09-01' + (g * 7) % 1500, cl.school_code, cl.id, 'enrolled', date '2026-09-01', '[]', "
            f"timestamptz '2026-09-01 00:00+00' + (row_number() OVER ()) * interval '1 second', now() "
            f"FROM classes cl, generate_series(1, {per_class}) g"))
        # One audit row per child (its enrolment), filed under its school's path.
        await conn.execute(text(
            "INSERT INTO audit_log (at, actor, actor_role, actor_org, action, method, route, path, status, scope_path) "
            "SELECT s.created_at, 'bench-school', 'school_staff', s.school_code, 'write', 'POST', '/v1/students', "
            "'/v1/students', 201, o.path FROM students s JOIN orgs o ON o.code = s.school_code"))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()


async def load_cases(url: str, per_class: int) -> None:
    """The cases service's directory (org tree from org.registered, one row per tenth child) and
    one case per tenth child, reported over the last weeks."""
    engine = make_engine(url)
    schools = _school_paths()
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TEMP TABLE bench_schools (code text, path text)"))
        await conn.execute(text("INSERT INTO bench_schools VALUES (:code, :path)"),
                           [{"code": c, "path": p} for c, p in schools])
        # The areas as org.registered announced them (the places the caller's path is read from).
        await conn.execute(text(
            "INSERT INTO orgs (code, kind, name, parent_code, path) "
            "SELECT DISTINCT ON (code) code, 'area', code, NULL, path FROM ("
            "  SELECT split_part(b.path, '/', n + 1) AS code, "
            "         array_to_string((string_to_array(b.path, '/'))[1:n + 1], '/') || '/' AS path "
            "  FROM bench_schools b, generate_series(1, 5) n) x ORDER BY code"))
        await conn.execute(text(
            f"INSERT INTO cases (id, child_id, status, origin, school_code, class_id, org_path, opened_at, updated_at, "
            f"flags, reopen_count) "
            f"SELECT md5('case-' || b.code || '-' || j || '-' || g)::uuid::text, "
            f"md5(md5(b.code || '-' || j)::uuid::text || '-' || g)::uuid::text, "
            f"(ARRAY['reported', 'verifying', 'confirmed', 'persuading', 'closed'])[1 + g % 5], 'absence', "
            f"b.code, md5(b.code || '-' || j)::uuid::text, b.path, "
            f"timestamptz '2026-10-01 00:00+00' + (row_number() OVER ()) * interval '17 seconds', now(), '/', 0 "
            f"FROM bench_schools b, generate_series(0, {CLASSES - 1}) j, generate_series(1, {per_class}, 10) g"))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()


def _app(service: str, url: str):
    from cases.bootstrap import create_app as cases_app
    from cases.settings import CasesSettings
    from registry.bootstrap import create_app as registry_app
    from registry.settings import RegistrySettings

    create, settings = {"registry": (registry_app, RegistrySettings), "cases": (cases_app, CasesSettings)}[service]
    return create(settings(database_url=url, kafka_bootstrap="127.0.0.1:1", jwt_secret=SECRET, environment="test"))


async def _time(app, client: httpx.AsyncClient, path: str, headers: dict[str, str], requests: int) -> dict[str, Any]:
    """The whole request's time, and the part of it spent in the database (the statements'
    execution, from the driver's call to its answer), per request."""
    engine = app.state.runtime.engine.sync_engine
    spent: list[float] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        context._bench_started = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        spent[-1] += time.perf_counter() - context._bench_started

    for _ in range(10):  # warm: the caller's place is cached, the statements prepared
        (await client.get(path, headers=headers)).raise_for_status()
    took, in_sql = [], []
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        for _ in range(requests):
            spent.append(0.0)
            started = time.perf_counter()
            r = await client.get(path, headers=headers)
            took.append((time.perf_counter() - started) * 1000)
            in_sql.append(spent[-1] * 1000)
            r.raise_for_status()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    body = r.json()
    return {"p50": percentile(took, 50), "p99": percentile(took, 99), "sql_p50": percentile(in_sql, 50),
            "sql_p99": percentile(in_sql, 99), "total": body["total"], "items": len(body["items"])}


async def _plans(app, client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of every SELECT one request runs, with its own parameters."""
    engine = app.state.runtime.engine
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        (await client.get(path, headers=headers)).raise_for_status()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    plans = []
    async with engine.connect() as conn:
        for statement, parameters in seen:
            rows = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)).all()
            plans.append(" ".join(statement.split()) + "\n" + "\n".join(r[0] for r in rows))
    return plans


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("BAOXUE_LOG_LEVEL", "ERROR")
    schools = CITIES * COUNTIES * TOWNSHIPS * SCHOOLS
    per_class = max(1, args.students // (schools * CLASSES))
    students = per_class * schools * CLASSES
    headers = {"Authorization": f"Bearer {token('township_official', TOWNSHIP)}"}
    figures: dict[str, object] = {"students": students, "cases": students // 10, "audit rows": students,
                                  "caller": f"township_official of {TOWNSHIP} ({SCHOOLS * CLASSES * per_class:,} children)",
                                  "requests per list": args.requests}
    plans: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        (reg_url, reg_db), (cases_url, cases_db) = (await database("postgresql", Path(tmp), "registry"),
                                                     await database("postgresql", Path(tmp), "cases"))
        try:
            # One after the other: Alembic's context is process-wide.
            await asyncio.to_thread(upgrade, ROOT / "services" / "registry", reg_url)
            await asyncio.to_thread(upgrade, ROOT / "services" / "cases", cases_url)
            started = time.perf_counter()
            await asyncio.gather(load_registry(reg_url, per_class), load_cases(cases_url, per_class))
            figures["data generated in (s)"] = time.perf_counter() - started
            for service, url, lists in (("registry", reg_url, [("students", "/v1/students"), ("audit", "/v1/audit")]),
                                        ("cases", cases_url, [("cases", "/v1/cases")])):
                app = _app(service, url)
                logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
                async with app.router.lifespan_context(app):
                    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url=f"http://{service}") as client:
                        for label, path in lists:
                            f = await _time(app, client, path, headers, args.requests)
                            figures.update({f"{label}: first page p50 (ms)": f["p50"],
                                            f"{label}: first page p99 (ms)": f["p99"],
                                            f"{label}: of which SQL p50 (ms)": f["sql_p50"],
                                            f"{label}: of which SQL p99 (ms)": f["sql_p99"],
                                            f"{label}: total in scope": f["total"]})
                            plans[f"{label} ({service} {path})"] = await _plans(app, client, path, headers)
        finally:
            for name in (reg_db, cases_db):
                if name:
                    await drop(name)
    title = f"Scoped first pages at province scale ({students:,} students, PostgreSQL)"
    figures["load average (1, 5, 15 min) at the end"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    out = report(title, figures, results=None)
    lines = ["", "Plans (one request's statements, `EXPLAIN (ANALYZE, BUFFERS)`):", ""]
    for label, statements in plans.items():
        lines += [f"<details><summary>{label}</summary>", "", "```"]
        lines += ["\n\n".join(statements), "```", "", "</details>", ""]
    plan_text = "\n".join(lines)
    print(plan_text)
    with RESULTS.open("a", encoding="utf-8") as results:
        results.write(out + plan_text + "\n")


if __name__ == "__main__":
    asyncio.run(main())
