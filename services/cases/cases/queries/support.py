"""Reads of the work that belongs to the child rather than a case: the home-teaching sessions
(送教上门) with their lesson plans, the per-county teaching counts, the targeted assistance, and
the county report that shows no child dropped out for poverty (seed 000: 无一例因贫辍学)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select

from cases.adapters.files import DEFAULT_STORE, FileStore
from cases.adapters.tables import assistance, cases, home_teaching_sessions, students
from cases.queries.scope import locate_org, student_in_scope
from shared.auth import Principal
from shared.errors import NotFound
from shared.paths import naming, within
from shared.uow import UnitOfWork

# A child on the roll for the poverty proof: attending, or taught or placed by the school.
ON_ROLL = ("enrolled", "transferred_in", "boarding_elsewhere", "suspended", "home_teaching")


def session_out(row: Any, filename: str, media_type: str, sha256: str, size: int) -> dict[str, Any]:
    """A session as the API answers it, with its lesson plan's file facts."""
    return {**{k: row[k] for k in ("id", "student_id", "taught_on", "hours", "teachers", "content", "recorded_by",
                                   "recorded_at")},
            "lesson_plan": {"id": row["lesson_plan_id"], "filename": filename, "media_type": media_type,
                            "sha256": sha256, "size": size}}


async def list_sessions(uow: UnitOfWork, student_id: str, caller: Principal, *,
                        store: FileStore = DEFAULT_STORE) -> list[dict[str, Any]]:
    await student_in_scope(uow, student_id, caller)
    rows = (await uow.session.execute(select(home_teaching_sessions).where(
        home_teaching_sessions.c.student_id == student_id).order_by(home_teaching_sessions.c.taught_on))).mappings()
    out = []
    for r in rows:
        found = await store.get(uow.session, r["lesson_plan_id"])
        plan = found[0] if found else None
        out.append(session_out(r, plan.filename if plan else "", plan.media_type if plan else "",
                               plan.sha256 if plan else "", plan.size if plan else 0))
    return out


async def lesson_plan(uow: UnitOfWork, student_id: str, session_id: str, caller: Principal, *,
                      store: FileStore = DEFAULT_STORE) -> tuple[bytes, str, str]:
    await student_in_scope(uow, student_id, caller)
    plan_id = (await uow.session.execute(select(home_teaching_sessions.c.lesson_plan_id).where(
        home_teaching_sessions.c.id == session_id, home_teaching_sessions.c.student_id == student_id))
    ).scalar_one_or_none()
    found = await store.get(uow.session, plan_id) if plan_id else None
    if found is None:
        raise NotFound(f"student {student_id} has no home-teaching session {session_id}")
    stored, content = found
    return content, stored.media_type, stored.sha256


async def home_teaching_counts(uow: UnitOfWork, caller: Principal, *, org_code: str, since: date,
                               until: date) -> list[dict[str, Any]]:
    """Per county: children taught at home, distinct teachers and sessions in [since, until]
    (seed 000: 组织xx名教师为x名学生提供送教上门服务). Teachers are counted in Python from one query:
    they are a JSON list per session, which SQLite and PostgreSQL unnest differently."""
    await locate_org(uow, org_code, caller)
    s = home_teaching_sessions
    rows = (await uow.session.execute(
        select(s.c.county_code, s.c.student_id, s.c.teachers, s.c.hours)
        .where(*caller.scope_filter(s.c.org_path, s.c.class_id), naming(s.c.org_path, org_code),
               s.c.taught_on >= since, s.c.taught_on <= until))).all()
    counties: dict[str, dict[str, Any]] = {}
    for county, student, teachers, hours in rows:
        c = counties.setdefault(county or "", {"children": set(), "teachers": set(), "sessions": 0,
                                               "hours": Decimal(0)})
        c["children"].add(student)
        c["teachers"].update(teachers or [])
        c["sessions"] += 1
        c["hours"] += Decimal(hours)
    return [{"county_code": code or None, "children": len(c["children"]), "teachers": len(c["teachers"]),
             "sessions": c["sessions"], "hours": float(c["hours"]),
             "summary": f"组织{len(c['teachers'])}名教师为{len(c['children'])}名学生提供送教上门服务"}
            for code, c in sorted(counties.items())]


