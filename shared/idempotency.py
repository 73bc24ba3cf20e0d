"""``Idempotency-Key`` on every POST (IETF httpapi draft): a retry over a link that dropped the
first answer gets that answer again, and writes nothing.

A key is kept per caller (the token's subject) and path for ``BAOXUE_IDEMPOTENCY_TTL_HOURS``
(24), with a fingerprint of the request (query string and body):

* the same key and the same request: the first answer again (status, body, ``Content-Type``,
  ``Location``...), with ``Idempotent-Replayed: true``; the route does not run;
* the same key and another request: 422 ``idempotency-key-reused``;
* the same key while the first request still runs: 409 ``request-in-flight``, ``Retry-After``.

How it composes with the write's transaction: the key is first *claimed* in a short
transaction of its own (a row with a lease token), so a second replica sees it in flight. The
route then runs; its unit of work does everything up to the commit (state, outbox, audit row)
and *holds* the transaction (``hold``). When the answer is complete, the answer is written into
the key's row in that same transaction and it commits: the write and its stored answer commit
together or not at all, so a crash can never leave a write whose retry would run it again. The
answer reaches the client only after that commit. An error answer (4xx, 5xx) rolls the held
transaction back and releases the key: nothing was written, and the client may send the key
again. A claim whose request died (a crash, a timeout) has written nothing, by the same token;
its lease runs out after the request time limit and the next retry takes the key over. The
completion is fenced by the lease token, so a request that outlived its lease cannot commit
after another took the key over.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, Text, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Principal, TokenVerifier
from shared.clock import Clock
from shared.errors import problem_response
from shared.messaging import metadata
from shared.sql import affected, insert_ignoring_conflicts
from shared.types import UtcDateTime
from shared.waiting import wait_or_stop

if TYPE_CHECKING:
    from shared.uow import UnitOfWork

log = structlog.get_logger("baoxue.idempotency")
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# The answer's headers a replay repeats; the request id and the like belong to each request.
KEPT_HEADERS = frozenset({b"content-type", b"location", b"content-disposition", b"etag", b"last-modified"})
POINTER = "/header/idempotency-key"

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # sha256 of subject, path and key: one bounded primary key however long the three are.
    Column("id", String(64), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("path", String(400), nullable=False),
    Column("key", String(MAX_KEY_LENGTH), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("lease", String(32), nullable=True),  # the running request's token; NULL once answered
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("status", Integer, nullable=True),
    Column("headers", Text, nullable=True),  # JSON [[name, value], ...]
    Column("body", LargeBinary, nullable=True),
)
Index("ix_idempotency_keys_expires_at", idempotency_keys.c.expires_at)


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What a claim found: ``claimed`` (run the request), ``replay`` (answer ``answer``),
    ``reused`` (another request under this key) or ``in_flight`` (``retry_after`` seconds)."""

    kind: Literal["claimed", "replay", "reused", "in_flight"]
    answer: StoredAnswer | None = None
    retry_after: int = 1


@dataclass
class Claim:
    """A claimed key, while its request runs."""

    store: KeyStore
    id: str
    lease: str
    held: UnitOfWork | None = None
    extra_held: list[UnitOfWork] = field(default_factory=list)


_current: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("baoxue_idempotency", default=None)


def hold(uow: UnitOfWork) -> bool:
    """Called by a unit of work at commit: True when the request runs under a claimed key, and the
    transaction is then held, to commit with the stored answer."""
    claim = _current.get()
    if claim is None:
        return False
    if claim.held is None or claim.held is uow:
        claim.held = uow
        return True
    # A second unit of work in one request (no route has one): both commit with the answer.
    claim.extra_held.append(uow)
    return True


def key_id(subject: str, path: str, key: str) -> str:
    return hashlib.sha256("\0".join((subject, path, key)).encode()).hexdigest()


