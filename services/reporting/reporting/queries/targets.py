"""Targets per org (一县一策): an org's own targets, set over HTTP and kept in their own table (not
a projection: a rebuild keeps them), and the targets each unit of a report is judged against.
Setting them is ``reporting.usecases.targets``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from reporting.adapters.tables import targets as targets_table
from reporting.domain.rates import TARGET_FIELDS, Targets, resolve
from reporting.queries.read_model import Org, org_in_scope
from shared.auth import Principal, path_codes
from shared.paths import within as at_or_under
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class TargetBook:
    """The own targets of the orgs on and under a report's org, and the defaults: what any unit
    (by its path) is held to."""

    own: Mapping[str, Mapping[str, float | None]]
    defaults: Targets

    def for_path(self, path: str) -> Targets:
        return resolve(path_codes(path), self.own, self.defaults)[0]

    def sources(self, path: str) -> dict[str, str]:
        return resolve(path_codes(path), self.own, self.defaults)[1]


async def book(uow: UnitOfWork, org: Org, defaults: Targets) -> TargetBook:
    """One read of the small targets table: the org's own, those above it (inherited) and those
    under it (its schools' and townships' own)."""
    t = targets_table
    rows = (await uow.session.execute(select(t).where(or_(
        t.c.org_code.in_(path_codes(org.path)), at_or_under(t.c.org_path, org.path))))).mappings().all()
    return TargetBook({r["org_code"]: {f: r[f] for f in TARGET_FIELDS} for r in rows}, defaults)


def view(org: Org, tb: TargetBook, row: Mapping[str, Any] | None) -> dict[str, Any]:
    effective = tb.for_path(org.path)
    return {"org_code": org.code, "org_name": org.name, "org_kind": org.kind,
            "own": {f: (row or {}).get(f) for f in TARGET_FIELDS},
            "effective": vars(effective), "sources": tb.sources(org.path),
            "set_at": (row or {}).get("set_at"), "set_by": (row or {}).get("set_by")}


async def own_row(uow: UnitOfWork, code: str) -> Mapping[str, Any] | None:
    return (await uow.session.execute(select(targets_table).where(targets_table.c.org_code == code))).mappings().first()


async def show(uow: UnitOfWork, org_code: str, caller: Principal, defaults: Targets) -> dict[str, Any]:
    org = await org_in_scope(uow, org_code, caller)
    return view(org, await book(uow, org, defaults), await own_row(uow, org.code))
