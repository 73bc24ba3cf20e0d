"""The dual reports (双线报告): issued at a decision or the verification deadline, withdrawn after
a false alarm, acknowledged by their office, escalated up their line when left unacknowledged."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update

from cases.adapters.tables import cases, dual_reports, recipient_offices, timeline
from cases.domain.lifecycle import UNCHECKED, CaseStatus
from cases.domain.model import Recipient, dual_report_recipients, escalation_area, office_for
from cases.usecases.common import (
    SYSTEM,
    add_timeline,
    add_timelines,
    find_students,
    log,
    openings_of,
    timeline_entry,
)
from shared import audit
from shared.auth import OFFICIALS, Principal, Role, path_codes
from shared.envelope import stable_id
from shared.errors import NotFound
from shared.events.reports import DualReportAcknowledged, DualReportEscalated, DualReportIssued, DualReportWithdrawn
from shared.privacy import guardians_for
from shared.uow import UnitOfWork

# The deadline sweep issues this many cases' reports at a time, set-based, and commits them (each
# group is claimed in its own transaction, so a pass cut short leaves the rest to the next, and a
# burst's reports leave as they are decided rather than after the last).
SWEEP_COMMIT_EVERY = 20

# What a dual report says about the child when the student directory knows them.
STUDENT_FACTS = ("name", "national_id_masked", "gender", "birth_date", "flags", "guardians")


def _report_facts(student: Any, case: Any, opening: dict[str, Any]) -> dict[str, Any]:
    """What a recipient needs to act. The report leaves the system, so the national ID and the
    guardians' phones are masked; officials read the full record with their own token. When the
    registry's record has not been read the case's copy of the child fills what it can and
    ``missing_facts`` says what the recipient must ask the school for."""
    child = case["child"] or {}
    who = {"id": case["child_id"], "grade": child.get("grade") if student is None else student["grade"]}
    if student:
        who.update(name=student["name"], national_id_masked=student["national_id_masked"],
                   gender=student["gender"], birth_date=student["birth_date"],
                   flags=student["flags"], guardians=guardians_for(student["guardians"], None))
    else:
        who.update({k: child[k] for k in ("name", "national_id_masked", "gender", "birth_date", "flags")
                    if child.get(k) is not None})
    chain = case["org_chain"] or []
    school = next((o for o in chain if o.get("kind") == "school"), {"code": case["school_code"]})
    missing = [f"student.{k}" for k in STUDENT_FACTS if k not in who]
    if "name" not in school:
        missing.append("school.name")
    absence = None
    if case["origin"] == "absence":  # the episode as threshold_reached described it
        absence = {k: opening.get(k) for k in ("episode_id", "episode_started_at", "hours", "absent_sessions",
                                                "last_absent_at", "threshold_hours", "counting")}
    return {"student": who, "school": school, "class_id": case["class_id"], "origin": case["origin"],
            "opening": {k: v for k, v in opening.items() if k not in ("origin", "verify_by")},
            "absence": absence, "causes": case["causes"] or [], "cause_note": case["cause_note"],
            "missing_facts": missing}




# --- the dual reports -------------------------------------------------------------------------

async def _offices(uow: UnitOfWork, area_codes: set[str]) -> dict[tuple[str, str], tuple[str, str]]:
    rows = (await uow.session.execute(select(recipient_offices).where(
        recipient_offices.c.area_code.in_(sorted(area_codes))))).mappings()
    return {(r["area_code"], r["line"]): (r["office_code"], r["office_name"]) for r in rows}


async def issue_reports(uow: UnitOfWork, case_id: str, *, unverified: bool) -> bool:
    """Issue the case's two reports, once (``issue_reports_of``). Returns whether this call issued them."""
    return bool(await issue_reports_of(uow, [case_id], unverified=unverified))


