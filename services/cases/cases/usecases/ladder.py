"""The legal ladder's use cases: serve a step (its DOCX and PDF generated from the case and
stored with their SHA-256), record the guardian's response, and escalate, once, a step past its
deadline with nothing recorded. The rules are ``cases.domain.ladder``; reading the steps and their
documents is ``cases.queries.ladder``."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from cases.adapters.documents import DocumentFacts, NoCjkFont, find_font, to_docx, to_pdf
from cases.adapters.tables import cases, legal_documents, legal_steps, students
from cases.domain.ladder import (
    LEGAL_STEPS,
    RECORDERS,
    RESPONDERS,
    GuardianResponse,
    LadderRefused,
    Response,
    Service,
    Step,
    StepRecord,
    check_next,
)
from cases.domain.lifecycle import CaseStatus
from cases.domain.model import escalation_target
from cases.domain.moves import MoveRequest
from cases.queries.ladder import DOCUMENT_TYPES, legal_steps_of
from cases.usecases.common import SYSTEM, add_timeline, opening_of
from cases.usecases.moves import move_case
from shared import audit
from shared.auth import Forbidden, Principal, path_codes
from shared.errors import Conflict, Invalid, NotFound, Problem
from shared.events.cases import LegalStepEscalated
from shared.uow import UnitOfWork


class DocumentsUnavailable(Problem):
    status = 503
    title = "Documents cannot be written"
    slug = "documents-unavailable"


def _today(uow: UnitOfWork, tz: str) -> date:
    return uow.clock.now().astimezone(ZoneInfo(tz)).date()


async def _steps_of(uow: UnitOfWork, case_id: str) -> list[dict[str, Any]]:
    rows = (await uow.session.execute(select(legal_steps).where(legal_steps.c.case_id == case_id))).mappings().all()
    order = list(Step)
    return sorted((dict(r) for r in rows), key=lambda r: order.index(Step(r["step"])))


def _facts(case: Any, guardian: str | None, student: Any, body: Service, tz: str,
           absent_since: datetime) -> DocumentFacts:
    child = case["child"] or {}
    school = next((o for o in case["org_chain"] or [] if o.get("kind") == "school"), {})
    if guardian is None:
        guardians = (student["guardians"] if student else None) or []
        guardian = next((g["name"] for g in guardians if isinstance(g, dict) and g.get("name")), None)
    return DocumentFacts(
        step=body.step, document_number=body.document_number,
        child_name=child.get("name") or "（姓名不详）", child_gender=child.get("gender"),
        child_birth_date=child.get("birth_date"), national_id_masked=child.get("national_id_masked"),
        grade=child.get("grade"), school_name=school.get("name") or case["school_code"],
        guardian=guardian or "学生家长", absent_since=absent_since.astimezone(ZoneInfo(tz)).date(),
        issuer=body.issuing_org_name, served_on=body.served_on, deadline=body.deadline)


def _same_service(row: Any, body: Service, issuer: str) -> bool:
    keys = ("issuing_org_name", "served_on", "served_how", "deadline", "document_number")
    return row["issuing_org_code"] == issuer and all(row[k] == getattr(body, k) for k in keys) and \
        body.guardian in (None, row["guardian"])


async def _absent_since(uow: UnitOfWork, case: Any) -> datetime:
    """When the child was first missed: the opening absence episode's start, else the opening."""
    opened = await opening_of(uow, case["id"])
    try:
        started = datetime.fromisoformat(str(opened.get("episode_started_at")))
    except ValueError:
        return case["opened_at"]
    return started if started.tzinfo else started.replace(tzinfo=UTC)


