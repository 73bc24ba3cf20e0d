"""Registry use cases: keyword-only functions over a unit of work, no HTTP in here."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from registry.adapters.tables import classes, orgs, student_flags, students
from registry.domain.model import (
    ACTIVE_STATUSES,
    UNCHANGED,
    Enrollment,
    NewClass,
    OrgChange,
    OrgKind,
    OrgRegistration,
    already_active,
    check_line,
    check_parent,
    check_system,
    primary_or_junior,
    validate_enrollment,
)
from registry.domain.school_age import school_year_start
from registry.queries.orgs import get_org, org_chain
from registry.queries.students import present_student, with_derived_flags
from shared.auth import Principal, Role
from shared.errors import Conflict, Invalid, NotFound
from shared.events.registry import OrgRegistered, StudentEnrolled
from shared.privacy import mask_national_id
from shared.text import name_key
from shared.uow import UnitOfWork


async def create_org(uow: UnitOfWork, cmd: OrgRegistration, caller: Principal) -> dict[str, Any]:
    if cmd.parent_code:
        parent = await get_org(uow, cmd.parent_code, within=caller)
    elif caller.role is Role.province_official and caller.org == cmd.code:
        parent = None  # a province is registered by its own officials
    else:
        raise NotFound("a province is registered by a province official of that province")
    check_parent(cmd.kind, OrgKind(parent["kind"]) if parent else None)
    check_line(cmd.kind, cmd.line)
    system = check_system(cmd.kind, cmd.system)
    existing = (await uow.session.execute(select(orgs.c.parent_code).where(orgs.c.code == cmd.code))).first()
    if existing:
        if existing.parent_code != cmd.parent_code:
            raise reorganisation_refused(cmd.code)
        raise Conflict(f"organisation {cmd.code} already exists")
    row = {
        "code": cmd.code,
        "name": cmd.name,
        "kind": cmd.kind.value,
        "parent_code": cmd.parent_code,
        "path": [*(parent["path"] if parent else []), cmd.code],
        # Schools only: how the school divides the nine years; consumers take 6+3 when absent.
        "system": system.value if system else None,
    }
    if cmd.line is not None:
        row["line"] = cmd.line.value
    await uow.session.execute(insert(orgs).values(**row))
    uow.emit(OrgRegistered(**row), subject=cmd.code, key=cmd.code)
    await uow.commit()
    return row


class ReorganisationRefused(Conflict):
    slug, title = "reorganisation-not-supported", "Moving an org under another parent is not supported"


def reorganisation_refused(code: str) -> ReorganisationRefused:
    """行政区划调整 is not done by moving an org: every service stores the paths of the children,
    cases, reports and audit rows under it, and the history of figures is kept by place. A county
    that is reorganised registers the new units and transfers its students (README: "The org tree")."""
    return ReorganisationRefused(
        f"organisation {code} stays where it was registered. To reorganise (行政区划调整), register the "
        "new unit under its new parent with a new code, create its classes, and transfer each school's "
        "students there (POST /v1/students/{id}/transfers, confirmed by the receiving school); the old "
        "unit's history stays where it happened.",
        errors=[{"field": "parent_code", "pointer": "/parent_code", "message": "an org cannot change its parent"}])


async def update_org(uow: UnitOfWork, code: str, cmd: OrgChange, caller: Principal) -> dict[str, Any]:
    """Rename an org or correct a school's system; announced again as org.registered (consumers
    upsert it). The parent never changes: see ``reorganisation_refused``."""
    org = await get_org(uow, code, within=caller)
    if code == caller.org and caller.role is not Role.province_official:
        raise NotFound(f"no organisation with code {code}")  # an org is changed from above it
    if cmd.parent_code is not UNCHANGED and cmd.parent_code != org["parent_code"]:
        raise reorganisation_refused(code)
    kind = OrgKind(org["kind"])
    values: dict[str, Any] = {}
    if cmd.name is not UNCHANGED and cmd.name is not None:
        values["name"] = cmd.name
    if cmd.system is not UNCHANGED:
        if cmd.system is None:
            raise Invalid("system cannot be removed", errors=[
                {"field": "system", "pointer": "/system", "message": "give one of 6+3, 5+4, nine_year, twelve_year"}])
        system = check_system(kind, cmd.system)  # refuses a system for an area
        if system is not None:
            values["system"] = system.value
    if values:
        await uow.session.execute(update(orgs).where(orgs.c.code == code).values(**values))
    row = {
        "code": code,
        "name": values.get("name", org["name"]),
        "kind": org["kind"],
        "parent_code": org["parent_code"],
        "path": org["path"],
        "system": values.get("system", org["system"]),
    }
    if values:
        uow.emit(OrgRegistered(**row), subject=code, key=code)
    await uow.commit()
    return row


OUTSIDE_REGION = "a school outside your region (the county bureau can trace it)"


async def create_class(uow: UnitOfWork, school_code: str, cmd: NewClass, caller: Principal) -> dict[str, Any]:
    school = await get_org(uow, school_code, within=caller)
    if school["kind"] != OrgKind.school.value:
        raise Invalid(f"{school_code} is a {school['kind']}, not a school")
    # Compared in NFC: the same class name typed composed or decomposed is the same class.
    taken = next((c for c in (await uow.session.execute(
        select(classes.c.id, classes.c.name).where(classes.c.school_code == school_code))).all()
        if name_key(c.name) == name_key(cmd.name)), None)
    if taken:
        raise Conflict(f"school {school_code} already has a class named {cmd.name}", class_id=taken.id)
    row = {"id": str(uuid.uuid4()), "school_code": school_code, "grade": cmd.grade, "name": cmd.name,
           "school_year": cmd.school_year or school_year_start(uow.clock.now().date())}
    await uow.session.execute(insert(classes).values(**row))
    await uow.commit()
    return row


async def enroll_student(uow: UnitOfWork, cmd: Enrollment, caller: Principal) -> dict[str, Any]:
    today = uow.clock.now().date()
    # A child without an ID is enrolled on what the school was told (birth date, gender): the
    # record exists so the child is counted and watched; the ID is added when it arrives.
    nid = None if cmd.national_id is None else validate_enrollment(
        national_id=cmd.national_id, birth_date=cmd.birth_date, gender=cmd.gender, today=today)
    if nid is None and cmd.birth_date > today:
        raise Invalid("birth_date is in the future",
                      errors=[{"field": "birth_date", "pointer": "/birth_date", "message": "in the future"}])
    if cmd.enrolled_on is not None and not cmd.birth_date <= cmd.enrolled_on <= today:
        raise Invalid("enrolled_on falls between the child's birth and today",
                      errors=[{"field": "enrolled_on", "pointer": "/enrolled_on",
                               "message": "before the birth date" if cmd.enrolled_on < cmd.birth_date else "in the future"}])
    school = await get_org(uow, cmd.school_code, within=caller)
    klass = (await uow.session.execute(select(classes).where(classes.c.id == cmd.class_id))).mappings().first()
    if klass is None or klass["school_code"] != cmd.school_code:
        raise Invalid(f"class {cmd.class_id} is not a class of school {cmd.school_code}",
                      errors=[{"field": "class_id", "pointer": "/class_id", "message": "not a class of this school"}])
    if nid is not None:
        await _refuse_if_active(uow, nid.number, caller)
    flags = sorted(set(cmd.flags))
    row = new_student_row(national_id=nid and nid.number, no_id_reason=cmd.no_id_reason, name=cmd.name,
                          gender=cmd.gender, birth_date=cmd.birth_date,
                          school_code=cmd.school_code, class_id=cmd.class_id, enrolled_on=cmd.enrolled_on or today,
                          guardians=[asdict(g) for g in cmd.guardians], household_region=cmd.household_region)
    await uow.session.execute(insert(students).values(**row))
    if flags:
        await uow.session.execute(insert(student_flags), [{"student_id": row["id"], "flag": f} for f in flags])
    emit_enrolled(uow, row, grade=klass["grade"], system=school["system"], org_path=school["path"],
                  chain=await org_chain(uow, school["path"]), flags=flags)
    try:
        await uow.commit()
    except IntegrityError:
        # Lost a race with a concurrent enrolment of the same child: the unique index said no.
        raise already_active("another school (enrolled a moment ago)") from None
    return present_student({**row, "grade": klass["grade"], "flags": with_derived_flags(flags)}, caller)


def student_number(national_id: str | None, birth_date: date) -> str:
    """The national student number (全国学籍号) is "G" followed by the ID number. A child without
    an ID gets a temporary one (临时学籍号), "L" + birth date + 9 random digits, replaced by the G
    number when the ID arrives."""
    if national_id is not None:
        return "G" + national_id
    return f"L{birth_date:%Y%m%d}{uuid.uuid4().int % 10**9:09d}"


def new_student_row(*, national_id: str | None, name: str, gender: str, birth_date: date, school_code: str,
                    class_id: str, enrolled_on: date, guardians: list[dict[str, Any]],
                    household_region: str | None, no_id_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "student_number": student_number(national_id, birth_date),
        "national_id": national_id,
        "no_id_reason": no_id_reason,
        "name": name,
        "name_key": name_key(name),
        "gender": gender,
        "birth_date": birth_date,
        "school_code": school_code,
        "class_id": class_id,
        "status": "enrolled",
        "enrolled_on": enrolled_on,
        "guardians": guardians,
        "household_region": household_region,
    }


def emit_enrolled(uow: UnitOfWork, row: dict[str, Any], *, grade: int, system: str | None, org_path: list[str],
                  chain: list[dict[str, str]], flags: list[str]) -> None:
    uow.emit(StudentEnrolled(
            student_id=row["id"],
            # No student_number here: it is "G" + the full ID number, and the event is read widely.
            national_id_masked=mask_national_id(row["national_id"]) if row["national_id"] else None,
            name=row["name"],
            gender=row["gender"],
            birth_date=row["birth_date"],
            school_code=row["school_code"],
            class_id=row["class_id"],
            grade=grade,
            level=primary_or_junior(system, grade),
            org_path=org_path,
            org_chain=chain,
            enrolled_on=row["enrolled_on"],
            flags=with_derived_flags(flags),
            guardians=row["guardians"],
            status=row["status"],
        ), subject=row["id"])


async def _refuse_if_active(uow: UnitOfWork, national_id: str, caller: Principal) -> None:
    record = (await active_records(uow, [national_id], caller)).get(national_id)
    where = record.where if record else None
    if where:
        raise already_active(where)


@dataclass(frozen=True)
class ActiveRecord:
    where: str        # the school, or OUTSIDE_REGION for a caller whose region does not hold it
    name: str         # as stored, for matching only: never shown to a caller outside the region
    birth_date: date

    def is_the_child(self, name: str, birth_date: date | None) -> bool:
        """The same child as a row naming them (name in NFC, and birth date)."""
        return name_key(self.name) == name_key(name) and self.birth_date == birth_date


async def active_records(uow: UnitOfWork, national_ids: list[str], caller: Principal) -> dict[str, ActiveRecord]:
    """National ID -> the child's active record: where it is (the school, named only to a
    caller whose region holds it: the school office, or an official above it; anyone else
    learns that a record exists, which they need to know, but not where the child is)."""
    found: dict[str, ActiveRecord] = {}
    for i in range(0, len(national_ids), 1000):  # under every driver's parameter limit
        rows = (await uow.session.execute(
            select(students.c.national_id, students.c.school_code, students.c.name.label("child"),
                   students.c.birth_date, orgs.c.name, orgs.c.path)
            .join(orgs, orgs.c.code == students.c.school_code)
            .where(students.c.national_id.in_(national_ids[i:i + 1000]),
                   students.c.status.in_([s.value for s in ACTIVE_STATUSES])))).all()
        found.update({r.national_id: ActiveRecord(
            where=f"{r.name} ({r.school_code})" if caller.sees_org(r.path) else OUTSIDE_REGION,
            name=r.child, birth_date=r.birth_date) for r in rows})
    return found
