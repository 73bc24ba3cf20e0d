"""Schemathesis against each service's OpenAPI through its ASGI app (lifespan included): no
5xx, and every answer is one the document describes (status, media type, and every 4xx a
problem+json valid against its schema: tests/contract/openapi_contract.py). Bounded: a few
dozen examples per operation, so the four services together take well under two minutes."""

from __future__ import annotations

import importlib
from typing import Callable
from urllib.parse import urlsplit

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings

from tests.conftest import TEST_JWT_SECRET, bearer, migrate, settings_for
from tests.contract.openapi_contract import Contract

pytestmark = pytest.mark.timeout(180)
EXAMPLES = 60
# A valid token for each route: the widest role the route allows (its x-baoxue-access rule).
PREFERRED_ROLES = ["province_official", "ops", "recipient"]


def app_for(service: str, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / (service + '.db')}"
    migrate(service, url)
    config = settings_for(service, database_url=url, kafka_bootstrap="127.0.0.1:1", environment="test",
                          jwt_secret=TEST_JWT_SECRET, writes_per_minute=1_000_000, log_level="WARNING")
    return importlib.import_module(f"{service}.bootstrap").create_app(config)


def problems_checker(contract: Contract) -> Callable[..., list[str]]:
    def problems_in(response, path: str) -> list[str]:
        """What is wrong with a response (empty: nothing)."""
        status = response.status_code
        # Not ready is /readyz's documented answer here (no broker), and a problem like any other.
        if status >= 500 and not (status == 503 and path == "/readyz"):
            return [f"server error {status}: {response.content[:300]!r}"]
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        # The path as sent (still percent-encoded), so a generated "/" inside a parameter stays one.
        sent = urlsplit(response.request.url).path
        return contract.check(response.request.method, sent, status, content_type, response.content)

    return problems_in


@pytest.mark.parametrize("service", ["registry", "attendance", "cases", "reporting"])
def test_no_server_errors_and_every_client_error_is_a_problem(service, tmp_path):
    app = app_for(service, tmp_path)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Hypothesis seeds `exercise` from its source (derandomize), so it is left as it was: the
    # same examples as before the contract check.
    problems_in = problems_checker(Contract(app.openapi()))
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        roles = operation.definition.raw.get("x-baoxue-access", {}).get("roles", [])
        role = next((r for r in PREFERRED_ROLES if r in roles), "province_official")
        headers = bearer(role, "410000") if roles != ["anonymous"] else {}

        # Valid inputs and invalid ones (wrong types, missing fields, out-of-range values).
        @given(case=operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            response = case.call(headers=headers)
            wrong = problems_in(response, operation.path)
            if wrong:
                failures.append(f"{operation.label}: {wrong[0]} <- {case.as_curl_command()}")
                raise AssertionError(wrong[0])  # let hypothesis shrink to the smallest example

        try:
            exercise()
        except AssertionError:
            pass  # recorded above, with the example; carry on with the other operations
    assert not failures, "\n".join(dict.fromkeys(failures))
