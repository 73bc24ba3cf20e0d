"""The problem-record queue (问题学籍): suspected duplicates for officials to merge or dismiss.

Computed from the records each time (two grouped queries), so it is never stale; what a merge or a
dismissal does is ``registry.usecases.problems``, which finds its problem here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, literal, select, tuple_

from registry.adapters.tables import orgs, problem_dismissals, students
from registry.domain.problems import Candidate, Problem, ProblemKind, county_of, same_id_problems, same_person_problems
from shared.auth import Principal
from shared.pagination import PageParams
from shared.paths import naming
from shared.privacy import FULL_NATIONAL_ID, mask_national_id
from shared.uow import UnitOfWork


async def open_problems(uow: UnitOfWork, caller: Principal, org_code: str | None) -> tuple[list[Problem], dict]:
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
    found, records = await open_problems(uow, caller, org_code)
    if kind is not None:
        found = [p for p in found if p.kind is kind]
    found.sort(key=lambda p: (p.kind.value, records[p.student_ids[0]]["name"], p.id))
    return [_present(p, records, caller) for p in found[page.offset:page.offset + page.limit]], len(found)
