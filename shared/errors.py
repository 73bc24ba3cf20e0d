"""RFC 9457 problem details: every error leaves the API as ``application/problem+json``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import is_connection_problem

PROBLEM_JSON = "application/problem+json"
# RFC 9457 members (and ours) an extension must not overwrite.
RESERVED = frozenset({"type", "title", "status", "detail", "instance", "errors", "headers"})
log = structlog.get_logger("baoxue.errors")


class Problem(Exception):
    """A domain or application error the API turns into a problem response."""

    status = 400
    slug = "bad-request"
    title = "Bad request"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extensions = extensions


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class Invalid(Problem):
    """Well-formed request that breaks a domain rule (bad checksum, class of another school...)."""

    status, slug, title = 422, "validation", "Invalid request"


def problem_response(status: int, slug: str, title: str, detail: str, *, headers: dict[str, str] | None = None,
                     **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _pointer(loc: tuple[Any, ...]) -> str:
    # ("body", "marks", 0, "status") -> "/marks/0/status": a JSON Pointer into the request body.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] == "body" else [str(p) for p in loc]
    return "/" + "/".join(parts)


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as the problem's ``errors[]``: the field path, a JSON pointer into the
    body (``("body", "marks", 0)`` -> ``/marks/0``), the message and pydantic's code."""
    return [
        {
            "in": str(e["loc"][0]) if e.get("loc") else "body",
            "field": ".".join(str(p) for p in e.get("loc", ())[1:]),
            "pointer": _pointer(tuple(e.get("loc", ()))),
            "message": e.get("msg", ""),
            "code": e.get("type", ""),
        }
        for e in errors
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, headers=exc.headers, instance=request.url.path,
            errors=exc.errors, **{k: v for k, v in exc.extensions.items() if k not in RESERVED},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors())
        first = errors[0] if errors else {"field": "", "message": "invalid"}
        detail = f"{first['field'] or first.get('in', 'request')}: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem_response(422, "validation", "Invalid request", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(exc.status_code, "http-error")
        return problem_response(exc.status_code, slug, str(exc.detail), str(exc.detail), instance=request.url.path)

    @app.exception_handler(OSError)
    @app.exception_handler(DBAPIError)
    async def _database_away(request: Request, exc: Exception) -> JSONResponse:
        # A restarting database is not a server bug: say so, and when to try again.
        if not is_connection_problem(exc):
            return await _unexpected(request, exc)
        log.warning("request.database_unavailable", path=request.url.path, error=exc)
        return problem_response(503, "unavailable", "Service unavailable", "The database is unreachable; try again shortly.",
                                headers={"Retry-After": "5"}, instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.failed", path=request.url.path)
        return problem_response(
            500, "internal", "Internal error", "The server failed; the request id identifies the log lines.",
            instance=request.url.path,
        )
