"""Calendar layers: a school's own or a region's default, set whole or by imported dated
entries; the episodes below the org are recomputed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select

from attendance.adapters.inputs import calendar_of
from attendance.adapters.tables import LIVE, calendars, episodes, roster
from attendance.queries.calendars import describe
from attendance.queries.scope import org_in_scope, under
from attendance.settings import AttendanceSettings
from attendance.usecases.episodes import sync_episodes
from shared.auth import Principal
from shared.uow import UnitOfWork


async def put_calendar(uow: UnitOfWork, settings: AttendanceSettings, code: str, layer: dict[str, Any],
                       caller: Principal) -> dict[str, Any]:
    """Replace one org's calendar layer (a county's default or a school's own); ``layer`` is the
    layer's document as stored (JSON values, only the fields the caller set)."""
    path = await org_in_scope(uow, code, caller)
    return await _store_layer(uow, settings, code, path, layer)


async def import_calendar_entries(uow: UnitOfWork, settings: AttendanceSettings, code: str,
                                  entries: Iterable[tuple[date, str]], caller: Principal) -> dict[str, Any]:
    """Merge dated entries ((date, kind): holiday, school_day, make_up_day) into an org's calendar
    layer; a date named again takes its new kind."""
    path = await org_in_scope(uow, code, caller)
    doc = (await uow.session.execute(
        select(calendars.c.body).where(calendars.c.org_code == code))).scalar_one_or_none() or {}
    named = {day.isoformat(): kind for day, kind in entries}
    doc = dict(doc)
    doc["holidays"] = sorted({d for d in doc.get("holidays", []) if d not in named}
                             | {d for d, k in named.items() if k == "holiday"})
    doc["make_up_days"] = sorted({d for d in doc.get("make_up_days", []) if d not in named}
                                 | {d for d, k in named.items() if k != "holiday"})
    return await _store_layer(uow, settings, code, path, doc)


async def _store_layer(uow: UnitOfWork, settings: AttendanceSettings, code: str, path: list[str],
                       doc: dict[str, Any]) -> dict[str, Any]:
    await uow.session.execute(delete(calendars).where(calendars.c.org_code == code))
    await uow.session.execute(insert(calendars).values(org_code=code, body=doc, updated_at=uow.clock.now()))
    # Every episode below this org may be due at another instant now, an ended one too: its
    # observation may appear (it is due earlier) or go (a holiday moves it past the return).
    affected = (await uow.session.execute(
        select(episodes.c.student_id).join(roster, roster.c.student_id == episodes.c.student_id)
        .where(LIVE, under(code)).distinct())).scalars().all()
    await sync_episodes(uow, settings, sorted(affected))
    await uow.commit()
    return {"code": code, "school_code": code, "layer": doc,
            "effective": describe(await calendar_of(uow, settings, path)), "recomputed_students": len(affected)}