async def issue_reports_of(uow: UnitOfWork, case_ids: Sequence[str], *, unverified: bool) -> list[str]:
    """Issue each case's two reports, once: the claim (``reports_issued_at IS NULL``) makes a
    confirmation racing the deadline sweep, a redelivery or a second replica issue nothing more.
    Each goes to its line's office of the reporting area. Set-based: a handful of statements for
    any number of cases. Returns the cases this call issued, in the order given."""
    now = uow.clock.now()
    claimed = set((await uow.session.execute(
        update(cases).where(cases.c.id.in_(sorted(set(case_ids))), cases.c.reports_issued_at.is_(None))
        .values(reports_issued_at=now).returning(cases.c.id))).scalars())
    if not claimed:
        return []
    issued = [case_id for case_id in dict.fromkeys(case_ids) if case_id in claimed]
    rows = {row["id"]: row for row in (await uow.session.execute(
        select(cases).where(cases.c.id.in_(sorted(claimed))))).mappings()}
    offices = await _offices(uow, {code for row in rows.values() for code in path_codes(row["org_path"])})
    directory = await find_students(uow, {row["child_id"] for row in rows.values()})
    openings = await openings_of(uow, claimed)
    reports, entries = [], []
    for case_id in issued:
        case = rows[case_id]
        targets = dual_report_recipients(case["org_chain"] or [], path_codes(case["org_path"]), offices)
        facts = _report_facts(directory.get(case["child_id"]), case, openings.get(case_id, {}))
        for target in targets:
            report_id = str(uuid.uuid4())
            reports.append({
                "id": report_id, "case_id": case_id, "recipient": target.recipient.value,
                "recipient_org_code": target.org_code, "recipient_org_name": target.org_name, "issued_at": now,
                "area_code": target.area_code, "unverified": unverified})
            entries.append(timeline_entry(uow, case_id, "dual_report_issued", {
                "recipient": target.recipient.value, "org_code": target.org_code, "area_code": target.area_code,
                "unverified": unverified}, at=now))
            uow.emit(
                DualReportIssued(
                    report_id=report_id, case_id=case_id, recipient=target.recipient.value,
                    recipient_org_code=target.org_code, recipient_org_name=target.org_name,
                    area_code=target.area_code, issued_at=now, unverified=unverified, opened_at=case["opened_at"],
                    **facts, acknowledge=f"/v1/cases/{case_id}/reports/{target.recipient.value}/ack"),
                subject=case["child_id"], key=target.org_code,
                event_id=stable_id("dual_report.issued", case_id, target.recipient.value))
    if reports:
        await uow.session.execute(insert(dual_reports), reports)
    await add_timelines(uow, entries)
    return issued


