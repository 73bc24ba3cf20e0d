"""Bulk import of a school's students from a spreadsheet: every row checked, then the good
rows written in one transaction (all of them or none), with progress along the way."""

from __future__ import annotations

import time
from typing import Any, Callable

import structlog
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from shared.auth import Principal
from shared.errors import Conflict, Invalid
from shared.uow import UnitOfWork

from registry.adapters.spreadsheet import Table
from registry.adapters.tables import classes, student_flags, students
from registry.domain.model import OrgKind
from registry.domain.roster_import import RowResult, check_row
from registry.handlers import active_records, emit_enrolled, get_org, new_student_row, org_chain

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


async def import_students(uow: UnitOfWork, school_code: str, table: Table, caller: Principal, *, dry_run: bool,
                          skip_invalid: bool, progress: Progress = _no_progress) -> dict[str, Any]:
    started = time.perf_counter()
    school = await get_org(uow, school_code, within=caller)
    if school["kind"] != OrgKind.school.value:
        raise Invalid(f"{school_code} is a {school['kind']}, not a school")
    class_rows = (await uow.session.execute(
        select(classes.c.id, classes.c.name, classes.c.grade).where(classes.c.school_code == school_code))).all()
    class_ids = {c.name: c.id for c in class_rows}
    grades = {c.id: c.grade for c in class_rows}
    today = uow.clock.now().date()
    total = len(table.rows)

    results = []
    for i, raw in enumerate(table.rows):
        results.append(check_row(table.first_row + i, raw, today=today, class_ids=class_ids))
        if (i + 1) % CHUNK == 0:
            progress("checked", i + 1, total)
    progress("checked", total, total)
    mark_duplicates(results, "national_id", "national ID")
    active = await active_records(uow, [r.values["national_id"] for r in results if "national_id" in r.values],
                                  caller)
    for r in results:
        where = active.get(r.values.get("national_id"))
        if where:
            r.fail("national_id", f"already has an active student record at {where}")

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
    try:
        await uow.commit()
    except IntegrityError:
        raise Conflict("another enrolment of one of these children committed meanwhile; nothing was imported, "
                       "retry the upload") from None
    report.update(imported=len(good), seconds=round(time.perf_counter() - started, 3))
    log.info("import.done", school=school_code, rows=total, imported=len(good), invalid=len(bad),
             seconds=report["seconds"])
    return report
