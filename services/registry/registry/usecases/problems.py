"""The problem-record queue (问题学籍): suspected duplicates for officials to merge or dismiss.

Computed from the records each time (two grouped queries), so it is never stale; a dismissal is
kept by the problem's id, which changes when another record joins the group. Every merge and
dismissal says who and why (``student_merges``, ``problem_dismissals``, and the audit log).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, insert, literal, select, tuple_, update

from registry.adapters.tables import orgs, problem_dismissals, students
from registry.domain.problems import (
    Candidate,
    Problem,
    ProblemKind,
    ProblemMerge,
    county_of,
    same_id_problems,
    same_person_problems,
)
from registry.usecases.merges import merge_records
from registry.usecases.registration import student_number
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound
from shared.pagination import PageParams
from shared.paths import naming
from shared.privacy import FULL_NATIONAL_ID, mask_national_id
from shared.uow import UnitOfWork


async def _problems(uow: UnitOfWork, caller: Principal, org_code: str | None) -> tuple[list[Problem], dict]:
    """Every undismissed problem whose records all lie in the caller's region, with the records."""
    in_scope = caller.scope_filter(orgs.c.path, students.c.class_id)
    if org_code:
        in_scope.append(naming(orgs.c.path, org_code))
    identity = func.coalesce(students.c.national_id, literal("tmp:") + students.c.id)
    scoped = select(students.c.id).join(orgs, orgs.c.code == students.c.school_code).where(*in_scope)
    alike = (select(students.c.name, students.c.gender, students.c.birth_date)
             .where(students.c.id.in_(scoped))
             .group_by(students.c.name, students.c.gender, students.c.birth_date)
             .having(func.count(func.distinct(identity)) > 1))
    twice = (select(students.c.national_id).where(students.c.id.in_(scoped), students.c.national_id.is_not(None))
             .group_by(students.c.national_id)
             .having(func.sum(case((students.c.status != "graduated", 1), else_=0)) > 1))
    rows = (await uow.session.execute(
        select(students.c.id, students.c.national_id, students.c.name, students.c.gender, students.c.birth_date,
               students.c.status, students.c.school_code, students.c.student_number, students.c.enrolled_on,
               orgs.c.path)
        .join(orgs, orgs.c.code == students.c.school_code)
        .where(students.c.id.in_(scoped),
               tuple_(students.c.name, students.c.gender, students.c.birth_date).in_(alike)
               | students.c.national_id.in_(twice)))).mappings().all()
    codes = {c for r in rows for c in r["path"]}
    kinds = dict((await uow.session.execute(select(orgs.c.code, orgs.c.kind).where(orgs.c.code.in_(codes)))).all()) \
        if codes else {}
    candidates = [Candidate(student_id=r["id"], national_id=r["national_id"], name=r["name"], gender=r["gender"],
                            birth_date=r["birth_date"], status=r["status"], county=county_of(r["path"], kinds))
                  for r in rows]
    found = same_person_problems(candidates) + same_id_problems(candidates)
    dismissed = set((await uow.session.execute(select(problem_dismissals.c.problem_id).where(
        problem_dismissals.c.problem_id.in_([p.id for p in found])))).scalars()) if found else set()
    return [p for p in found if p.id not in dismissed], {r["id"]: dict(r) for r in rows}


def _present(problem: Problem, records: dict[str, dict[str, Any]], caller: Principal) -> dict[str, Any]:
    full = caller.role in FULL_NATIONAL_ID
    items = []
    for sid in problem.student_ids:
        r = records[sid]
        nid = r["national_id"]
        shown = nid if full or nid is None else mask_national_id(nid)
        items.append({"student_id": sid, "name": r["name"], "gender": r["gender"], "birth_date": r["birth_date"],
                      "national_id": shown, "school_code": r["school_code"], "status": r["status"],
                      "enrolled_on": r["enrolled_on"],
                      "student_number": r["student_number"] if full or nid is None else "G" + shown})
    return {"id": problem.id, "kind": problem.kind.value, "county_code": problem.county, "records": items}


async def list_problems(uow: UnitOfWork, page: PageParams, caller: Principal, *, org_code: str | None,
                        kind: ProblemKind | None) -> tuple[list[dict[str, Any]], int]:
    found, records = await _problems(uow, caller, org_code)
    if kind is not None:
        found = [p for p in found if p.kind is kind]
    found.sort(key=lambda p: (p.kind.value, records[p.student_ids[0]]["name"], p.id))
    return [_present(p, records, caller) for p in found[page.offset:page.offset + page.limit]], len(found)


async def _problem(uow: UnitOfWork, problem_id: str, caller: Principal) -> tuple[Problem, dict]:
    found, records = await _problems(uow, caller, None)
    for p in found:
        if p.id == problem_id:
            return p, records
    raise NotFound(f"no open problem record {problem_id} in your region (merged, dismissed, or changed since)")


async def dismiss(uow: UnitOfWork, problem_id: str, reason: str, caller: Principal) -> dict[str, Any]:
    problem, _ = await _problem(uow, problem_id, caller)
    row = {"problem_id": problem.id, "kind": problem.kind.value, "student_ids": list(problem.student_ids),
           "reason": reason, "actor": caller.subject, "dismissed_at": uow.clock.now()}
    await uow.session.execute(insert(problem_dismissals).values(**row))
    await uow.commit()
    return row


async def merge(uow: UnitOfWork, problem_id: str, cmd: ProblemMerge, caller: Principal) -> dict[str, Any]:
    problem, records = await _problem(uow, problem_id, caller)
    if cmd.kept_id not in problem.student_ids:
        raise Invalid("kept_id is not one of this problem's records",
                      errors=[{"field": "kept_id", "pointer": "/kept_id", "message": "not in the problem"}])
    ids = {records[s]["national_id"] for s in problem.student_ids} - {None}
    if len(ids) > 1:
        raise Conflict("the records carry different ID numbers: not one child, or one number is wrong; correct "
                       "it before merging, or dismiss the problem")
    kept = dict((await uow.session.execute(select(students).where(students.c.id == cmd.kept_id))).mappings().one())
    merged = []
    for sid in problem.student_ids:
        if sid != cmd.kept_id:
            other = dict((await uow.session.execute(select(students).where(students.c.id == sid))).mappings().one())
            merged.append(await merge_records(uow, kept=kept, merged=other, source="problem_record",
                                              reason=cmd.reason, actor=caller.subject))
    if kept["national_id"] is None and ids:
        # The kept record had no ID; the child's is the merged record's (that record is gone now).
        (nid,) = ids
        await uow.session.execute(update(students).where(students.c.id == kept["id"]).values(
            national_id=nid, student_number=student_number(nid, kept["birth_date"]), updated_at=uow.clock.now()))
    await uow.commit()
    return {"problem_id": problem.id, "kept_id": kept["id"], "merged": merged}
