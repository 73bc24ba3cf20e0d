"""Bulk import of a school's students from a spreadsheet: every row checked, then the good
rows written in one transaction (all of them or none), with progress along the way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from registry.adapters.spreadsheet import Table
from registry.adapters.tables import classes, import_dry_runs, student_flags, students
from registry.domain.model import OrgKind
from registry.domain.roster_import import RowResult, check_row
from registry.queries.orgs import get_org, org_chain
from registry.usecases.registration import active_records, emit_enrolled, new_student_row
from shared.auth import Principal
from shared.errors import Conflict, Invalid, Problem
from shared.sql import insert_ignoring_conflicts
from shared.text import name_key
from shared.uow import UnitOfWork

log = structlog.get_logger("baoxue.registry.import")
Progress = Callable[[str, int, int], None]
CHUNK = 1000  # rows per statement: well under SQLite's and asyncpg's parameter limits


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def mark_duplicates(results: list[RowResult], key: str, what: str) -> None:
    first: dict[Any, int] = {}
    for r in results:
        value = r.values.get(key)
        if value is None or any(e["field"] == key for e in r.errors):
            continue
        if value in first:
            r.fail(key, f"the same {what} as row {first[value]}")
        else:
            first[value] = r.row


async def school_for(uow: UnitOfWork, school_code: str, caller: Principal) -> dict[str, Any]:
    """The school an import goes to, in the caller's scope: checked before the file is read,
    so a file sent to somebody else's school is never parsed."""
    school = await get_org(uow, school_code, within=caller)
    if school["kind"] != OrgKind.school.value:
        raise Invalid(f"{school_code} is a {school['kind']}, not a school",
                      errors=[{"field": "school_code", "pointer": "/school_code", "message": "not a school"}])
    return school


class TooManyDryRuns(Problem):
    status, slug, title = 429, "rate-limited", "Too many requests"


async def count_dry_run(uow: UnitOfWork, caller: Principal, *, rows: int, per_day: int) -> None:
    """A dry run tells which IDs have an active record elsewhere: at most ``per_day`` a caller
    and day (UTC), each counted (with its rows) before it is answered."""
    now = uow.clock.now()
    key = {"subject": caller.subject, "day": now.date()}
    runs = (await uow.session.execute(select(import_dry_runs.c.runs).where(
        *(import_dry_runs.c[k] == v for k, v in key.items())))).scalar()
    if (runs or 0) >= per_day:
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        wait = max(1, int((midnight - now).total_seconds()))
        refused = TooManyDryRuns(f"at most {per_day} dry-run imports a day; the next one from 00:00 UTC")
        refused.headers = {"Retry-After": str(wait)}
        raise refused
    if runs is None:
        first = await uow.session.execute(
            insert_ignoring_conflicts(uow.session, import_dry_runs).values(**key, runs=1, rows=rows))
        if first.rowcount:
            return  # else another dry run of this caller inserted it a moment ago: count on it
    await uow.session.execute(update(import_dry_runs).where(*(import_dry_runs.c[k] == v for k, v in key.items()))
                              .values(runs=import_dry_runs.c.runs + 1, rows=import_dry_runs.c.rows + rows))


