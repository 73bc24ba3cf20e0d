"""Recording the work that belongs to the child rather than a case: home teaching (送教上门;
seed 003: 派老师送教上门，做到有教案，有记录) with its lesson plan, and targeted assistance. Reading
them, and the county report that shows no child dropped out for poverty, is
``cases.queries.support``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert

from cases.adapters.files import DEFAULT_STORE, BadFile, FileStore, sniff
from cases.adapters.tables import assistance, home_teaching_sessions
from cases.domain.support import Aid, HomeTeachingSession
from cases.queries.scope import student_in_scope
from cases.queries.support import session_out
from shared.auth import Principal, path_key
from shared.errors import Invalid, Problem
from shared.uow import UnitOfWork


class TooLarge(Problem):
    status, slug, title = 413, "too-large", "Request body too large"


def _county_of(student: Any) -> str | None:
    return next((o["code"] for o in student["org_chain"] or [] if o.get("kind") == "county"), None)


def _bad_plan(message: str) -> Invalid:
    return Invalid(message, errors=[{"field": "lesson_plan", "pointer": "/lesson_plan", "message": message}])


async def record_session(uow: UnitOfWork, student_id: str, caller: Principal, session: HomeTeachingSession, *,
                         filename: str, content: bytes, max_bytes: int,
                         store: FileStore = DEFAULT_STORE) -> dict[str, Any]:
    """One session with its lesson plan. The file is checked before anything is written, and
    stored in the same transaction as the session: a refused file leaves nothing behind."""
    student = await student_in_scope(uow, student_id, caller)
    if len(content) > max_bytes:
        raise TooLarge(f"the lesson plan is over {max_bytes} bytes", errors=[
            {"field": "lesson_plan", "pointer": "/lesson_plan", "message": f"at most {max_bytes} bytes"}])
    try:
        media_type = sniff(content)
    except BadFile as exc:
        raise _bad_plan(str(exc)) from None
    now = uow.clock.now()
    stored = await store.put(uow.session, content, filename=filename[:200] or "lesson-plan", media_type=media_type,
                             at=now)
    row = {"id": str(uuid.uuid4()), "student_id": student_id, "org_path": path_key(student["org_path"]),
           "class_id": student["class_id"], "county_code": _county_of(student), "taught_on": session.taught_on,
           "hours": session.hours, "teachers": list(session.teachers), "content": session.content,
           "lesson_plan_id": stored.id, "recorded_by": caller.subject, "recorded_at": now}
    await uow.session.execute(insert(home_teaching_sessions).values(**row))
    await uow.commit()
    return session_out(row, stored.filename, stored.media_type, stored.sha256, stored.size)


async def record_assistance(uow: UnitOfWork, student_id: str, caller: Principal, aid: Aid) -> dict[str, Any]:
    student = await student_in_scope(uow, student_id, caller)
    row = {"id": str(uuid.uuid4()), "student_id": student_id, "org_path": path_key(student["org_path"]),
           "class_id": student["class_id"], "kind": aid.kind, "amount": aid.amount,
           "period_start": aid.period_start, "period_end": aid.period_end, "source": aid.source,
           "recorded_by": caller.subject, "recorded_at": uow.clock.now()}
    await uow.session.execute(insert(assistance).values(**row))
    await uow.commit()
    return row
