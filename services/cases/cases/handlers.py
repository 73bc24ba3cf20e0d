"""Cases use cases: open from absence, issue and acknowledge dual reports, keep the timeline."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import structlog
from sqlalchemy import insert, select, update

from shared import audit
from shared.auth import Principal
from shared.envelope import TOPIC_CASES, TOPIC_REPORTS, Event, stable_id
from shared.errors import NotFound
from shared.pagination import PageParams
from shared.privacy import guardians_for
from shared.sql import fetch_page, upsert
from shared.uow import UnitOfWork

from cases.adapters.tables import cases, dual_reports, students, timeline
from cases.domain.model import CaseStatus, Recipient, dual_report_recipients

log = structlog.get_logger("baoxue.cases")

CASE_OPENED = "baoxue.cases.case.opened"
CASE_STATUS_CHANGED = "baoxue.cases.case.status_changed"
CASE_CLOSED = "baoxue.cases.case.closed"
REPORT_ISSUED = "baoxue.cases.dual_report.issued"
REPORT_ACKNOWLEDGED = "baoxue.cases.dual_report.acknowledged"
SYSTEM = "system"


def path_string(org_path: list[str]) -> str:
    return "/" + "/".join(org_path) + "/"


# --- registry events: the student directory ---------------------------------------------------

async def on_student_enrolled(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    values = {
        "name": d["name"], "national_id_masked": d["national_id_masked"], "gender": d["gender"],
        "birth_date": str(d["birth_date"]), "school_code": d["school_code"], "class_id": d["class_id"],
        "grade": d["grade"], "org_path": d["org_path"], "org_chain": d.get("org_chain", []),
        "flags": d.get("flags", []), "guardians": d.get("guardians", []), "status": d.get("status", "enrolled"),
    }
    await upsert(uow.session, students, {"student_id": d["student_id"]}, values)


async def on_student_status_changed(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    await uow.session.execute(
        update(students).where(students.c.student_id == d["student_id"]).values(status=d["status"]))


# --- attendance events ----------------------------------------------------------------------

async def on_threshold_reached(uow: UnitOfWork, event: Event) -> None:
    """Open the student's case and issue both dual reports, or, if a case is already open, add
    the new episode to its timeline. The partial unique index on open cases backs this up: a
    racing replica's insert fails, its consumer retries and takes the timeline branch."""
    d = event.data
    now = uow.clock.now()
    open_case = (await uow.session.execute(
        select(cases.c.id).where(cases.c.student_id == d["student_id"], cases.c.status != CaseStatus.closed.value)
    )).scalar_one_or_none()
    absence = {k: d.get(k) for k in ("episode_id", "episode_started_at", "hours", "absent_sessions",
                                      "last_absent_at", "threshold_hours", "counting")}
    if open_case is not None:
        await _add_timeline(uow, open_case, "absence_episode_added", absence, at=now)
        return

    student = (await uow.session.execute(
        select(students).where(students.c.student_id == d["student_id"]))).mappings().first()
    # The event's own chain first: the registry topic may not have been read yet.
    org_chain = d.get("org_chain") or (student["org_chain"] if student else [])
    case_id = str(uuid.uuid4())
    await uow.session.execute(insert(cases).values(
        id=case_id, student_id=d["student_id"], status=CaseStatus.reported.value, origin="absence",
        episode_id=d.get("episode_id"), school_code=d["school_code"], class_id=d.get("class_id"),
        org_path=path_string(d["org_path"]),
        opened_at=now, updated_at=now,
    ))
    await _add_timeline(uow, case_id, "opened", {"origin": "absence", **absence}, at=now)
    uow.emit(
        topic=TOPIC_CASES, type=CASE_OPENED, subject=d["student_id"], event_id=stable_id("case.opened", case_id),
        data={"case_id": case_id, "student_id": d["student_id"], "status": CaseStatus.reported.value,
              "origin": "absence", "school_code": d["school_code"], "org_path": d["org_path"],
              "grade": d.get("grade"), "opened_at": now, "absence": absence},
    )
    facts = _report_facts(student, d, absence, org_chain)
    for target in dual_report_recipients(org_chain, d["org_path"]):
        report_id = str(uuid.uuid4())
        await uow.session.execute(insert(dual_reports).values(
            id=report_id, case_id=case_id, recipient=target.recipient.value, recipient_org_code=target.org_code,
            recipient_org_name=target.org_name, issued_at=now,
        ))
        await _add_timeline(uow, case_id, "dual_report_issued",
                            {"recipient": target.recipient.value, "org_code": target.org_code}, at=now)
        uow.emit(
            topic=TOPIC_REPORTS, type=REPORT_ISSUED, subject=d["student_id"], key=target.org_code,
            event_id=stable_id("dual_report.issued", case_id, target.recipient.value),
            data={"report_id": report_id, "case_id": case_id, "recipient": target.recipient.value,
                  "recipient_org_code": target.org_code, "recipient_org_name": target.org_name,
                  "issued_at": now, **facts,
                  "acknowledge": f"/v1/cases/{case_id}/reports/{target.recipient.value}/ack"},
        )
    log.info("case.opened", case_id=case_id, origin="absence")


