"""The population cross-check (排查比对): a region's household list against the registry.

Every school-age child on the list with no record accounting for them is a suspected
out-of-school child (疑似失学辍学); every attending record in the region whose child is outside
the compulsory age is listed too. The same list for the same region and date is the same check:
a re-run returns it, writes nothing and emits nothing.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from sqlalchemy import func, insert, or_, select

from registry.adapters.spreadsheet import Table
from registry.adapters.tables import classes, orgs, population_checks, population_findings, status_history, students
from registry.domain.accounting import RecordFacts, Unaccounted, why_unaccounted
from registry.domain.lifecycle import ATTENDING
from registry.domain.model import OrgKind, StudentStatus
from registry.domain.national_id import EARLIEST_BIRTH, InvalidNationalId, parse
from registry.domain.roster_import import RowResult, parse_date
from registry.domain.school_age import OLDEST, YOUNGEST, age_at_cutoff, is_compulsory_age, school_year_start
from registry.queries.orgs import get_org, org_chain
from registry.usecases.bulk_import import CHUNK, mark_duplicates
from shared.auth import Principal
from shared.envelope import stable_id
from shared.errors import Invalid
from shared.events.registry import OutsideCompulsoryAge, SuspectedOutOfSchool
from shared.paths import within
from shared.privacy import mask_national_id
from shared.uow import UnitOfWork

HEADINGS: dict[str, tuple[str, ...]] = {
    "national_id": ("身份证号", "身份证号码", "公民身份号码", "national id", "id number"),
    "name": ("姓名", "name"),
    "birth_date": ("出生日期", "出生年月日", "date of birth"),
    "address": ("住址", "现住址", "户籍地址", "家庭住址", "address"),
}
REQUIRED = ("national_id", "name")


def check_person(row_number: int, raw: dict[str, str], *, today: date) -> RowResult:
    result = RowResult(row_number)
    try:
        nid = parse(raw.get("national_id", ""), today=today, earliest=EARLIEST_BIRTH)
        result.values.update(national_id=nid.number, birth_date=nid.birth_date, gender=nid.gender)
    except InvalidNationalId as exc:
        result.fail("national_id", str(exc) if raw.get("national_id") else "required")
        nid = None
    name = raw.get("name", "").strip()
    if not name:
        result.fail("name", "required")
    result.check_text("name", name, name=True)
    result.values["name"] = name
    if raw.get("birth_date"):
        try:
            given = parse_date(raw["birth_date"])
            if nid is not None and given != nid.birth_date:
                result.fail("birth_date", f"the national ID says {nid.birth_date.isoformat()}")
        except (ValueError, TypeError):
            result.fail("birth_date", f"'{raw['birth_date']}' is not a date (YYYY-MM-DD)")
    address = (raw.get("address") or "").strip()
    result.check_text("address", address, max_length=400)
    result.values["address"] = address or None
    return result


def digest_of(region_code: str, as_of: date, people: list[RowResult]) -> str:
    lines = sorted(f"{p.values['national_id']}|{p.values['name']}|{p.values['address'] or ''}" for p in people)
    return hashlib.sha256("\n".join([region_code, as_of.isoformat(), *lines]).encode()).hexdigest()


async def region_for(uow: UnitOfWork, region_code: str, caller: Principal) -> dict[str, Any]:
    """The region a check covers, in the caller's scope: checked before the file is read."""
    region = await get_org(uow, region_code, within=caller)
    if region["kind"] == OrgKind.school.value:
        raise Invalid("a population check covers a region (township, county...), not a school",
                      errors=[{"field": "region_code", "pointer": "/region_code", "message": "a school"}])
    return region


async def run_check(uow: UnitOfWork, region_code: str, table: Table, caller: Principal, *, as_of: date | None,
                    skip_invalid: bool) -> tuple[dict[str, Any], bool]:
    """(the check, whether it is new)."""
    region = await region_for(uow, region_code, caller)
    today = uow.clock.now().date()
    as_of = as_of or today
    people = [check_person(table.first_row + i, raw, today=today) for i, raw in enumerate(table.rows)]
    mark_duplicates(people, "national_id", "national ID")
    bad = [p for p in people if p.errors]
    errors = [{**e, "pointer": f"/rows/{e['row']}/{e['field']}"} for p in bad for e in p.errors]
    if bad and not skip_invalid:
        raise Invalid(f"{len(bad)} of {len(people)} rows are invalid; nothing was checked "
                      "(fix them, or send skip_invalid=true to check the valid rows)", errors=errors)
    people = [p for p in people if not p.errors]
    digest = digest_of(region_code, as_of, people)
    existing = (await uow.session.execute(
        select(population_checks).where(population_checks.c.digest == digest))).mappings().first()
    if existing is not None:
        return {**existing, "errors": errors}, False

    check_id = stable_id("population-check", digest)
    now = uow.clock.now()
    in_age, suspected, reasons = await suspects_among(uow, people, as_of)
    outside = await _outside_age(uow, region["path"], as_of)

    await uow.session.execute(insert(population_checks).values(
        id=check_id, digest=digest, region_code=region_code, as_of=as_of, rows=len(people), school_age=len(in_age),
        suspected=len(suspected), outside_age=len(outside), created_by=caller.subject, created_at=now))
    findings = await record_suspects(uow, check_id, suspected, reasons, region=region, as_of=as_of)
    for s in outside:
        age = age_at_cutoff(s.birth_date, as_of)
        # A child enrolled without an ID is known by the record until the ID arrives.
        person = stable_id("person", s.national_id) if s.national_id else stable_id("person-record", s.id)
        findings.append({"check_id": check_id, "kind": "outside_compulsory_age", "person_id": person,
                         "national_id": s.national_id, "name": s.name, "gender": s.gender, "birth_date": s.birth_date,
                         "age": age, "address": None, "student_id": s.id, "school_code": s.school_code,
                         "reason": None})
        uow.emit(OutsideCompulsoryAge(
                     check_id=check_id,
                     student_id=s.id,
                     birth_date=s.birth_date,
                     age=age,
                     school_code=s.school_code,
                     org_path=s.path,
                 ), subject=s.id, key=s.id,
                 event_id=stable_id(check_id, "outside", s.id))
    for i in range(0, len(findings), CHUNK):
        await uow.session.execute(insert(population_findings), findings[i:i + CHUNK])
    await uow.commit()
    check = (await uow.session.execute(
        select(population_checks).where(population_checks.c.id == check_id))).mappings().one()
    return {**check, "errors": errors}, True


