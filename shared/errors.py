"""RFC 9457 problem details: every error leaves the API as ``application/problem+json``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.db import is_connection_problem
from shared.problem_types import TYPES

PROBLEM_JSON = "application/problem+json"
# RFC 9457 members (and ours) an extension must not overwrite.
RESERVED = frozenset({"type", "title", "status", "detail", "instance", "errors", "headers"})
log = structlog.get_logger("baoxue.errors")
# RFC 6901: "" is the whole document, "/a/0" a member of a member.
JSON_POINTER = r"^(/([^~/]|~[01])*)*$"


class ProblemError(BaseModel):
    """One thing wrong with the request. The members besides ``pointer`` and ``message`` are
    there when they apply: a spreadsheet row, pydantic's error code."""

    model_config = ConfigDict(extra="allow")
    pointer: str = Field(pattern=JSON_POINTER, description='A JSON pointer into the request: "/marks/0/status" '
                         'in the body, "/query/limit" for a query parameter, "" for the body as a whole.')
    message: str
    field: str | SkipJsonSchema[None] = Field(None, description="The same place as a dotted path")
    # "in" is a Python keyword, hence the alias.
    in_: str | SkipJsonSchema[None] = Field(None, alias="in", description="body, query, path, header or file")
    code: str | SkipJsonSchema[None] = Field(None, description="A machine-readable reason (pydantic's error type)")
    row: int | SkipJsonSchema[None] = Field(None, description="The spreadsheet row, for an upload")


class ProblemDetails(BaseModel):
    """An error answer, RFC 9457 ``application/problem+json``. ``type`` is a URI: GET it for an
    explanation of the problem and what to do. More members may be present (RFC 9457
    extensions such as ``report`` on an import or ``checks`` on ``/readyz``)."""

    model_config = ConfigDict(extra="allow", title="Problem")
    type: str = Field(description="/problems/<slug>; GET it for what the problem means", examples=["/problems/validation"])
    title: str = Field(description="A short summary of the problem type; the same for every occurrence")
    status: int = Field(ge=400, le=599, description="The HTTP status, repeated")
    detail: str = Field(description="What went wrong with this request, for a person")
    instance: str | SkipJsonSchema[None] = Field(None, description="The path of the request")
    errors: list[ProblemError] | SkipJsonSchema[None] = Field(
        None, description="Each field or row at fault (validation problems)")


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
    # ("body", "marks", 0, "status") -> "/marks/0/status": a JSON Pointer into the request body;
    # ("body",) -> "": the body itself.
    parts = loc[1:] if loc and loc[0] == "body" else loc
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _field_error(e: Mapping[str, Any]) -> dict[str, Any]:
    loc = tuple(e.get("loc", ()))
    if e.get("type") == "json_invalid":
        # Pydantic puts the character position where the field path goes ("body", 22): that is
        # no place in the document, so point at the body and say where parsing stopped.
        position = loc[1] if len(loc) > 1 else None
        reason = (e.get("ctx") or {}).get("error") or e.get("msg", "invalid JSON")
        where = f" at character {position}" if position is not None else ""
        return {"in": "body", "field": "", "pointer": "", "code": "json_invalid",
                "message": f"the body is not valid JSON: {reason}{where}"}
    return {
        "in": str(loc[0]) if loc else "body",
        "field": ".".join(str(p) for p in loc[1:]),
        "pointer": _pointer(loc),
        "message": e.get("msg", ""),
        "code": e.get("type", ""),
    }


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as the problem's ``errors[]``: the field path, a JSON pointer into the
    body (``("body", "marks", 0)`` -> ``/marks/0``), the message and pydantic's code."""
    return [_field_error(e) for e in errors]


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route of the app answers at this path. Starlette's own ``Allow`` names
    only the first route that matched the path, and each method of ours is a route of its own.
    Asked of the router method by method, so routers nested in routers are asked too."""
    return [m for m in METHODS
            if any(route.matches({**request.scope, "method": m})[0] is Match.FULL for route in app.router.routes)]


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
        detail = (first["message"] if first.get("code") == "json_invalid"
                  else f"{first['field'] or first.get('in', 'request')}: {first['message']}")
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem_response(422, "validation", "Invalid request", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {400: "bad-request", 404: "not-found", 405: "method-not-allowed",
                413: "too-large"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request))  # RFC 9110 15.5.6: required
        title = TYPES[slug].title if slug != "http-error" else str(exc.detail)
        return problem_response(exc.status_code, slug, title, str(exc.detail), headers=headers or None,
                                instance=request.url.path)

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
