"""Submitting the weekly or monthly report: the figures frozen as canonical JSON with their
SHA-256, who sent them and when. The submissions table is not a projection: a rebuild of the
read model leaves it alone. Reading the submissions is ``reporting.queries.submissions``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from reporting.adapters.tables import submissions
from reporting.domain.submissions import canonical, digest
from reporting.queries.read_model import org_in_scope
from reporting.queries.submissions import SUMMARY, Compute, Kind
from shared.auth import Principal
from shared.errors import Invalid
from shared.uow import UnitOfWork


async def submit(uow: UnitOfWork, kind: Kind, org_code: str, period: str, caller: Principal,
                 compute: Compute) -> dict[str, Any]:
    """Freeze the report as it stands now. Every submission is kept (a correction is a new one);
    the server's clock says when, the token says who."""
    org = await org_in_scope(uow, org_code, caller)
    if org.kind != "county":
        raise Invalid(f"{org_code} is a {org.kind}: a county submits its report to the city",
                      errors=[{"field": "org_code", "pointer": "/org_code", "message": "not a county"}])
    figures = await compute()
    row = {"kind": kind, "org_code": org.code, "org_path": org.path, "period": period,
           "submitted_at": uow.clock.now(), "submitted_by": caller.subject, "submitted_role": caller.role.value,
           "sha256": digest(figures), "body": canonical(figures).decode("utf-8")}
    new_id = (await uow.session.execute(insert(submissions).values(**row).returning(submissions.c.id))).scalar_one()
    await uow.commit()
    return {"id": new_id, **{k: row[k] for k in SUMMARY if k != "id"}}