async def import_students(uow: UnitOfWork, school_code: str, table: Table, caller: Principal, *, dry_run: bool,
                          skip_invalid: bool, progress: Progress = _no_progress,
                          dry_runs_per_day: int = 20) -> dict[str, Any]:
    started = time.perf_counter()
    school = await school_for(uow, school_code, caller)
    if dry_run:
        await count_dry_run(uow, caller, rows=len(table.rows), per_day=dry_runs_per_day)
        await uow.commit()  # counted (and audited) even when the report then refuses
    class_rows = (await uow.session.execute(
        select(classes.c.id, classes.c.name, classes.c.grade).where(classes.c.school_code == school_code))).all()
    class_ids = {name_key(c.name): c.id for c in class_rows}
    grades = {c.id: c.grade for c in class_rows}
    today = uow.clock.now().date()
    total = len(table.rows)

    loop = asyncio.get_running_loop()
    results = await asyncio.to_thread(_check_rows, table, today, class_ids,
                                      lambda done: loop.call_soon_threadsafe(progress, "checked", done, total))
    progress("checked", total, total)
    mark_duplicates(results, "national_id", "national ID")
    active = await active_records(uow, [r.values["national_id"] for r in results if "national_id" in r.values],
                                  caller)
    for r in results:
        record = active.get(r.values.get("national_id"))
        # A report listing the IDs active elsewhere would be an oracle (a dry run, or a file
        # refused for one bad row, answers it without writing anything): it names only children
        # the caller already knows, whose name and birth date match the record too. A row that
        # does not match still cannot be written: the one-active-record index refuses the file.
        if record and record.is_the_child(r.values.get("name", ""), r.values.get("birth_date")):
            r.fail("national_id", f"already has an active student record at {record.where}")

    bad = [r for r in results if r.errors]
    good = [r for r in results if not r.errors]
    errors = [{**e, "pointer": f"/rows/{e['row']}/{e['field']}"} for r in bad for e in r.errors]
    report: dict[str, Any] = {
        "school_code": school_code, "dry_run": dry_run, "rows": total, "valid": len(good), "invalid": len(bad),
        "imported": 0, "columns": table.columns, "errors": errors,
    }
    if bad and not skip_invalid and not dry_run:
        raise Invalid(f"{len(bad)} of {total} rows are invalid; nothing was imported "
                      "(fix them, or send skip_invalid=true to import the valid rows)",
                      errors=errors, report={k: v for k, v in report.items() if k != "errors"})
    if dry_run or not good:
        report["seconds"] = round(time.perf_counter() - started, 3)
        return report

    try:
        await _write(uow, good, school, grades, progress)
        await uow.commit()
    except IntegrityError:
        # Another enrolment committed meanwhile, or a row naming a child active elsewhere under
        # another name (the report does not say which: see above).
        raise Conflict("one of these children already has an active record, or another enrolment committed "
                       "meanwhile; nothing was imported") from None
    report.update(imported=len(good), seconds=round(time.perf_counter() - started, 3))
    log.info("import.done", school=school_code, rows=total, imported=len(good), invalid=len(bad),
             seconds=report["seconds"])
    return report


def _check_rows(table: Table, today: date, class_ids: dict[str, str],
                checked: Callable[[int], None]) -> list[RowResult]:
    """Every row checked: pure and CPU-bound (some 60 µs a row, over a second for a county's
    file), so it runs on a worker thread and the event loop keeps serving requests and the relay."""
    results = []
    for i, raw in enumerate(table.rows):
        results.append(check_row(table.first_row + i, raw, today=today, class_ids=class_ids))
        if (i + 1) % CHUNK == 0:
            checked(i + 1)
    return results


async def _write(uow: UnitOfWork, good: list[RowResult], school: dict[str, Any], grades: dict[str, int],
                 progress: Progress) -> None:
    school_code = school["code"]
    chain = await org_chain(uow, school["path"])
    written = 0
    for i in range(0, len(good), CHUNK):
        chunk = good[i:i + CHUNK]
        rows, flag_rows = [], []
        for r in chunk:
            v = r.values
            row = new_student_row(national_id=v["national_id"], name=v["name"], gender=v["gender"],
                                  birth_date=v["birth_date"], school_code=school_code, class_id=v["class_id"],
                                  enrolled_on=v["enrolled_on"], guardians=v["guardians"],
                                  household_region=v["household_region"])
            rows.append(row)
            flag_rows += [{"student_id": row["id"], "flag": f} for f in v["flags"]]
            emit_enrolled(uow, row, grade=grades[row["class_id"]], system=school["system"], org_path=school["path"],
                          chain=chain, flags=v["flags"])
        await uow.session.execute(insert(students), rows)
        if flag_rows:
            await uow.session.execute(insert(student_flags), flag_rows)
        written += len(chunk)
        progress("written", written, len(good))
