"""Roll-call completeness (动态监测) from attendance's events, the way DHIS2 counts a reporting
rate: per unit and period, the class-sessions expected, taken, and taken on time, and the two
rates. Seed 000 asks each weekly report for "控辍保学动态监测机制建立情况": a school whose classes
do not take their roll calls has no monitoring, whatever its dropout figures say."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import select

from reporting.adapters.tables import roll_call_sessions
from reporting.domain.rates import ratio
from reporting.queries.read_model import org_in_scope, orgs_under, unit_of
from shared.auth import Principal
from shared.errors import Invalid
from shared.paths import within as at_or_under
from shared.uow import UnitOfWork

Unit = Literal["school", "township", "county"]
Period = Literal["day", "week"]
# A school below this share of its expected roll calls taken in the week lags (is named).
LAGGING_BELOW = 0.95


def _figures(expected: int, taken: int, on_time: int) -> dict[str, Any]:
    return {"expected": expected, "taken": taken, "taken_on_time": on_time,
            "completeness_rate": ratio(taken, expected), "timeliness_rate": ratio(on_time, expected)}


async def _rows(uow: UnitOfWork, under: str, start: date, end: date) -> list[Any]:
    """Expected class-sessions under an org in [start, end], one set-based query."""
    return list((await uow.session.execute(
        select(roll_call_sessions.c.path, roll_call_sessions.c.date, roll_call_sessions.c.taken,
               roll_call_sessions.c.on_time)
        .where(at_or_under(roll_call_sessions.c.path, under), roll_call_sessions.c.expected,
               roll_call_sessions.c.date >= start, roll_call_sessions.c.date <= end))).all())


async def completeness(uow: UnitOfWork, org_code: str, caller: Principal, *, start: date, end: date, unit: Unit,
                       period: Period) -> dict[str, Any]:
    if start > end or (end - start).days > 366:
        raise Invalid("from must be on or before to, at most 366 days apart",
                      errors=[{"field": "from", "pointer": "/from", "message": "range"}])
    org = await org_in_scope(uow, org_code, caller)
    kinds = await orgs_under(uow, org)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    total = [0, 0, 0]
    for r in await _rows(uow, org.path, start, end):
        code = r.path.strip("/").split("/")[-1] if unit == "school" else unit_of(r.path, unit, kinds)
        iso = r.date.isocalendar()
        label = r.date.isoformat() if period == "day" else f"{iso.year}-W{iso.week:02d}"
        for bucket in (counts[(code or "", label)], total):
            bucket[0] += 1
            bucket[1] += int(r.taken)
            bucket[2] += int(r.taken and r.on_time)
    items = [{"unit_code": code or None, "unit_name": kinds.get(code, {}).get("name"), "period": label,
              **_figures(*c)} for (code, label), c in sorted(counts.items())]
    return {"org_code": org.code, "from": start, "to": end, "unit": unit, "period": period,
            "totals": _figures(*total), "items": items}


async def week_by_school(uow: UnitOfWork, under: str, friday: date) -> dict[str, tuple[int, int, int]]:
    """school code -> (expected, taken, on time) for the report week ending on ``friday``."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in await _rows(uow, under, friday - timedelta(days=6), friday):
        c = out[r.path.strip("/").split("/")[-1]]
        c[0] += 1
        c[1] += int(r.taken)
        c[2] += int(r.taken and r.on_time)
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}
