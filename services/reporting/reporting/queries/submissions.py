"""Reads of the frozen submissions of the weekly and monthly reports: what a county sent, kept as
canonical JSON with its SHA-256, who sent it and when; what has changed since; and, for a city,
which counties sent the week's report by the deadline. Submitting is
``reporting.usecases.submissions``."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from reporting.adapters.tables import submissions
from reporting.domain.submissions import Deadline, changes, standing
from reporting.domain.weeks import Week
from reporting.queries.read_model import org_in_scope, orgs_under
from shared.auth import Principal
from shared.errors import NotFound
from shared.paths import within as at_or_under
from shared.uow import UnitOfWork

Kind = Literal["weekly", "monthly"]
# The report as the API answers it (JSON-ready), computed now.
Compute = Callable[[], Awaitable[dict[str, Any]]]
SUMMARY = ("id", "kind", "org_code", "period", "submitted_at", "submitted_by", "submitted_role", "sha256")


async def listed(uow: UnitOfWork, kind: Kind, org_code: str, period: str, caller: Principal) -> dict[str, Any]:
    org = await org_in_scope(uow, org_code, caller)
    rows = (await uow.session.execute(
        select(*(submissions.c[k] for k in SUMMARY)).where(
            submissions.c.kind == kind, submissions.c.org_code == org.code, submissions.c.period == period)
        .order_by(submissions.c.submitted_at.desc(), submissions.c.id.desc()))).mappings().all()
    return {"items": [dict(r) for r in rows]}


async def shown(uow: UnitOfWork, kind: Kind, org_code: str, period: str, submission_id: int, caller: Principal,
                compute: Compute) -> dict[str, Any]:
    """The submission with its figures, and every figure a recomputation now gives differently
    (events that arrived late, a correction in the registry): the page the city reads."""
    org = await org_in_scope(uow, org_code, caller)
    row = (await uow.session.execute(select(submissions).where(
        submissions.c.id == submission_id, submissions.c.kind == kind, submissions.c.org_code == org.code,
        submissions.c.period == period))).mappings().first()
    if row is None:
        raise NotFound(f"no {kind} submission {submission_id} of {org_code} for {period}")
    figures = json.loads(row["body"])
    now = await compute()
    diff = changes(figures, now)
    return {**{k: row[k] for k in SUMMARY}, "figures": figures, "changed": bool(diff),
            "changes": [vars(c) for c in diff], "recomputed_as_of": now.get("as_of")}


async def standings(uow: UnitOfWork, org_code: str, week: Week, caller: Principal, *, deadline: Deadline,
                    tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """Every county under the org (a city, a province) with its weekly standing: on time, late,
    missing after the deadline, or pending before it."""
    org = await org_in_scope(uow, org_code, caller)
    kinds = await orgs_under(uow, org)
    due = deadline.instant(week.year, week.week, tz)
    times: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for r in (await uow.session.execute(select(submissions.c.org_code, submissions.c.submitted_at, submissions.c.id)
                                        .where(submissions.c.kind == "weekly", submissions.c.period == str(week),
                                               at_or_under(submissions.c.org_path, org.path)))).all():
        times[r.org_code].append((r.submitted_at, r.id))
    counties = []
    for code in sorted(c for c, o in kinds.items() if o["kind"] == "county"):
        sent = sorted(times.get(code, []))
        counties.append({"code": code, "name": kinds[code]["name"],
                         "standing": standing(sent[0][0] if sent else None, due, now),
                         "first_submitted_at": sent[0][0] if sent else None,
                         "last_submitted_at": sent[-1][0] if sent else None,
                         "submissions": len(sent), "latest_id": sent[-1][1] if sent else None})
    return {"org_code": org.code, "org_name": org.name, "week": str(week), "deadline": due, "counties": counties}
