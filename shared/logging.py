"""Structured JSON logs, one line per event, with the request id on every line of a request."""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics

REQUEST_ID_HEADER = b"x-request-id"


# Nothing personal in any log line: an error is logged as its class, the first line of its
# message with quoted literals and long digit runs (IDs, phones) blanked, and where it was
# raised. A database error's later lines carry the statement's parameters and PostgreSQL's
# DETAIL ("Failing row contains (..., 41012220130401..., ...)"); those lines never reach a log.
_QUOTED = re.compile(r"'[^']*'")
_DIGITS = re.compile(r"\d{6,}[\dXx]*")


def error_summary(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    first = _DIGITS.sub("<digits>", _QUOTED.sub("'…'", lines[0] if lines else ""))[:240]
    chain = [type(exc).__name__]
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(chain) < 4:
        chain.append(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    return " <- ".join(chain) + (f": {first}" if first else "")


def error_location(exc: BaseException) -> str:
    """Where it was raised (files, lines, functions): the frames, never a message or a local."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    return " > ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}:{f.name}" for f in frames)


def _safe_errors(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: ``exc_info`` and any exception passed as a value become summaries."""
    exc_info = event.pop("exc_info", None)
    if exc_info:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if exc is not None:
            event.setdefault("error", error_summary(exc))
            event["where"] = error_location(exc)
    for key, value in event.items():
        if isinstance(value, BaseException):
            event[key] = error_summary(value)
    return event


class _SafeRecords(logging.Filter):
    """The same for the standard library's records (uvicorn's "Exception in ASGI application",
    asyncio's "Task exception was never retrieved"): the traceback's last line is the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} error={error_summary(exc)} where={error_location(exc)}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper(), force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_SafeRecords())
    # uvicorn's own access log would duplicate ours, without the request id.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _safe_errors,
            structlog.processors.EventRenamer("msg"),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


class RequestContextMiddleware:
    """Gives each request an id (or keeps the caller's), logs one access line, counts it."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.log = structlog.get_logger("baoxue.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"").decode("latin-1")[:64]
        request_id = given or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, scope["method"], template).observe(elapsed)
            if template not in ("/healthz", "/readyz", "/metrics"):
                self.log.info(
                    "http.request", method=scope["method"], route=template, status=status,
                    duration_ms=round(elapsed * 1000, 1),
                )
            structlog.contextvars.unbind_contextvars("request_id")