async def serve_step(uow: UnitOfWork, case: Mapping[str, Any], caller: Principal, body: Service, *, tz: str,
                     font: str | None) -> dict[str, Any]:
    """Record a step served on the guardian; its documents are written in the same transaction,
    so a step never exists without them and a failed document leaves nothing behind."""
    case_id = case["id"]
    step = body.step
    if caller.role not in RECORDERS[step]:
        raise Forbidden(f"the {step.value} is recorded by its issuer: "
                        + ", ".join(sorted(r.value for r in RECORDERS[step])))
    today = _today(uow, tz)
    if body.served_on > today:
        raise Invalid("served_on is in the future", errors=[
            {"field": "served_on", "pointer": "/served_on", "message": "a step is recorded once served"}])
    served = await _steps_of(uow, case_id)
    issuer = body.issuing_org_code or caller.org
    same = next((s for s in served if s["step"] == step.value), None)
    if same is not None and _same_service(same, body, issuer):
        audit.answering(200)  # a retried request: the step as first recorded, nothing written
        return next(s for s in await legal_steps_of(uow, case_id, tz) if s["id"] == same["id"])
    previous = [StepRecord(Step(s["step"]), s["deadline"], Response(s["response"]) if s["response"] else None)
                for s in served]
    try:
        check_next(step, case_status=case["status"], previous=previous, today=today)
    except LadderRefused as exc:
        raise Conflict(str(exc), current_status=case["status"]) from None
    try:
        font_path = find_font(font)
    except NoCjkFont as exc:
        raise DocumentsUnavailable(str(exc)) from None
    student = (await uow.session.execute(select(students.c.guardians).where(
        students.c.student_id == case["child_id"]))).mappings().first()
    facts = _facts(case, body.guardian, student, body, tz, await _absent_since(uow, case))
    now, step_id = uow.clock.now(), str(uuid.uuid4())
    row = {"id": step_id, "case_id": case_id, "step": step.value, "issuing_org_code": issuer,
           "issuing_org_name": body.issuing_org_name, "guardian": facts.guardian,
           "served_on": body.served_on, "served_how": body.served_how, "deadline": body.deadline,
           "document_number": body.document_number,
           "evidence": dict(body.evidence) if body.evidence is not None else None, "response": None,
           "responded_on": None, "response_note": None, "recorded_by": caller.subject, "recorded_at": now,
           "escalated_at": None}
    try:
        await uow.session.execute(insert(legal_steps).values(**row))
    except IntegrityError:
        await uow.rollback()
        raise Conflict(f"case {case_id} already has a {step.value}") from None
    documents = []
    for fmt, content in (("docx", to_docx(facts)), ("pdf", to_pdf(facts, font_path))):
        digest = hashlib.sha256(content).hexdigest()
        await uow.session.execute(insert(legal_documents).values(
            step_id=step_id, format=fmt, content=content, sha256=digest, size=len(content), created_at=now))
        documents.append({"format": fmt, "sha256": digest, "size": len(content), "media_type": DOCUMENT_TYPES[fmt]})
    await add_timeline(uow, case_id, "legal_step_served", {
        "step_id": step_id, "step": step.value, "issuing_org_code": row["issuing_org_code"],
        "served_on": row["served_on"], "served_how": row["served_how"], "deadline": row["deadline"],
        "documents": [{"format": d["format"], "sha256": d["sha256"]} for d in documents]}, actor=caller.subject)
    # The judicial_notice status follows the ladder: from the order on, a persuading case is in
    # legal escalation; the steps stay the record of what was served.
    if step in LEGAL_STEPS and case["status"] == CaseStatus.persuading.value:
        await move_case(uow, case, MoveRequest(
            CaseStatus.judicial_notice, actor=caller.subject,
            evidence={"document_ref": row["document_number"] or step_id}, note=f"legal ladder: {step.value}"))
    await uow.commit()
    return {**row, "documents": documents, "overdue": False}


async def record_response(uow: UnitOfWork, case: Mapping[str, Any], step_id: str, caller: Principal,
                          body: GuardianResponse, *, tz: str) -> dict[str, Any]:
    case_id = case["id"]
    step = (await uow.session.execute(select(legal_steps).where(
        legal_steps.c.id == step_id, legal_steps.c.case_id == case_id))).mappings().first()
    if step is None:
        raise NotFound(f"case {case_id} has no legal step {step_id}")
    if caller.role not in RESPONDERS:
        raise Forbidden("a guardian's response is recorded by the school, the township or the county")
    if body.responded_on < step["served_on"]:
        raise Invalid("responded_on is before served_on", errors=[
            {"field": "responded_on", "pointer": "/responded_on", "message": "must not be before the step was served"}])
    values = {"response": body.response.value, "responded_on": body.responded_on, "response_note": body.note}
    await uow.session.execute(update(legal_steps).where(legal_steps.c.id == step_id).values(**values))
    await add_timeline(uow, case_id, "legal_step_response", {"step_id": step_id, "step": step["step"], **values},
                        actor=caller.subject)
    await uow.commit()
    return next(s for s in await legal_steps_of(uow, case_id, tz) if s["id"] == step_id)


async def escalate_overdue_steps(uow: UnitOfWork, *, tz: str) -> int:
    """Escalate, once, every step of an open case past its deadline with no response: one
    conditional UPDATE claims them (``escalated_at IS NULL``), as for the dual reports."""
    today, now = _today(uow, tz), uow.clock.now()
    claimed = (await uow.session.execute(
        update(legal_steps)
        .where(legal_steps.c.response.is_(None), legal_steps.c.escalated_at.is_(None), legal_steps.c.deadline < today,
               legal_steps.c.case_id.in_(select(cases.c.id).where(cases.c.status != CaseStatus.closed.value)))
        .values(escalated_at=now)
        .returning(legal_steps.c.id, legal_steps.c.case_id, legal_steps.c.step, legal_steps.c.deadline,
                   legal_steps.c.served_on, legal_steps.c.issuing_org_code))).mappings().all()
    if not claimed:
        return 0
    case_rows = {c["id"]: c for c in (await uow.session.execute(
        select(cases.c.id, cases.c.child_id, cases.c.org_path, cases.c.org_chain)
        .where(cases.c.id.in_({r["case_id"] for r in claimed})))).mappings()}
    for step in claimed:
        case = case_rows[step["case_id"]]
        # The issuer's superior is told; an issuer off the org tree (a judicial office) stays the target.
        target = escalation_target(case["org_chain"] or [], path_codes(case["org_path"]), step["issuing_org_code"])
        target_code = target[0] if target else step["issuing_org_code"]
        await add_timeline(uow, step["case_id"], "legal_step_escalated", {
            "step_id": step["id"], "step": step["step"], "deadline": step["deadline"], "to_org_code": target_code},
            at=now, actor=SYSTEM)
        uow.emit(LegalStepEscalated(
            step_id=step["id"], case_id=step["case_id"], student_id=case["child_id"], step=step["step"],
            served_on=step["served_on"], deadline=step["deadline"], issuing_org_code=step["issuing_org_code"],
            escalated_to_org_code=target_code, escalated_at=now), subject=case["child_id"])
    await uow.commit()
    return len(claimed)
