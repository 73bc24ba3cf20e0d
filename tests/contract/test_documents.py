"""Each service's OpenAPI document says what it sends: valid OpenAPI 3.1, every error answer an
``application/problem+json`` ``Problem`` with an example, and nothing of FastAPI's own
validation error model, which the services never send."""

from __future__ import annotations

import importlib
import json

import jsonschema_rs
import pytest
from openapi_spec_validator import validate

from shared.errors import PROBLEM_JSON
from shared.openapi import error_statuses
from tests.conftest import TEST_JWT_SECRET, settings_for

SERVICES = ["registry", "attendance", "cases", "reporting"]


@pytest.fixture(scope="module", params=SERVICES)
def document(request, tmp_path_factory) -> dict:
    # No lifespan, no database: the document depends on the routes only.
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('doc') / 'unused.db'}"
    config = settings_for(request.param, database_url=url, kafka_bootstrap="127.0.0.1:1", environment="test",
                          jwt_secret=TEST_JWT_SECRET, log_level="WARNING")
    return importlib.import_module(f"{request.param}.bootstrap").create_app(config).openapi()


def operations(document: dict):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_fastapis_validation_error_model_is_gone(document):
    text = json.dumps(document)
    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError" not in text


def test_every_error_answer_is_a_problem_with_a_valid_example(document):
    components = document["components"]
    wrong: list[str] = []
    for method, path, op in operations(document):
        for code, response in op["responses"].items():
            if int(code) < 400:
                continue
            content = response.get("content") or {}
            if list(content) != [PROBLEM_JSON]:
                wrong.append(f"{method} {path} {code}: content {list(content)}")
                continue
            media = content[PROBLEM_JSON]
            validator = jsonschema_rs.validator_for({**media["schema"], "components": components})
            if "example" not in media or not validator.is_valid(media["example"]):
                wrong.append(f"{method} {path} {code}: example missing or not a valid problem")
            elif media["example"]["status"] != int(code):
                wrong.append(f"{method} {path} {code}: example of status {media['example']['status']}")
    assert not wrong, "\n".join(wrong)


def test_each_operation_documents_the_errors_it_can_answer(document):
    """The rule of shared/openapi.py, seen from the document: protected routes 401, 403 and 503;
    input 422; writes 409, 413 and 429; a named object 404; everything 500 and 504."""
    wrong: list[str] = []
    for method, path, op in operations(document):
        documented = {int(c) for c in op["responses"] if int(c) >= 400}
        protected = op["x-baoxue-access"]["roles"] != ["anonymous"]
        expected = {500, 504} | ({401, 403, 503} if protected else set())
        if op.get("parameters") or op.get("requestBody"):
            expected.add(422)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            expected |= {409, 413, 429}
        if "{" in path:
            expected.add(404)
        if missing := expected - documented:
            wrong.append(f"{method} {path}: {sorted(missing)} undocumented")
    assert not wrong, "\n".join(wrong)
    # A read neither conflicts nor meets the write limits.
    assert error_statuses("get", {"responses": {}, "x-baoxue-access": {"roles": ["ops"], "scope": "none"}}) == {
        401, 403, 500, 503, 504}


def test_a_success_declared_by_description_only_gets_the_routes_model(document):
    """E.g. ``201: {"description": "a new check"}`` beside a ``response_model``: a client must
    know that a 201 carries the same body."""
    for method, path, op in operations(document):
        for code, response in op["responses"].items():
            if code.startswith("2") and code != "204":
                assert response.get("content"), f"{method} {path} {code} documents no body"
