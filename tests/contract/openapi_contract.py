"""Every answer a test receives, held to the service's own OpenAPI document.

Front-end apps are generated from the documents, so an answer the document does not describe
is a bug in one of the two. ``running(...)`` in tests/conftest.py puts ``response_hook`` on
every in-process client, so each integration test checks the contract as it goes:

- strict: the status is documented for the operation, the media type is documented for that
  status, and a problem body is valid against its schema with a catalogued ``type``
  (``GET /problems/<slug>`` explains it). A violation fails the request that caused it,
  naming the route and what to add to the document;
- a JSON success body is validated against its schema too, and a mismatch is a warning:
  success models belong to each route's own tests, and this check should not fail a test for
  a reason its author did not touch.

Validators are compiled once per (operation, status, media type), in Rust (jsonschema_rs), so
the check costs well under a millisecond a response.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema_rs

from shared.errors import PROBLEM_JSON
from shared.problem_types import PREFIX, TYPES

# FastAPI's own pages, which no document lists (they serve the document itself).
UNDOCUMENTED_BY_DESIGN = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


class ContractViolation(AssertionError):
    """An answer the service's OpenAPI document does not describe."""


class SuccessBodyMismatch(UserWarning):
    """A success body that does not match its documented schema."""


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    operations: dict[str, dict[str, Any]]  # method (upper case) -> operation


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _at(error: Any) -> str:
    return "".join(f"/{p}" for p in error.instance_path) or "/"


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


@dataclass
class Contract:
    """One service's document, ready to judge answers."""

    document: dict[str, Any]
    routes: list[Route] = field(init=False)
    _validators: dict[tuple[str, str, str, str], Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        # Document order is route order, so the first match is the route the app would take.
        self.routes = [Route(t, _pattern(t), {m.upper(): op for m, op in ops.items()})
                       for t, ops in self.document.get("paths", {}).items()]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for route in self.routes:
            if route.pattern.match(path) and method in route.operations:
                return route.template, route.operations[method]
        return None

    def _validator(self, key: tuple[str, str, str, str], schema: dict[str, Any]) -> Any:
        if key not in self._validators:
            # Refs point into the document's components: give the validator the same root.
            self._validators[key] = jsonschema_rs.validator_for(
                {**schema, "components": self.document.get("components", {})})
        return self._validators[key]

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> list[str]:
        """What is wrong with this answer, strictly (empty: nothing); a success body that does
        not match its schema is warned about, not returned."""
        if path in UNDOCUMENTED_BY_DESIGN:
            return []
        found = self.operation(method, path)
        media = _media_type(content_type)
        if found is None:
            # No operation: the router answered (an unknown path, a method the path lacks).
            if status not in (404, 405):
                return [f"{method} {path}: {status} for a route the document does not have"]
            return self._problem_body("(no operation)", status, media, body, {"$ref": "#/components/schemas/Problem"})
        template, operation = found
        where = f"{method} {template}"
        responses = operation.get("responses", {})
        response = responses.get(str(status))
        if response is None:
            return [f"{where}: status {status} is not documented (documented: {', '.join(sorted(responses))}); "
                    "declare it in the route's responses=, or see shared/openapi.py error_statuses()"]
        content = {_media_type(k): v for k, v in (response.get("content") or {}).items()}
        if not content:
            return [] if not body else [f"{where}: {status} has a body ({media!r}) but documents none"]
        if media not in content:
            return [f"{where}: {status} answered {media or 'no content type'!r}, documented: {', '.join(content)}"]
        schema = content[media].get("schema") or {}
        if media == PROBLEM_JSON:
            return self._problem_body(where, status, media, body, schema)
        if media == "application/json" and schema and status < 400:
            self._success_body(where, status, body, schema)
        return []

    def _problem_body(self, where: str, status: int, media: str, body: bytes, schema: dict[str, Any]) -> list[str]:
        if media != PROBLEM_JSON:
            return [f"{where}: {status} answered {media!r}, not {PROBLEM_JSON}"]
        try:
            problem = json.loads(body)
        except ValueError:
            return [f"{where}: {status} problem body is not JSON: {body[:200]!r}"]
        validator = self._validator((where, str(status), media, "problem"), schema)
        wrong = [] if validator.is_valid(problem) else [f"{where}: {status} problem {_at(e)}: {e.message}"
                                                        for e in validator.iter_errors(problem)]
        if not isinstance(problem, dict):
            return wrong
        if problem.get("status") != status:
            wrong.append(f"{where}: {status} problem says status {problem.get('status')!r}")
        problem_type = str(problem.get("type", ""))
        slug = problem_type[len(PREFIX):] if problem_type.startswith(PREFIX) else None
        catalogued = TYPES.get(slug or "")
        if catalogued is None:
            wrong.append(f"{where}: problem type {problem_type!r} is not in shared/problem_types.py, so its URI "
                         "does not resolve")
        elif catalogued.status not in (None, status):
            wrong.append(f"{where}: problem type {slug!r} is a {catalogued.status}, answered with {status}")
        return wrong

    def _success_body(self, where: str, status: int, body: bytes, schema: dict[str, Any]) -> None:
        try:
            value = json.loads(body)
        except ValueError:
            warnings.warn(f"{where}: {status} body is not JSON", SuccessBodyMismatch, stacklevel=1)
            return
        validator = self._validator((where, str(status), "application/json", "body"), schema)
        if not validator.is_valid(value):  # the fast path; the errors only when there are some
            first = next(iter(validator.iter_errors(value)))
            warnings.warn(f"{where}: {status} body at {_at(first)}: {first.message[:200]}",
                          SuccessBodyMismatch, stacklevel=1)


_contracts: dict[str, Contract] = {}


def contract_for(service: str, document: Callable[[], dict[str, Any]]) -> Contract:
    """The service's contract, built once a test session: every app of a service has the same
    routes, and generating the document takes a fifth of a second."""
    if service not in _contracts:
        _contracts[service] = Contract(document())
    return _contracts[service]


def response_hook(contract: Contract) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx response hook that raises ContractViolation for an answer the document does not
    describe. The in-process transport has the whole body already, so reading it here costs
    nothing and a test that streams it still can."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        wrong = contract.check(request.method, request.url.path, response.status_code,
                               response.headers.get("content-type", ""), response.content)
        if wrong:
            raise ContractViolation("the answer breaks the service's OpenAPI document:\n  " + "\n  ".join(wrong)
                                    + f"\nbody: {response.text[:300]}")

    return check
