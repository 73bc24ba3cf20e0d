"""The contract check every in-process client runs (tests/conftest.py ``running``) can fail:
it refuses an undocumented status or media type and a problem body that breaks its schema or
names an unknown type, and lets a documented answer through."""

from __future__ import annotations

import importlib
import json

import httpx
import pytest

from shared.errors import PROBLEM_JSON
from tests.conftest import TEST_JWT_SECRET, settings_for
from tests.contract.openapi_contract import Contract, ContractViolation, SuccessBodyMismatch, response_hook


@pytest.fixture(scope="module")
def registry_app(tmp_path_factory):
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('contract') / 'unused.db'}"
    config = settings_for("registry", database_url=url, kafka_bootstrap="127.0.0.1:1", environment="test",
                          jwt_secret=TEST_JWT_SECRET, log_level="WARNING")
    return importlib.import_module("registry.bootstrap").create_app(config)


@pytest.fixture(scope="module")
def contract(registry_app) -> Contract:
    return Contract(registry_app.openapi())


def problem(status: int, slug: str = "validation", **members) -> bytes:
    return json.dumps({"type": f"/problems/{slug}", "title": "Invalid request", "status": status,
                       "detail": "no", **members}).encode()


def test_a_documented_problem_passes(contract):
    body = problem(422, errors=[{"pointer": "/national_id", "message": "bad checksum", "row": 3}])
    assert contract.check("POST", "/v1/students", 422, PROBLEM_JSON, body) == []
    assert contract.check("POST", "/v1/students", 422, PROBLEM_JSON, problem(422, errors=[
        {"pointer": "", "message": "the body is not valid JSON"}])) == []


def test_an_undocumented_status_fails(contract):
    # A read neither conflicts nor is rate-limited.
    wrong = contract.check("GET", "/v1/students/abc", 409, PROBLEM_JSON, problem(409, "conflict"))
    assert wrong and "status 409 is not documented" in wrong[0]


def test_an_undocumented_media_type_fails(contract):
    wrong = contract.check("POST", "/v1/students", 422, "application/json", problem(422))
    assert wrong and "'application/json'" in wrong[0]
    assert contract.check("GET", "/healthz", 200, "text/html; charset=utf-8", b"<p>ok</p>")


def test_a_problem_body_that_breaks_the_schema_fails(contract):
    no_title = json.dumps({"type": "/problems/validation", "status": 422, "detail": "x"}).encode()
    assert any("title" in w for w in contract.check("POST", "/v1/students", 422, PROBLEM_JSON, no_title))
    bad_pointer = problem(422, errors=[{"pointer": "22", "message": "JSON decode error"}])
    assert any("pointer" in w or "does not match" in w
               for w in contract.check("POST", "/v1/students", 422, PROBLEM_JSON, bad_pointer))
    assert contract.check("POST", "/v1/students", 422, PROBLEM_JSON, problem(404, "not-found"))  # status differs


def test_a_problem_type_without_a_page_fails(contract):
    wrong = contract.check("POST", "/v1/students", 422, PROBLEM_JSON, problem(422, "made-up"))
    assert any("not in shared/problem_types.py" in w for w in wrong)
    wrong = contract.check("POST", "/v1/students", 422, PROBLEM_JSON, problem(422, "not-found"))
    assert any("is a 404" in w for w in wrong)


def test_router_answers_without_an_operation_must_be_problems(contract):
    assert contract.check("DELETE", "/v1/students", 405, PROBLEM_JSON, problem(405, "method-not-allowed")) == []
    assert contract.check("GET", "/nowhere", 404, "text/plain", b"Not Found")
    assert contract.check("GET", "/nowhere", 200, "application/json", b"{}")


def test_a_success_body_off_its_schema_is_a_warning(contract):
    with pytest.warns(SuccessBodyMismatch, match="GET /v1/orgs/{code}: 200 body"):
        assert contract.check("GET", "/v1/orgs/410000", 200, "application/json", b'{"code": 1}') == []


async def test_the_hook_fails_the_request_that_broke_the_contract(registry_app, contract):
    async def teapot(scope, receive, send):
        await send({"type": "http.response.start", "status": 418, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"short and stout"})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=teapot), base_url="http://registry",
                                 event_hooks={"response": [response_hook(contract)]}) as client:
        with pytest.raises(ContractViolation, match="GET /healthz: status 418 is not documented"):
            await client.get("/healthz")
    # The real app's answer passes the same hook.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=registry_app), base_url="http://registry",
                                 event_hooks={"response": [response_hook(contract)]}) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/v1/students")).status_code == 401
        # FastAPI's pages that serve the document are not in it, by design.
        assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.1")
