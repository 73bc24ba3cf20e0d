"""Abuse limits every service applies before any route runs: body size, write rate, time."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import problem_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_BUCKETS = 10_000


class LimitsMiddleware:
    """413 for a body over the limit (declared or streamed), 429 when a client writes faster than
    its budget (a token bucket per verified token subject, else per address), 504 for a request that runs
    longer than the timeout. Buckets live in the process: with N replicas a client gets N budgets,
    which still stops a runaway script; a shared limiter belongs at the gateway."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, writes_per_minute: int, timeout_s: float,
                 max_upload_bytes: int | None = None, body_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_json_body = max_body_bytes
        # Paths whose JSON bodies have a limit of their own (a week of roll calls in one batch).
        self.body_limits = dict(body_limits or {})
        self.max_upload = max(max_upload_bytes or max_body_bytes, max_body_bytes)
        self.rate = writes_per_minute / 60.0
        self.burst = max(1, writes_per_minute // 6)
        self.timeout_s = timeout_s
        self._buckets: dict[str, tuple[float, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # A file upload may be larger than a JSON body; it is parsed in a streaming way.
        max_body = (self.max_upload if headers.get(b"content-type", b"").startswith(b"multipart/form-data")
                    else self.body_limits.get(scope["path"], self.max_json_body))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            await self._problem(scope, send, 413, "too-large", "Request body too large",
                                f"the body may be at most {max_body} bytes")
            return
        if scope["method"] in WRITE_METHODS:
            wait = self._take(self._client_key(scope, headers))
            if wait > 0:
                await self._problem(scope, send, 429, "rate-limited", "Too many requests",
                                    f"write budget spent; retry in {math.ceil(wait)} s",
                                    headers={"Retry-After": str(math.ceil(wait))})
                return
        received = 0
        started = rejected = False

        async def counting_receive() -> Message:
            # A body streamed without Content-Length: answer 413 ourselves the moment it passes
            # the limit, and tell the app the client went away (an exception raised here would be
            # turned into a generic 400 by the body parser).
            nonlocal received, started, rejected
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body and not started:
                    await self._problem(scope, send, 413, "too-large", "Request body too large",
                                        f"the body may be at most {max_body} bytes")
                    started = rejected = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 has been sent; whatever the app says now goes nowhere
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, counting_receive, tracking_send), self.timeout_s)
        except TimeoutError:
            if not started:
                await self._problem(scope, send, 504, "timeout", "Request timed out",
                                    f"the request took longer than {self.timeout_s:g} s and was abandoned")

    def _client_key(self, scope: Scope, headers: dict[bytes, bytes]) -> str:
        """The verified token's subject, else the client's address. Keyed on the raw header, a
        case or whitespace variant of one token (or any garbage) would get a fresh budget."""
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
        if scheme.lower() == "bearer" and token.strip() and runtime is not None:
            subject = runtime.verifier.subject_of(token.strip())
            if subject:
                return "s:" + hashlib.sha256(subject.encode()).hexdigest()[:32]
        client = scope.get("client") or ("unknown", 0)
        return "a:" + str(client[0])

    def _take(self, key: str) -> float:
        """Take one token from the client's bucket; return 0, or the seconds until one is free."""
        now = time.monotonic()
        if len(self._buckets) > MAX_BUCKETS:
            # Tokens rotate, so keys pile up: drop buckets idle long enough to have refilled.
            refill_s = self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill_s}
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate

    async def _problem(self, scope: Scope, send: Send, status: int, slug: str, title: str, detail: str,
                       headers: dict[str, str] | None = None) -> None:
        response = problem_response(status, slug, title, detail, headers=headers, instance=scope.get("path"))
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
