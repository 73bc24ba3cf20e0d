"""The problem-record queue (问题学籍): suspected duplicates for officials to merge or dismiss.

A dismissal is kept by the problem's id, which changes when another record joins the group. Every
merge and dismissal says who and why (``student_merges``, ``problem_dismissals``, and the audit
log). The queue itself is read by ``registry.queries.problems``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from registry.adapters.tables import problem_dismissals, students
from registry.domain.problems import Problem, ProblemMerge
from registry.queries.problems import open_problems
from registry.usecases.merges import merge_records
from registry.usecases.registration import student_number
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork


async def _problem(uow: UnitOfWork, problem_id: str, caller: Principal) -> tuple[Problem, dict]:
    found, records = await open_problems(uow, caller, None)
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
