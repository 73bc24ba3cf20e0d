"""Who did what to which child's record: an append-only audit log in every service.

Every write, and every read of a route whose rule asks for it (a student's full record, an
export), leaves one row: who (subject, role, org), when (server time), what (method, route,
path, status), from where (client address, request id), and where in the org tree the record
lies, so officials can ask "who touched the children of my county" and see callers from above
too. No body, no personal data. Nothing updates or deletes these rows: no route does, and the
table has no foreign keys a cascade could follow.

What records, and when, is said where it happens: a use case that has checked the caller may see
a record (``caller.sees(...)``, a pure check) notes its place with ``note_place``; the unit of
work writes the row before its commit through the ``record_in`` hook shared/service.py registers
(``before_commit``); the middleware writes the rows of requests that did not commit. The time is
the app's clock (the one tests control), never the wall clock.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Principal
from shared.clock import Clock
from shared.messaging import metadata
from shared.paths import OrgPath
from shared.types import UtcDateTime

if TYPE_CHECKING:
    from shared.uow import UnitOfWork

log = structlog.get_logger("baoxue.audit")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("actor_org", String(32), nullable=False),
    Column("action", String(8), nullable=False),     # read | write
    Column("method", String(8), nullable=False),
    Column("route", String(200), nullable=False),
    Column("path", String(400), nullable=False),
    Column("status", Integer, nullable=False),
    Column("scope_path", OrgPath(), nullable=False),  # "/410000/.../" of the record touched
    Column("request_id", String(64), nullable=True),
    Column("client", String(64), nullable=True),
)
Index("ix_audit_log_scope_at", audit_log.c.scope_path, audit_log.c.at)

# Every write request runs it: built once (shared/sql.py, `built_once`).
_AUDIT_ROW = insert(audit_log)

# Set per request by the middleware; a use case notes where the record it touches lies.
_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("baoxue_audit", default=None)


def note_place(org_path: Sequence[str]) -> None:
    """Record, for this request's audit row, where in the org tree the object it touches lies
    (call it once the caller is known to see the object: the row is filed under that place)."""
    holder = _current.get()
    if holder is not None:
        holder["scope_path"] = list(org_path)


def _row(scope: Scope, holder: dict[str, Any], status: int) -> dict[str, Any] | None:
    """The audit row of this request, or None when it leaves none (no caller, an unaudited read)."""
    principal: Principal | None = (scope.get("state") or {}).get("principal")
    route = scope.get("route")
    rule = (getattr(route, "openapi_extra", None) or {}).get("x-baoxue-access", {})
    write = scope["method"] in WRITE_METHODS
    if principal is None or not (write or rule.get("audit")):
        return None
    return {
        "at": holder["clock"].now(), "actor": principal.subject, "actor_role": principal.role.value,
        "actor_org": principal.org, "action": "write" if write else "read", "method": scope["method"],
        "route": getattr(route, "path", "unmatched"), "path": scope["path"][:400], "status": status,
        # A request that reached no record is filed under the caller's own place (its full path,
        # so everyone above sees it too).
        "scope_path": holder.get("scope_path") or principal.place,
        # The request id the outer middleware gave this request (the caller's, or a new one).
        "request_id": structlog.contextvars.get_contextvars().get("request_id"),
        "client": str((scope.get("client") or ("",))[0])[:64] or None,
    }


def answering(status: int) -> None:
    """The success status this request will answer with, where it is not its route's own (200
    for a report that joined an open case): the row written at commit carries it."""
    holder = _current.get()
    if holder is not None:
        holder["answer"] = status


async def record_in(uow: UnitOfWork) -> None:
    """Write this request's audit row in the transaction about to commit (a ``before_commit`` hook
    of every unit of work, see shared/service.py; outside a request it writes nothing): a write and its audit row then commit together, or neither does, and the request costs
    no second transaction. The status is the route's success status (or the one the handler
    announced with ``answering``); the middleware writes another row if the response turns out
    to be an error."""
    holder = _current.get()
    if holder is None or "recorded" in holder:
        return
    scope = holder["scope"]
    status = holder.get("answer") or getattr(scope.get("route"), "status_code", None) or 200
    row = _row(scope, holder, status)
    if row is not None:
        await uow.session.execute(_AUDIT_ROW, row)
        holder["recorded"] = status


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, sessionmaker_of: Callable[[Scope], async_sessionmaker[AsyncSession]],
                 clock: Clock) -> None:
        self.app = app
        self.sessionmaker_of = sessionmaker_of
        self.clock = clock  # the app's: every row's time, whichever path writes it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder: dict[str, Any] = {"status": 500, "scope": scope, "clock": self.clock}
        token = _current.set(holder)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            _current.reset(token)
            # Reads, refusals and failures (no commit) are recorded now, in a transaction of their
            # own; so is a committed write whose response then failed. A committed write answered
            # with another success status than its route's (200 for "already open") keeps its row.
            if "recorded" not in holder or not 200 <= holder["status"] < 300:
                await self._record(scope, holder)

    async def _record(self, scope: Scope, holder: dict[str, Any]) -> None:
        row = _row(scope, holder, holder["status"])
        if row is None:
            return
        try:
            async with self.sessionmaker_of(scope)() as session:
                await session.execute(insert(audit_log).values(**row))
                await session.commit()
        except Exception as exc:
            log.error("audit.write_failed", route=row["route"], error=exc)
