"""The schemathesis run again, with the strings and dates of valid requests swapped for hostile
ones (tests/fuzz/hostile.py): no 5xx, every 4xx a problem. This is how the control character
that broke the exports, the calendar's ends, CR/LF in a ledger query and a CSV field over the csv
module's limit would have been found. Only operations that take a body or a query, a few
examples each, no shrinking (a failure is reported as found): CI's budget."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.conftest import bearer
from tests.contract.openapi_contract import Contract
from tests.factories import PREFERRED_ROLES, app_for, problems_checker
from tests.fuzz.hostile import make_hostile

pytestmark = pytest.mark.timeout(180)
EXAMPLES = 4


def _takes_text(operation) -> bool:
    raw = operation.definition.raw
    return "requestBody" in raw or any(p.get("in") == "query" for p in raw.get("parameters", []))


@pytest.mark.parametrize("service", ["registry", "attendance", "cases", "reporting"])
def test_hostile_strings_and_dates_never_break_a_service(service, tmp_path):
    app = app_for(service, tmp_path)
    schema = make_hostile(schemathesis.openapi.from_asgi("/openapi.json", app))
    problems_in = problems_checker(Contract(app.openapi()))
    failures: list[str] = []
    for operation in (result.ok() for result in schema.get_all_operations()):
        roles = operation.definition.raw.get("x-baoxue-access", {}).get("roles", [])
        if roles == ["anonymous"] or not _takes_text(operation):
            continue
        headers = bearer(next((r for r in PREFERRED_ROLES if r in roles), "province_official"), "410000")

        @given(case=operation.as_strategy(GenerationMode.POSITIVE))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def exercise(case):
            response = case.call(headers=headers)
            wrong = problems_in(response, operation.path)
            if wrong:
                failures.append(f"{operation.label}: {wrong[0]} <- {case.as_curl_command()[:600]}")
                raise AssertionError(wrong[0])

        try:
            exercise()
        except AssertionError:
            pass
    assert not failures, "\n".join(dict.fromkeys(failures))