async def withdraw_reports(uow: UnitOfWork, case: Any, *, reason: str | None) -> None:
    """A false alarm decided after unverified reports went out: a correction to each recipient,
    once per report (claimed by ``withdrawn_at IS NULL``)."""
    now = uow.clock.now()
    withdrawn = (await uow.session.execute(
        update(dual_reports).where(dual_reports.c.case_id == case["id"], dual_reports.c.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
        .returning(dual_reports.c.id, dual_reports.c.recipient, dual_reports.c.recipient_org_code,
                   dual_reports.c.issued_at, dual_reports.c.unverified))).mappings().all()
    for report in sorted(withdrawn, key=lambda r: r["recipient"]):
        await add_timeline(uow, case["id"], "dual_report_withdrawn", {
            "recipient": report["recipient"], "org_code": report["recipient_org_code"], "reason": reason}, at=now)
        uow.emit(
            DualReportWithdrawn(
                report_id=report["id"], case_id=case["id"], recipient=report["recipient"],
                recipient_org_code=report["recipient_org_code"], issued_at=report["issued_at"],
                unverified=report["unverified"], false_alarm_reason=reason, withdrawn_at=now),
            subject=case["child_id"], key=report["recipient_org_code"],
            event_id=stable_id("dual_report.withdrawn", report["id"]))


async def issue_unverified_reports(uow: UnitOfWork) -> int:
    """The verification deadline: every unchecked case whose deadline has passed, whose reports
    have not gone out and whose child is not known to back, is reported now, marked unverified
    (``cases.domain.model.deadline_reports_due``, stated here as one set-based claim; a late or
    missed pass still finds them all, and each case is claimed by one transaction)."""
    now = uow.clock.now()
    due = (await uow.session.execute(
        select(cases.c.id).where(
            cases.c.reports_issued_at.is_(None), cases.c.verify_due_at <= now,
            cases.c.status.in_([s.value for s in UNCHECKED]),
            or_(cases.c.back_at.is_(None), cases.c.back_at > cases.c.verify_due_at))
        .order_by(cases.c.verify_due_at))).scalars().all()
    issued = 0
    for start in range(0, len(due), SWEEP_COMMIT_EVERY):
        issued += len(await issue_reports_of(uow, due[start:start + SWEEP_COMMIT_EVERY], unverified=True))
        await uow.commit()  # a burst's reports leave as they are decided, not after the last
    await uow.commit()
    if issued:
        log.info("dual_reports.issued_unverified", cases=issued)
    return issued




# --- acknowledgement and escalation -----------------------------------------------------------

async def acknowledge(uow: UnitOfWork, case_id: str, recipient: Recipient, caller: Principal) -> dict[str, Any]:
    """Idempotent: acknowledging twice changes nothing and emits nothing the second time. The
    recipient office itself acknowledges (a ``recipient`` token of that office), or an official of
    the office's area for it (a township, county, city or province official of that area); to
    anyone else the report does not exist."""
    report = (await uow.session.execute(
        select(dual_reports).where(dual_reports.c.case_id == case_id, dual_reports.c.recipient == recipient.value)
    )).mappings().first()
    case_path = (await uow.session.execute(select(cases.c.org_path).where(cases.c.id == case_id))).scalar_one_or_none()
    if report is None or not _acknowledges(caller, report, path_codes(case_path or "/")):
        raise NotFound(f"case {case_id} has no {recipient.value} report")
    audit.note_place(path_codes(case_path))
    if report["acknowledged_at"] is None:
        now = uow.clock.now()
        claimed = (await uow.session.execute(
            update(dual_reports).where(dual_reports.c.id == report["id"], dual_reports.c.acknowledged_at.is_(None))
            .values(acknowledged_at=now).returning(dual_reports.c.id)
        )).first()
        if claimed:
            case = (await uow.session.execute(select(cases.c.child_id).where(cases.c.id == case_id))).scalar_one()
            await add_timeline(uow, case_id, "dual_report_acknowledged", {"recipient": recipient.value}, at=now)
            uow.emit(
                DualReportAcknowledged(report_id=report["id"], case_id=case_id, recipient=recipient.value,
                                       recipient_org_code=report["recipient_org_code"], acknowledged_at=now),
                subject=case, key=report["recipient_org_code"],
                event_id=stable_id("dual_report.acknowledged", case_id, recipient.value))
        await uow.commit()
    row = (await uow.session.execute(
        select(dual_reports).where(dual_reports.c.case_id == case_id, dual_reports.c.recipient == recipient.value)
    )).mappings().one()
    return dict(row)


def _acknowledges(caller: Principal, report: Any, case_path: list[str]) -> bool:
    """The office itself (its ``recipient`` token), or an official of the office's area, at
    whatever level: the area's own officials or those above it on the case's path."""
    if caller.role is Role.recipient:
        return caller.org == report["recipient_org_code"]
    area = report["area_code"] or report["recipient_org_code"]
    return caller.role in OFFICIALS and area in case_path and caller.org in case_path[: case_path.index(area) + 1]


async def escalate_overdue(uow: UnitOfWork, deadline: timedelta) -> int:
    """Escalate, once, every dual report of an open case left unacknowledged past the deadline.

    One conditional UPDATE claims them all (``escalated_at IS NULL``): with two replicas sweeping
    at once, PostgreSQL re-checks the condition after the row lock and SQLite serialises the
    writers, so each report is claimed by exactly one transaction, which also writes its events."""
    now = uow.clock.now()
    claimed = (await uow.session.execute(
        update(dual_reports)
        .where(dual_reports.c.acknowledged_at.is_(None), dual_reports.c.escalated_at.is_(None),
               dual_reports.c.issued_at <= now - deadline, dual_reports.c.withdrawn_at.is_(None),
               dual_reports.c.case_id.in_(select(cases.c.id).where(cases.c.status != CaseStatus.closed.value)))
        .values(escalated_at=now)
        .returning(dual_reports.c.id, dual_reports.c.case_id, dual_reports.c.recipient,
                   dual_reports.c.recipient_org_code, dual_reports.c.issued_at, dual_reports.c.area_code)
    )).mappings().all()
    if not claimed:
        return 0
    case_rows = {c["id"]: c for c in (await uow.session.execute(
        select(cases.c.id, cases.c.child_id, cases.c.org_path, cases.c.org_chain)
        .where(cases.c.id.in_({r["case_id"] for r in claimed})))).mappings()}
    offices = await _offices(uow, {c for row in case_rows.values() for c in path_codes(row["org_path"])})
    targets, entries = [], []
    for report in claimed:
        case = case_rows[report["case_id"]]
        names = {o["code"]: o.get("name") or o["code"] for o in case["org_chain"] or []}
        # Up its own line: the same line's office of the area above (双线). At the top of the
        # path there is no area above: the recipient is reminded instead.
        area = escalation_area(path_codes(case["org_path"]), report["area_code"] or report["recipient_org_code"])
        line = Recipient(report["recipient"])
        if area is None:
            target_code, target_name = report["recipient_org_code"], ""
        else:
            office = office_for(area, names.get(area, area), line, offices)
            target_code, target_name = office.org_code, office.org_name
        targets.append({"rid": report["id"], "code": target_code, "name": target_name})
        entries.append({"case_id": report["case_id"], "at": now, "kind": "dual_report_escalated", "actor": SYSTEM,
                        "detail": {"recipient": report["recipient"], "from_org_code": report["recipient_org_code"],
                                   "to_org_code": target_code, "to_area_code": area}})
        uow.emit(
            DualReportEscalated(
                report_id=report["id"], case_id=report["case_id"], recipient=report["recipient"],
                recipient_org_code=report["recipient_org_code"], escalated_to_org_code=target_code,
                escalated_to_area_code=area, escalated_to_org_name=target_name, issued_at=report["issued_at"],
                deadline_hours=deadline.total_seconds() / 3600, escalated_at=now),
            subject=case["child_id"], key=target_code, event_id=stable_id("dual_report.escalated", report["id"]))
    await uow.session.execute(insert(timeline), entries)
    await uow.session.execute(
        update(dual_reports).where(dual_reports.c.id == bindparam("rid"))
        .values(escalated_to_org_code=bindparam("code"), escalated_to_org_name=bindparam("name")), targets)
    await uow.commit()
    log.info("dual_reports.escalated", count=len(claimed))
    return len(claimed)