def fingerprint(query: bytes, content_type: str, body: bytes) -> str:
    """What makes two requests under one key the same request. JSON compares as data (key order
    and spacing aside); a multipart form without its boundary, which each send draws afresh."""
    media = content_type.split(";")[0].strip().lower()
    canonical = body
    if media.endswith("json") and body:
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False).encode()
        except ValueError:
            canonical = body  # the route answers the 422; the bytes are the request
    elif media == "multipart/form-data" and "boundary=" in content_type:
        boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
        canonical = body.replace(boundary.encode(), b"")
    digest = hashlib.sha256()
    for part in (query, media.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def parse_key(raw: bytes) -> str | None:
    """The key, or None when it is not one: 1 to 255 visible ASCII characters. The draft sends it
    as a structured-field string (``"..."``); the quotes are accepted and dropped."""
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if not 1 <= len(text) <= MAX_KEY_LENGTH or any(not 0x21 <= ord(c) <= 0x7E for c in text):
        return None
    return text


class KeyStore:
    """The keys in the service's own database."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, *, ttl: timedelta,
                 lease: timedelta) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.ttl = ttl
        self.lease = lease

    async def claim(self, *, subject: str, path: str, key: str, fingerprint: str) -> tuple[Outcome, Claim | None]:
        row_id, token, now = key_id(subject, path, key), uuid.uuid4().hex, self.clock.now()
        fresh = {"fingerprint": fingerprint, "lease": token, "claimed_at": now, "expires_at": now + self.ttl,
                 "status": None, "headers": None, "body": None}
        async with self.sessionmaker() as session:
            inserted = (await session.execute(
                insert_ignoring_conflicts(session, idempotency_keys)
                .values(id=row_id, subject=subject[:200], path=path[:400], key=key, **fresh)
                .returning(idempotency_keys.c.id))).first()
            if inserted is not None:
                await session.commit()
                return Outcome("claimed"), Claim(self, row_id, token)
            row = (await session.execute(select(idempotency_keys).where(idempotency_keys.c.id == row_id))).one()
            if row.expires_at <= now:
                # Expired and not pruned yet: a new key. The condition on the old expiry makes two
                # retries racing for it take it once.
                taken = await self._take_over(session, row_id, idempotency_keys.c.expires_at == row.expires_at, fresh)
                return (Outcome("claimed"), Claim(self, row_id, token)) if taken else (Outcome("in_flight"), None)
            if row.fingerprint != fingerprint:
                return Outcome("reused"), None
            if row.lease is None:
                answer = StoredAnswer(row.status, [tuple(h) for h in json.loads(row.headers or "[]")], row.body or b"")
                return Outcome("replay", answer), None
            if row.claimed_at + self.lease <= now:
                # The first request died without committing (it commits with its answer): the
                # key is free again; its fingerprint and expiry stay the first request's.
                taken = await self._take_over(session, row_id, idempotency_keys.c.lease == row.lease,
                                              {"lease": token, "claimed_at": now})
                return (Outcome("claimed"), Claim(self, row_id, token)) if taken else (Outcome("in_flight"), None)
            wait = (row.claimed_at + self.lease - now).total_seconds()
            return Outcome("in_flight", retry_after=max(1, math.ceil(wait))), None

    async def _take_over(self, session: AsyncSession, row_id: str, condition: Any, values: dict[str, Any]) -> bool:
        won = await affected(session, update(idempotency_keys).where(idempotency_keys.c.id == row_id, condition)
                             .values(**values))
        await session.commit()
        return won == 1

    async def complete(self, claim: Claim, answer: StoredAnswer) -> bool:
        """Store the answer, in the held write transaction when there is one, and commit. False
        when the lease was lost (another request took the key over): then nothing commits."""
        stmt = (update(idempotency_keys)
                .where(idempotency_keys.c.id == claim.id, idempotency_keys.c.lease == claim.lease)
                .values(lease=None, status=answer.status, headers=json.dumps(answer.headers), body=answer.body))
        held = [u for u in (claim.held, *claim.extra_held) if u is not None]
        if not held:
            async with self.sessionmaker() as session:
                stored = await affected(session, stmt) == 1
                await session.commit()
            return stored
        if await affected(held[0].session, stmt) != 1:
            for uow in held:
                await uow.release(commit=False)
            return False
        for uow in held:
            await uow.release(commit=True)
        return True

    async def abandon(self, claim: Claim) -> None:
        """The request failed or was refused: roll back what it held and free the key."""
        for uow in (claim.held, *claim.extra_held):
            if uow is not None:
                await uow.release(commit=False)
        async with self.sessionmaker() as session:
            await session.execute(delete(idempotency_keys).where(idempotency_keys.c.id == claim.id,
                                                                idempotency_keys.c.lease == claim.lease))
            await session.commit()

    async def prune(self) -> int:
        async with self.sessionmaker() as session:
            pruned = await affected(session, delete(idempotency_keys).where(
                idempotency_keys.c.expires_at <= self.clock.now()))
            await session.commit()
        return pruned


def _problem(status: int, slug: str, title: str, detail: str, path: str, **extra: Any) -> JSONResponse:
    return problem_response(status, slug, title, detail, instance=path, **extra)


class IdempotencyMiddleware:
    """Runs a POST carrying ``Idempotency-Key`` under its claimed key (see the module's doc).
    Requests without the header, or without a valid token (the route answers 401), pass through."""

    def __init__(self, app: ASGIApp, *, store: KeyStore, verifier: TokenVerifier) -> None:
        self.app = app
        self.store = store
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER.lower().encode())
        principal = self._principal(headers) if raw_key is not None else None
        if principal is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        key = parse_key(raw_key or b"")
        if key is None:
            await _problem(422, "validation", "Invalid request",
                           f"{HEADER}: 1 to {MAX_KEY_LENGTH} visible ASCII characters", path,
                           errors=[{"in": "header", "field": HEADER, "pointer": POINTER, "code": "string_pattern_mismatch",
                                    "message": f"1 to {MAX_KEY_LENGTH} visible ASCII characters"}])(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before the request was whole: nothing to answer
        # The audit log then names the caller of a replay or a refusal too.
        scope.setdefault("state", {})["principal"] = principal
        outcome, claim = await self.store.claim(
            subject=principal.subject, path=path, key=key,
            fingerprint=fingerprint(scope.get("query_string", b""), headers.get(b"content-type", b"").decode("latin-1"), body))
        if outcome.kind == "replay" and outcome.answer is not None:
            await _send_answer(send, outcome.answer, replayed=True)
            return
        if outcome.kind == "reused":
            await _problem(422, "idempotency-key-reused", "Idempotency key reused",
                           f"this {HEADER} was sent with another request to {path}; a new request needs a new key",
                           path, errors=[{"in": "header", "field": HEADER, "pointer": POINTER, "code": "key_reused",
                                          "message": "already used for another request"}])(scope, receive, send)
            return
        if claim is None:
            await _problem(409, "request-in-flight", "The same request is still in flight",
                           f"a request with this {HEADER} is still running; retry in {outcome.retry_after} s for its answer",
                           path, headers={"Retry-After": str(outcome.retry_after)})(scope, receive, send)
            return
        await self._run(scope, body, receive, send, claim)

    async def _run(self, scope: Scope, body: bytes, receive: Receive, send: Send, claim: Claim) -> None:
        messages: list[Message] = []
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            messages.append(message)

        token = _current.set(claim)
        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await self.store.abandon(claim)
            raise
        finally:
            _current.reset(token)
        answer = _answer_of(messages)
        if answer is None or not 200 <= answer.status < 300:
            await self.store.abandon(claim)
        elif not await self.store.complete(claim, answer):
            await _problem(409, "request-in-flight", "The same request is still in flight",
                           f"this request ran past its time and another with the same {HEADER} took over; "
                           "retry for its answer", scope["path"], headers={"Retry-After": "1"})(scope, receive, send)
            return
        for message in messages:
            await send(message)

    def _principal(self, headers: dict[bytes, bytes]) -> Principal | None:
        scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            return None
        try:
            return self.verifier.verify(credentials.strip())
        except Exception:
            return None


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _answer_of(messages: list[Message]) -> StoredAnswer | None:
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None:
        return None
    kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", []) if k.lower() in KEPT_HEADERS]
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return StoredAnswer(start["status"], kept, body)


async def _send_answer(send: Send, answer: StoredAnswer, *, replayed: bool) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    if replayed:
        headers.append((REPLAYED.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """Every POST of the OpenAPI document takes the optional ``Idempotency-Key`` header."""
    parameter = {
        "name": HEADER, "in": "header", "required": False,
        "description": "Send the same key again to retry this request safely: the first answer comes back "
                       f"(with `{REPLAYED}: true`) and nothing is written twice. Another request under the "
                       "same key is a 422 `idempotency-key-reused`, a retry while the first still runs a 409 "
                       "`request-in-flight`. Kept 24 hours per caller and path.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    }
    for operations in openapi.get("paths", {}).values():
        post = operations.get("post")
        if post is not None and not any(p.get("name") == HEADER for p in post.get("parameters", [])):
            post.setdefault("parameters", []).append(dict(parameter))
    return openapi


async def prune_job(store: KeyStore, stop: asyncio.Event, interval_s: float = 3600.0) -> None:
    """Drop expired keys every hour (an expired key is already ignored when met; this keeps the
    table small). A plain DELETE: several replicas pruning at once do no harm."""
    while not stop.is_set():
        try:
            pruned = await store.prune()
            if pruned:
                log.info("idempotency.pruned", keys=pruned)
        except Exception as exc:
            log.warning("idempotency.prune_failed", error=repr(exc))
        await wait_or_stop(stop, interval_s)


def lease_for(request_timeout_s: float) -> timedelta:
    # Past the request time limit the first request has surely been abandoned (LimitsMiddleware).
    return timedelta(seconds=request_timeout_s + 5)
