"""The one way a Baoxue service is wired: runtime, lifespan, middleware, errors, health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import audit, deadletters, errors, idempotency, openapi
from shared import logging as baoxue_logging
from shared.audit import AuditMiddleware, audit_log
from shared.auth import OFFICIALS, PrincipalDep, Role, TokenVerifier, access, path_key, public
from shared.clock import Clock, SystemClock
from shared.consumer import EventConsumer
from shared.db import make_engine, make_sessionmaker
from shared.events import EventModel
from shared.limits import LimitsMiddleware
from shared.messaging import dead_letters
from shared.pagination import Page, PageDep
from shared.places import Lookup, Places
from shared.problem_types import TYPES, ProblemTypeDoc, doc
from shared.relay import OutboxRelay
from shared.routes import Registered, Routes
from shared.settings import ServiceSettings
from shared.sql import fetch_page
from shared.uow import UnitOfWork, UnitsOfWork

log = structlog.get_logger("baoxue.service")


@dataclass
class Runtime:
    """Everything a request, a consumer or a job needs; built once per process."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    relay: OutboxRelay
    verifier: TokenVerifier
    units: UnitsOfWork
    consumers: list[EventConsumer] = field(default_factory=list)
    # Where each caller's org sits in the tree, from this service's own rows (shared/places.py).
    places: Places = field(default_factory=lambda: Places(None))

    @property
    def source(self) -> str:
        return self.units.source

    def uow(self, *, clock: Clock | None = None) -> UnitOfWork:
        """A unit of work of this service (``clock`` only for tests acting at a given moment)."""
        return self.units(clock=clock)


def units_of_work(settings: ServiceSettings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, *,
                  on_commit: Callable[[], None] | None = None) -> UnitsOfWork:
    """How every unit of work of a service is built, whoever asks (requests, the consumer, jobs,
    tools): the service's CloudEvents ``source`` (one per service, so (source, id) is unique
    across the system), the app's clock, and, before each commit, the request's audit row
    (``audit.record_in``; outside a request it writes nothing). ``on_commit`` wakes the relay."""
    return UnitsOfWork(sessionmaker, source=f"/baoxue/{settings.service_name}", clock=clock,
                       before_commit=[audit.record_in], on_commit=on_commit)


Job = Callable[[Runtime, asyncio.Event], Coroutine[Any, Any, None]]