async def on_student_returned(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    open_case = (await uow.session.execute(
        select(cases.c.id).where(cases.c.student_id == d["student_id"], cases.c.status != CaseStatus.closed.value)
    )).scalar_one_or_none()
    if open_case is not None:
        await _add_timeline(uow, open_case, "student_returned", {"returned_at": d.get("returned_at"),
                                                                  "episode_id": d.get("episode_id")})


def _report_facts(student: Any, d: dict[str, Any], absence: dict[str, Any],
                  chain: list[dict[str, str]]) -> dict[str, Any]:
    """What a recipient needs to act. The report leaves the system, so the national ID and the
    guardians' phones are masked; officials read the full record with their own token."""
    who = {"id": d["student_id"]}
    if student:
        who.update(name=student["name"], national_id_masked=student["national_id_masked"],
                   gender=student["gender"], birth_date=student["birth_date"], grade=student["grade"],
                   flags=student["flags"], guardians=guardians_for(student["guardians"], None))
    school = next((o for o in chain if o.get("kind") == "school"), {"code": d["school_code"]})
    return {"student": who, "school": school, "class_id": d["class_id"], "absence": absence}


# --- acknowledgement --------------------------------------------------------------------------

async def acknowledge(uow: UnitOfWork, case_id: str, recipient: Recipient, caller: Principal) -> dict[str, Any]:
    """Idempotent: acknowledging twice changes nothing and emits nothing the second time. Only
    the recipient org itself may acknowledge; to anyone else the report does not exist."""
    report = (await uow.session.execute(
        select(dual_reports).where(dual_reports.c.case_id == case_id, dual_reports.c.recipient == recipient.value)
    )).mappings().first()
    if report is None or report["recipient_org_code"] != caller.org:
        raise NotFound(f"case {case_id} has no {recipient.value} report")
    case_path = (await uow.session.execute(select(cases.c.org_path).where(cases.c.id == case_id))).scalar_one()
    audit.note_place([c for c in case_path.split("/") if c])
    if report["acknowledged_at"] is None:
        now = uow.clock.now()
        claimed = (await uow.session.execute(
            update(dual_reports).where(dual_reports.c.id == report["id"], dual_reports.c.acknowledged_at.is_(None))
            .values(acknowledged_at=now).returning(dual_reports.c.id)
        )).first()
        if claimed:
            case = (await uow.session.execute(select(cases.c.student_id).where(cases.c.id == case_id))).scalar_one()
            await _add_timeline(uow, case_id, "dual_report_acknowledged", {"recipient": recipient.value}, at=now)
            uow.emit(
                topic=TOPIC_REPORTS, type=REPORT_ACKNOWLEDGED, subject=case, key=report["recipient_org_code"],
                event_id=stable_id("dual_report.acknowledged", case_id, recipient.value),
                data={"report_id": report["id"], "case_id": case_id, "recipient": recipient.value,
                      "recipient_org_code": report["recipient_org_code"], "acknowledged_at": now},
            )
        await uow.commit()
    return await _report_out(uow, case_id, recipient)


async def _report_out(uow: UnitOfWork, case_id: str, recipient: Recipient) -> dict[str, Any]:
    row = (await uow.session.execute(
        select(dual_reports).where(dual_reports.c.case_id == case_id, dual_reports.c.recipient == recipient.value)
    )).mappings().one()
    return dict(row)


# --- reads ------------------------------------------------------------------------------------

async def _add_timeline(uow: UnitOfWork, case_id: str, kind: str, detail: dict[str, Any], *,
                        at: datetime | None = None, actor: str = SYSTEM) -> None:
    await uow.session.execute(insert(timeline).values(
        case_id=case_id, at=at or uow.clock.now(), kind=kind, actor=actor, detail=_jsonable(detail)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    return value


async def get_case(uow: UnitOfWork, case_id: str, caller: Principal) -> dict[str, Any]:
    row = (await uow.session.execute(select(cases).where(cases.c.id == case_id))).mappings().first()
    if row is None or not audit.sees(caller, _case_out(row)["org_path"], row["class_id"]):
        raise NotFound(f"no case with id {case_id}")
    reports = (await uow.session.execute(
        select(dual_reports).where(dual_reports.c.case_id == case_id).order_by(dual_reports.c.recipient))).mappings().all()
    entries = (await uow.session.execute(
        select(timeline).where(timeline.c.case_id == case_id).order_by(timeline.c.id))).mappings().all()
    return {**_case_out(row), "reports": [dict(r) for r in reports], "timeline": [dict(e) for e in entries]}


def _case_out(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["org_path"] = [c for c in row["org_path"].split("/") if c]
    return out


async def list_cases(uow: UnitOfWork, page: PageParams, caller: Principal, *, student_id: str | None,
                     status: str | None, org_code: str | None) -> tuple[list[dict[str, Any]], int]:
    conditions = caller.scope_filter(cases.c.org_path, cases.c.class_id)
    if student_id:
        conditions.append(cases.c.student_id == student_id)
    if status:
        conditions.append(cases.c.status == status)
    if org_code:
        conditions.append(cases.c.org_path.contains(f"/{org_code}/", autoescape=True))
    stmt = select(cases).where(*conditions).order_by(cases.c.opened_at.desc(), cases.c.id)
    rows, total = await fetch_page(uow.session, stmt, limit=page.limit, offset=page.offset)
    return [_case_out(r) for r in rows], total