# --- targeted assistance ---------------------------------------------------------------------

async def list_assistance(uow: UnitOfWork, student_id: str, caller: Principal) -> list[dict[str, Any]]:
    await student_in_scope(uow, student_id, caller)
    return [dict(r) for r in (await uow.session.execute(select(assistance).where(
        assistance.c.student_id == student_id).order_by(assistance.c.period_start))).mappings()]


async def poverty_report(uow: UnitOfWork, caller: Principal, *, org_code: str, on: date) -> dict[str, Any]:
    """无因贫辍学: the registered-poor children on the roll, with and without targeted aid covering
    ``on``; the confirmed dropouts whose cause is poverty (the proof is that there are none); and,
    beside them, every confirmed dropout from a registered-poor household, whatever its cause."""
    path, _ = await locate_org(uow, org_code, caller)
    under = f"/{org_code}/"
    aid = assistance.alias("aid")
    covered = exists().where(aid.c.student_id == students.c.student_id, aid.c.period_start <= on,
                             aid.c.period_end >= on)
    total = select(func.coalesce(func.sum(aid.c.amount), 0)).where(
        aid.c.student_id == students.c.student_id, aid.c.period_start <= on, aid.c.period_end >= on).scalar_subquery()
    poor = (await uow.session.execute(
        select(students.c.student_id, students.c.name, students.c.school_code, students.c.class_id,
               students.c.org_path, students.c.flags, students.c.status, covered.label("aided"), total.label("amount"))
        .where(students.c.status.in_(ON_ROLL),
               within(students.c.org_path, path), naming(students.c.flags, "poor_household"))
        .order_by(students.c.school_code, students.c.name))).mappings().all()
    poor = [r for r in poor if org_code in r["org_path"] and "poor_household" in (r["flags"] or [])
            and caller.sees(r["org_path"], r["class_id"])]
    children = [{"student_id": r["student_id"], "name": r["name"], "school_code": r["school_code"],
                 "class_id": r["class_id"], "aided": bool(r["aided"]), "amount": float(r["amount"] or 0)}
                for r in poor]
    dropouts = (await uow.session.execute(
        select(cases.c.id, cases.c.child_id.label("student_id"), cases.c.child, cases.c.school_code,
               cases.c.status, cases.c.confirmed_at)
        .where(*caller.scope_filter(cases.c.org_path, cases.c.class_id), cases.c.org_path.contains(under, autoescape=True),
               cases.c.confirmed_at.is_not(None), cases.c.flags.contains("/poor_household/", autoescape=True))
        .order_by(cases.c.confirmed_at))).mappings().all()
    # The dropouts whose confirmation names poverty (因贫) as a cause, whatever the household's
    # flag says: these are what "no child dropped out for poverty" must show to be none. Few rows
    # (a county's confirmed dropouts), so the JSON list is read here rather than in SQL.
    confirmed = (await uow.session.execute(
        select(cases.c.id, cases.c.child_id.label("student_id"), cases.c.child, cases.c.school_code,
               cases.c.status, cases.c.confirmed_at, cases.c.causes)
        .where(*caller.scope_filter(cases.c.org_path, cases.c.class_id), cases.c.org_path.contains(under, autoescape=True),
               cases.c.confirmed_at.is_not(None), cases.c.causes.is_not(None))
        .order_by(cases.c.confirmed_at))).mappings().all()
    for_poverty = [d for d in confirmed if "poverty" in (d["causes"] or [])]
    return {
        "org_code": org_code, "org_path": path, "on": on,
        "poor_on_roll": len(children), "with_aid": sum(c["aided"] for c in children),
        "without_aid": sum(not c["aided"] for c in children),
        "children": children,
        "poor_household_dropouts": [_dropout(d) for d in dropouts],
        "poverty_dropouts": [_dropout(d) for d in for_poverty],
        "no_poverty_dropout": not for_poverty,
    }



def _dropout(d: Any) -> dict[str, Any]:
    return {"case_id": d["id"], "student_id": d["student_id"], "name": (d["child"] or {}).get("name"),
            "school_code": d["school_code"], "status": d["status"], "confirmed_at": d["confirmed_at"]}