async def suspects_among(uow: UnitOfWork, people: list[RowResult], as_of: date
                         ) -> tuple[list[RowResult], list[RowResult], dict[str, Unaccounted]]:
    """(the school-age people, those of them no record accounts for, why)."""
    in_age = [p for p in people if is_compulsory_age(p.values["birth_date"], as_of)]
    reasons = await unaccounted(uow, [p.values["national_id"] for p in in_age], as_of)
    return in_age, [p for p in in_age if p.values["national_id"] in reasons], reasons


async def record_suspects(uow: UnitOfWork, check_id: str, suspected: list[RowResult],
                          reasons: dict[str, Unaccounted], *, region: dict[str, Any], as_of: date) -> list[dict]:
    """A finding row (returned, for the caller to insert with its others) and an event per
    suspected out-of-school child, whichever list found them (a household list, a poverty list)."""
    chain = await org_chain(uow, region["path"])
    findings = []
    for p in suspected:
        v = p.values
        person_id = stable_id("person", v["national_id"])
        findings.append({"check_id": check_id, "kind": "suspected_out_of_school", "person_id": person_id,
                         "national_id": v["national_id"], "name": v["name"], "gender": v["gender"],
                         "birth_date": v["birth_date"], "age": age_at_cutoff(v["birth_date"], as_of),
                         "address": v["address"], "student_id": None, "school_code": None,
                         "reason": reasons[v["national_id"]].value})
        uow.emit(SuspectedOutOfSchool(
                     check_id=check_id,
                     person_id=person_id,
                     national_id_masked=mask_national_id(v["national_id"]),
                     name=v["name"],
                     gender=v["gender"],
                     birth_date=v["birth_date"],
                     address=v["address"],
                     reason=reasons[v["national_id"]].value,
                     region_code=region["code"],
                     org_path=region["path"],
                     org_chain=chain,
                 ), subject=person_id, key=person_id,
                 event_id=stable_id(check_id, "suspected", person_id))
    return findings


async def unaccounted(uow: UnitOfWork, national_ids: list[str], as_of: date) -> dict[str, Unaccounted]:
    """National ID -> why no record accounts for the child, for the children none does. Every
    record of the child counts (a graduate's old record and a new junior-middle one), read a chunk
    of IDs per statement with each graduate's graduation day."""
    graduated_on = (select(func.max(status_history.c.effective_on))
                    .where(status_history.c.student_id == students.c.id, status_history.c.status == "graduated")
                    .scalar_subquery())
    records: dict[str, list[RecordFacts]] = {n: [] for n in national_ids}
    for i in range(0, len(national_ids), CHUNK):
        rows = (await uow.session.execute(
            select(students.c.national_id, students.c.status, classes.c.grade, graduated_on.label("graduated_on"),
                   orgs.c.system)
            .join(classes, classes.c.id == students.c.class_id).join(orgs, orgs.c.code == students.c.school_code)
            .where(students.c.national_id.in_(national_ids[i:i + CHUNK])))).all()
        for r in rows:
            records[r.national_id].append(RecordFacts(status=StudentStatus(r.status), grade=r.grade,
                                                      graduated_on=r.graduated_on, system=r.system))
    found = {n: why_unaccounted(rs, as_of) for n, rs in records.items()}
    return {n: why for n, why in found.items() if why is not None}


async def _outside_age(uow: UnitOfWork, region_path: list[str], as_of: date) -> list[Any]:
    """Attending records at schools in the region whose child is outside the compulsory age, in
    SQL: on the cut-off day (31 August) they are younger than 6 or older than 15."""
    year = school_year_start(as_of)
    youngest_born_after = date(year - YOUNGEST, 8, 31)     # born later: not yet 6
    oldest_born_on_or_before = date(year - OLDEST - 1, 8, 31)  # born on/before: 16 or more
    return list((await uow.session.execute(
        select(students.c.id, students.c.national_id, students.c.name, students.c.gender, students.c.birth_date,
               students.c.school_code, orgs.c.path)
        .join(orgs, orgs.c.code == students.c.school_code)
        .where(within(orgs.c.path, region_path),
               students.c.status.in_([s.value for s in ATTENDING]),
               or_(students.c.birth_date > youngest_born_after, students.c.birth_date <= oldest_born_on_or_before))
        .order_by(students.c.school_code, students.c.id))).all())