async def get_runtime(request: Request) -> Runtime:
    # async, though it awaits nothing: FastAPI runs a plain ``def`` dependency in its thread pool,
    # a hand-off to a thread and back for every request (6 % of a roll call's CPU in bench.ingest).
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_uow(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with runtime.uow() as uow:
        yield uow


UoWDep = Annotated[UnitOfWork, Depends(get_uow)]


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Iterable[APIRouter],
    handlers: Mapping[type[EventModel], Registered] | None = None,
    jobs: Iterable[Job] = (),
    clock: Clock | None = None,
    body_limits: Mapping[str, int] | None = None,
    places: Sequence[Lookup] = (),
) -> FastAPI:
    baoxue_logging.configure(settings.service_name, settings.log_level)
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    clock = clock or SystemClock()
    relay = OutboxRelay(settings, sessionmaker, clock)
    verifier = TokenVerifier(settings)
    if not verifier.configured:
        log.warning("auth.no_key", detail="no BAOXUE_JWT_SECRET or BAOXUE_JWT_JWKS_FILE: every request will be 401")
    units = units_of_work(settings, sessionmaker, clock, on_commit=relay.wake)
    runtime = Runtime(settings, engine, sessionmaker, clock, relay, verifier, units,
                      places=Places(sessionmaker, places))
    if handlers:  # the subscription is the topics of the models handled
        runtime.consumers.append(EventConsumer(settings, units, handlers=handlers))
    keys = idempotency.KeyStore(sessionmaker, clock, ttl=timedelta(hours=settings.idempotency_ttl_hours),
                                lease=idempotency.lease_for(settings.request_timeout_s))

    async def prune_idempotency_keys(_runtime: Runtime, stop: asyncio.Event) -> None:
        await idempotency.prune_job(keys, stop)

    jobs = [*jobs, prune_idempotency_keys]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(relay.run(stop), name="outbox-relay")]
        tasks += [asyncio.create_task(c.run(stop), name="consumer") for c in runtime.consumers]
        tasks += [asyncio.create_task(job(runtime, stop), name=getattr(job, "__name__", "job")) for job in jobs]
        log.info("service.started", port=settings.http_port, database=engine.url.get_backend_name())
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for consumer in runtime.consumers:
                await consumer.close()
            await relay.close()
            await engine.dispose()
            log.info("service.stopped")

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    # Innermost: a held write commits with its stored answer before the audit row of a failure
    # is written, and the limits (size, rate, time) apply to a retry as to any request.
    app.add_middleware(idempotency.IdempotencyMiddleware, store=keys, verifier=verifier)
    app.add_middleware(AuditMiddleware, sessionmaker_of=lambda _scope: sessionmaker, clock=clock)
    app.add_middleware(LimitsMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes,
                       writes_per_minute=settings.writes_per_minute, timeout_s=settings.request_timeout_s,
                       body_limits=body_limits)
    # Added last, so it runs first: even a 413 or 429 gets a request id and an access log line.
    app.add_middleware(baoxue_logging.RequestContextMiddleware, service=settings.service_name)
    errors.install(app)
    openapi.install(app)
    app.include_router(_health_router())
    app.include_router(_problems_router())
    app.include_router(_audit_router())
    app.include_router(_dead_letters_router(Routes(handlers or {})))
    for router in routers:
        app.include_router(router)
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Alive: the process answers", **public())
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    not_ready: dict[int | str, dict[str, Any]] = {503: {"description": "Not ready: `checks` names what is unreachable", "content": {
        errors.PROBLEM_JSON: {"schema": {"allOf": [openapi.PROBLEM_REF, {"type": "object", "properties": {
            "checks": {"type": "object", "additionalProperties": {"type": "boolean"}}}}]},
            "example": {"type": "/problems/not-ready", "title": "Not ready", "status": 503,
                        "detail": "broker unreachable", "checks": {"database": True, "broker": False}}}}}}

    @router.get("/readyz", summary="Ready: the database and the broker are reachable", responses=not_ready,
                **public())
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        checks = {"database": await _database_ready(runtime), "broker": await runtime.relay.broker_ready()}
        ready = all(checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
        if not ready:
            body.update(type="/problems/not-ready", title="Not ready", status=503,
                        detail=", ".join(k for k, ok in checks.items() if not ok) + " unreachable")
        return JSONResponse(body, status_code=200 if ready else 503,
                            media_type="application/json" if ready else errors.PROBLEM_JSON)

    @router.get("/metrics", summary="Prometheus metrics (ops role)", response_class=PlainTextResponse,
                **access(Role.ops, scope="none"))
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _problems_router() -> APIRouter:
    router = APIRouter(tags=["problems"])

    @router.get("/problems/{slug}", response_model=ProblemTypeDoc, summary="What a problem type means",
                **public())
    async def problem_type(slug: str) -> ProblemTypeDoc:
        """The page a problem's `type` URI names: what the problem means and what to do about it.
        Open to anyone: it says nothing about any record."""
        if slug not in TYPES:
            raise errors.NotFound(f"no problem type {slug!r}; the types are: {', '.join(TYPES)}")
        return doc(TYPES[slug])

    return router


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    actor_org: str
    action: str
    method: str
    route: str
    path: str
    status: int
    scope_path: str
    request_id: str | None
    client: str | None


def _audit_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["audit"])

    @router.get("/audit", response_model=Page[AuditEntry], **access(Role.school_staff, OFFICIALS, scope="list"))
    async def list_audit(
        uow: UoWDep, caller: PrincipalDep, page: PageDep,
        actor: Annotated[str | None, Query(max_length=200)] = None,
        action: Annotated[Literal["read", "write"] | None, Query()] = None,
        since: datetime | None = None,
    ) -> Page[Any]:  # rows; response_model shapes them
        """Who read or changed records in the caller's region, newest first (this service's log).
        An entry is filed under the place of the record it touched; a request refused before any
        record was reached (a malformed body) is filed under the caller's own org."""
        stmt = select(audit_log).where(caller.within(audit_log.c.scope_path))
        if actor:
            stmt = stmt.where(audit_log.c.actor == actor)
        if action:
            stmt = stmt.where(audit_log.c.action == action)
        if since:
            stmt = stmt.where(audit_log.c.at >= since)
        rows, total = await fetch_page(uow.session, stmt.order_by(audit_log.c.id.desc()),
                                       limit=page.limit, offset=page.offset)
        return Page.of([{**r, "scope_path": path_key(r["scope_path"])} for r in rows], total, page)

    return router


class DeadLetter(BaseModel):
    id: int
    topic: str
    partition: int
    offset: int
    event_type: str | None
    event_id: str | None
    event_source: str | None
    reason: str
    received_at: datetime
    replayed_at: datetime | None
    replay_outcome: Literal["applied", "duplicate", "ignored"] | None


def _dead_letters_router(routes: Routes) -> APIRouter:
    router = APIRouter(prefix="/v1/dead-letters", tags=["operations"])

    @router.get("", response_model=Page[DeadLetter], **access(Role.ops, scope="none"))
    async def list_dead_letters(
        uow: UoWDep, page: PageDep,
        pending: Annotated[bool | None, Query(description="true: not replayed yet; false: replayed")] = None,
    ) -> Page[Any]:  # rows; response_model shapes them
        """Records this service's consumer set aside, oldest first, with the reason. Their
        contents are not shown (they carry children's data); the topic has them."""
        stmt = select(dead_letters)
        if pending is not None:
            stmt = stmt.where(dead_letters.c.replayed_at.is_(None) if pending else dead_letters.c.replayed_at.is_not(None))
        rows, total = await fetch_page(uow.session, stmt.order_by(dead_letters.c.id), limit=page.limit, offset=page.offset)
        return Page.of([deadletters.summary(r) for r in rows], total, page)

    rule = access(Role.ops, scope="none")
    rule["responses"] |= {404: {"description": "No such dead letter"},
                          409: {"description": "Still unreadable, no handler, or the handler failed again"}}

    @router.post("/{dead_letter_id}/replay", response_model=DeadLetter, **rule)
    async def replay_dead_letter(uow: UoWDep, dead_letter_id: Annotated[int, Path(ge=1, le=2**62)]) -> dict[str, Any]:
        """Apply the record through this service's handler now (after a fix or an upgrade). An
        event applied before is not applied again; a replayed dead letter answers its outcome."""
        return await deadletters.replay(uow, dead_letter_id, routes)

    return router


async def _database_ready(runtime: Runtime) -> bool:
    try:
        async with runtime.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
        return True
    except Exception as exc:
        log.warning("readyz.database_unreachable", error=repr(exc))
        return False
