"""The poverty-relief office's lists (建档立卡, 脱贫户, 防返贫监测对象, 低保) brought into the registry.

Seed 000 (a city's work summary) gives each office its part: "扶贫部门提供建档立卡贫困家庭基本信息" —
the poverty office provides the registered poor households' details; the schools and the
education bureau see that no child of them drops out (无一例建档立卡适龄儿童因贫辍学). A county
uploads each list as it comes, with its category and date. Rows are checked as the student import
checks them (ID checksum, name, birth date, duplicates) and bad rows get the same report; the
valid list is applied in one transaction: flags set and cleared as of the list's date (each a
flag history row and a ``student.flags_changed``), and every school-age child on it whom no record
accounts for becomes a suspected out-of-school child, as in a population cross-check.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date
from typing import Any

from sqlalchemy import insert, select

from registry.adapters.spreadsheet import Table
from registry.adapters.tables import (
    orgs,
    population_checks,
    population_findings,
    poverty_lists,
    student_flags,
    students,
)
from registry.domain.flags import FlagChange
from registry.domain.model import ACTIVE_STATUSES, OrgKind
from registry.domain.poverty import FLAG, Action, FlagState, decide
from registry.queries.orgs import get_org
from registry.usecases.bulk_import import CHUNK, mark_duplicates
from registry.usecases.flags import last_changed_on, write_flag_change
from registry.usecases.population import check_person, record_suspects, suspects_among
from registry.usecases.records import placement
from shared.auth import Principal
from shared.envelope import stable_id
from shared.errors import Invalid
from shared.paths import naming
from shared.uow import UnitOfWork

HEADINGS: dict[str, tuple[str, ...]] = {
    "national_id": ("身份证号", "身份证号码", "证件号码", "公民身份号码", "学生身份证号", "national id", "id number"),
    "name": ("姓名", "学生姓名", "成员姓名", "name"),
    "birth_date": ("出生日期", "出生年月日", "date of birth"),
    "address": ("住址", "家庭住址", "户籍地址", "所在村组", "address"),
}
REQUIRED = ("national_id", "name")


async def region_for(uow: UnitOfWork, region_code: str, caller: Principal) -> dict[str, Any]:
    region = await get_org(uow, region_code, within=caller)
    if region["kind"] == OrgKind.school.value:
        raise Invalid("a poverty list covers a region (county, township...), not a school",
                      errors=[{"field": "region_code", "pointer": "/region_code", "message": "a school"}])
    return region


def _digest(region_code: str, category: str, list_date: date, ids: list[str]) -> str:
    return hashlib.sha256("\n".join(["poverty-list", region_code, category, list_date.isoformat(), *sorted(ids)])
                          .encode()).hexdigest()


async def import_list(uow: UnitOfWork, region_code: str, category: str, list_date: date | None, table: Table,
                      caller: Principal, *, dry_run: bool, skip_invalid: bool) -> tuple[dict[str, Any], bool]:
    """(the report, whether the list is new). The same list again answers with its first report."""
    started = time.perf_counter()
    region = await region_for(uow, region_code, caller)
    today = uow.clock.now().date()
    list_date = list_date or today
    if list_date > today:
        raise Invalid("list_date is in the future",
                      errors=[{"field": "list_date", "pointer": "/list_date", "message": "in the future"}])
    people = [check_person(table.first_row + i, raw, today=today) for i, raw in enumerate(table.rows)]
    mark_duplicates(people, "national_id", "national ID")
    bad = [p for p in people if p.errors]
    errors = [{**e, "pointer": f"/rows/{e['row']}/{e['field']}"} for p in bad for e in p.errors]
    people = [p for p in people if not p.errors]
    report: dict[str, Any] = {
        "region_code": region_code, "category": category, "list_date": list_date, "dry_run": dry_run,
        "rows": len(table.rows), "valid": len(people), "invalid": len(bad), "columns": table.columns,
        "errors": errors}
    if bad and not skip_invalid and not dry_run:
        raise Invalid(f"{len(bad)} of {len(table.rows)} rows are invalid; nothing was applied "
                      "(fix them, or send skip_invalid=true to apply the valid rows)",
                      errors=errors, report={k: v.isoformat() if isinstance(v, date) else v
                                             for k, v in report.items() if k != "errors"})
    ids = [p.values["national_id"] for p in people]
    digest = _digest(region_code, category, list_date, ids)
    if not dry_run:
        existing = (await uow.session.execute(
            select(poverty_lists.c.report).where(poverty_lists.c.digest == digest))).scalar_one_or_none()
        if existing is not None:
            return existing, False

    # The records of listed children in the caller's region, and every record there flagged from
    # this category (those the list may clear).
    scope = caller.scope_filter(orgs.c.path, students.c.class_id)
    columns = (students.c.id, students.c.national_id, students.c.school_code, students.c.class_id,
               students.c.status, students.c.name)
    active = students.c.status.in_([s.value for s in ACTIVE_STATUSES])
    records: dict[str, Any] = {}
    for i in range(0, len(ids), CHUNK):
        for r in (await uow.session.execute(select(*columns).join(orgs, orgs.c.code == students.c.school_code)
                                            .where(students.c.national_id.in_(ids[i:i + CHUNK]), active, *scope))):
            records[r.id] = r
    listed = {r.id for r in records.values()}
    flagged_here = (await uow.session.execute(
        select(*columns, student_flags.c.category)
        .join(orgs, orgs.c.code == students.c.school_code)
        .join(student_flags, (student_flags.c.student_id == students.c.id) & (student_flags.c.flag == FLAG))
        .where(active, *scope, naming(orgs.c.path, region_code)))).all()
    for r in flagged_here:
        records.setdefault(r.id, r)
    sids = list(records)
    flags: dict[str, str | None] = {}
    last: dict[str, date] = {}
    for i in range(0, len(sids), CHUNK):
        chunk = sids[i:i + CHUNK]
        flags.update((await uow.session.execute(select(student_flags.c.student_id, student_flags.c.category).where(
            student_flags.c.student_id.in_(chunk), student_flags.c.flag == FLAG))).all())
        last.update(await last_changed_on(uow, chunk, FLAG))
    actions = {sid: decide(FlagState(sid in flags, flags.get(sid), last.get(sid)), on_list=sid in listed,
                           category=category, list_date=list_date) for sid in sids}
    _, suspected, reasons = await suspects_among(uow, people, list_date)
    report.update(
        matched=len(listed), not_found=len(people) - len(listed),
        flagged=sum(a is Action.set for a in actions.values()),
        cleared=sum(a is Action.clear for a in actions.values()),
        older=sum(a is Action.older for a in actions.values()),
        suspected=len(suspected), id=None, check_id=None)
    if dry_run:
        report["seconds"] = round(time.perf_counter() - started, 3)
        return report, True

    list_id = stable_id("poverty-list", digest)
    check_id = stable_id("population-check", "poverty-list", digest)
    report.update(id=list_id, check_id=check_id if suspected else None)
    now = uow.clock.now()
    reason = f"{category}名单 {list_date.isoformat()}"
    places: dict[tuple[str, str], dict[str, Any]] = {}
    current = {sid: {FLAG} if sid in flags else set() for sid in sids}
    for sid, action in actions.items():
        if action not in (Action.set, Action.clear):
            continue
        r = records[sid]
        key = (r.school_code, r.class_id)
        if key not in places:
            places[key] = await placement(uow, *key)
        others = await _other_flags(uow, sid)
        after = others | ({FLAG} if action is Action.set else set())
        change = FlagChange(flags=tuple(sorted(after)),
                            added=(FLAG,) if action is Action.set and not current[sid] else (),
                            removed=(FLAG,) if action is Action.clear else ())
        await write_flag_change(uow, {"id": sid, "school_code": r.school_code, "class_id": r.class_id}, change,
                                effective_on=list_date, reason=reason, actor=caller.subject, source="poverty_list",
                                source_ref=list_id, category=category if action is Action.set else None,
                                where=places[key])
    if suspected:
        # The suspects are findings of a check of their own, read like any cross-check's.
        await uow.session.execute(insert(population_checks).values(
            id=check_id, digest=hashlib.sha256(check_id.encode()).hexdigest(), region_code=region_code,
            as_of=list_date, rows=len(people), school_age=len(suspected), suspected=len(suspected), outside_age=0,
            created_by=caller.subject, created_at=now))
        findings = await record_suspects(uow, check_id, suspected, reasons, region=region, as_of=list_date)
        for i in range(0, len(findings), CHUNK):
            await uow.session.execute(insert(population_findings), findings[i:i + CHUNK])
    report["seconds"] = round(time.perf_counter() - started, 3)
    stored = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in report.items()}
    await uow.session.execute(insert(poverty_lists).values(
        id=list_id, digest=digest, region_code=region_code, category=category, list_date=list_date,
        report=stored, created_by=caller.subject, created_at=now))
    await uow.commit()
    return report, True


async def _other_flags(uow: UnitOfWork, student_id: str) -> set[str]:
    return set((await uow.session.execute(select(student_flags.c.flag).where(
        student_flags.c.student_id == student_id, student_flags.c.flag != FLAG))).scalars())
