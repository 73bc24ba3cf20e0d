"""The OpenAPI document says what the services send: every error as a problem.

FastAPI documents a 422 as its own ``HTTPValidationError`` in ``application/json``, which our
error handlers never send, and nothing at all for the errors raised outside a route (a
middleware's 413, 429 and 504, a database away). School apps are generated from these
documents, so each operation gets, from what it declares (its access rule, parameters, body
and method), every error status it can answer, as ``application/problem+json`` with the one
``Problem`` schema and an example. Done once here for every service; routes only declare what
is particular to them (a 409 with its own description, say), and that is kept.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI

from shared import idempotency
from shared.errors import PROBLEM_JSON, ProblemDetails
from shared.problem_types import BY_STATUS

JSON = "application/json"
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What a client may read from the headers of these answers.
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer realm=\"baoxue\"", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait before writing again", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}},
}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")

Document = dict[str, Any]
Operation = dict[str, Any]


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json`` and ``/docs``) the document with problems."""

    def openapi() -> Document:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(idempotency.document(FastAPI.openapi(app)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def error_statuses(method: str, operation: Operation) -> set[int]:
    """The error statuses an operation can answer, from what it declares.

    Every request can fail (500) or run out of time (504). A route with an access rule answers
    401 and 403, and 503 when its database is away; one that names an object (a path
    parameter, or a scope rule that looks the object up) answers 404; one that takes input
    answers 422, and 400 when its body cannot be read at all (not UTF-8, a broken form); a
    write answers 409 (state, or a request still in flight), 413 (body size) and 429 (write
    budget). Any error status the route declares itself is added."""
    rule = operation.get("x-baoxue-access") or {}
    statuses = {500, 504}
    if rule.get("roles") != ["anonymous"]:
        statuses |= {401, 403, 503}
    parameters = operation.get("parameters") or []
    if any(p.get("in") == "path" for p in parameters) or rule.get("scope") in ("object", "own", "create"):
        statuses.add(404)
    body = operation.get("requestBody")
    if parameters or body:
        statuses.add(422)
    if body:
        statuses.add(400)  # a body that cannot be read at all: not UTF-8, a form that breaks off
    if method.lower() in WRITE_METHODS:
        statuses |= {409, 413, 429}
    statuses |= {int(code) for code in operation.get("responses", {}) if code.isdigit() and int(code) >= 400}
    return statuses


def example(status: int, path: str) -> dict[str, Any]:
    """A problem body as a service sends it for this status."""
    problem_type = BY_STATUS.get(status)
    if problem_type is None:  # a status a route declared that no catalogued type has
        return {"type": "/problems/http-error", "title": "HTTP error", "status": status, "detail": "", "instance": path}
    body: dict[str, Any] = {"type": problem_type.uri, "title": problem_type.title, "status": status,
                            "detail": problem_type.example_detail, "instance": path}
    if status == 422:
        body["errors"] = [{"in": "body", "field": "national_id", "pointer": "/national_id",
                           "message": "checksum digit does not match", "code": "value_error"}]
    return body


def _problem_response(status: int, path: str, declared: dict[str, Any] | None) -> dict[str, Any]:
    declared = declared or {}
    problem_type = BY_STATUS.get(status)
    default = problem_type.title if problem_type else "Error"
    description = declared.get("description")
    if not description or description == "Validation Error":  # FastAPI's own wording for its 422
        description = default
    # A route may document a richer problem (e.g. /readyz's ``checks``): keep its schema.
    media = copy.deepcopy((declared.get("content") or {}).get(PROBLEM_JSON) or {"schema": PROBLEM_REF})
    media.setdefault("example", example(status, path))
    response: dict[str, Any] = {"description": description, "content": {PROBLEM_JSON: media}}
    # A route that documents its own problem documents its own headers too.
    if status in _HEADERS and PROBLEM_JSON not in (declared.get("content") or {}):
        response["headers"] = {**_HEADERS[status], **declared.get("headers", {})}
    return response


def _fill_success(responses: dict[str, Any]) -> None:
    """A 2xx a route declared with only a description (``201: {"description": "a new check"}``)
    answers the route's own JSON model: give it that content, so it is documented too."""
    model = next((r["content"][JSON] for code, r in sorted(responses.items())
                  if code.startswith("2") and JSON in (r.get("content") or {})), None)
    if model is None:
        return
    for code, response in responses.items():
        if code.startswith("2") and code != "204" and not response.get("content"):
            response["content"] = {JSON: copy.deepcopy(model)}


def _no_null_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    # An optional member is left out of the body, never sent as null: "default": null beside
    # "type": "string" would contradict its own schema.
    for member in schema.get("properties", {}).values():
        if "default" in member and member["default"] is None:
            del member["default"]
    return schema


def with_problems(document: Document) -> Document:
    """The document with every operation's error answers as problems (changed in place)."""
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            _fill_success(responses)
            for status in sorted(error_statuses(method, operation)):
                responses[str(status)] = _problem_response(status, path, responses.get(str(status)))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
    schemas.update({name: _no_null_defaults(s) for name, s in problem.pop("$defs", {}).items()})
    schemas["Problem"] = _no_null_defaults(problem)
    # FastAPI's validation error models are referenced by nothing now: a generated client
    # should not carry a type the services never send.
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    text = json.dumps(document)
    assert not any(f'"#/components/schemas/{name}"' in text for name in _FASTAPI_VALIDATION), \
        "a response still refers to FastAPI's validation error model"
    return document
