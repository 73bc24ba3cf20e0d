"""Setting an org's own targets (一县一策); reading them is ``reporting.queries.targets``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reporting.adapters.tables import targets as targets_table
from reporting.domain.rates import TARGET_FIELDS, Targets
from reporting.queries.read_model import org_in_scope
from reporting.queries.targets import book, own_row, view
from shared.auth import Principal
from shared.sql import upsert
from shared.uow import UnitOfWork


async def put(uow: UnitOfWork, org_code: str, caller: Principal, values: Mapping[str, float | None],
              defaults: Targets, now: datetime) -> dict[str, Any]:
    """Replace the org's own targets (a field sent as null, or left out, is inherited again).
    Any org at or under the caller's: a county sets its own and its schools'."""
    org = await org_in_scope(uow, org_code, caller)
    await upsert(uow.session, targets_table, {"org_code": org.code}, {
        "org_path": org.path, **{f: values.get(f) for f in TARGET_FIELDS}, "set_at": now,
        "set_by": caller.subject, "set_role": caller.role.value})
    await uow.commit()
    return view(org, await book(uow, org, defaults), await own_row(uow, org.code))
