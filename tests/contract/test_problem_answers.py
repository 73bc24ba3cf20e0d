"""What the services send when a request goes wrong, through the real app (its lifespan, its
database): a 405 names the methods in ``Allow``, JSON that does not parse is pointed at as the
whole body, and every problem ``type`` resolves to a page saying what to do."""

from __future__ import annotations

import importlib

import pytest

from shared.errors import PROBLEM_JSON, Problem
from shared.problem_types import TYPES
from tests.conftest import running

SERVICES = ["registry", "attendance", "cases", "reporting"]


def sqlite(tmp_path, service: str) -> str:
    # These answers come before any query: one database backend is enough.
    return f"sqlite+aiosqlite:///{tmp_path / (service + '.db')}"


async def test_405_names_every_method_of_the_path(tmp_path):
    async with running("registry", sqlite(tmp_path, "registry"), "127.0.0.1:1") as registry:
        r = await registry.delete("/v1/students")
        assert r.status_code == 405 and r.headers["content-type"] == PROBLEM_JSON
        # GET and POST are two routes; Starlette alone would name only the first it tried.
        assert r.headers["allow"] == "GET, POST"
        assert r.json()["type"] == "/problems/method-not-allowed"


async def test_malformed_json_points_at_the_body_and_says_where_it_broke(tmp_path):
    async with running("registry", sqlite(tmp_path, "registry"), "127.0.0.1:1") as registry:
        r = await registry.post("/v1/orgs", content=b'{"code": "410000", "name": ',
                                headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["errors"][0]["pointer"] == ""
        assert problem["errors"][0]["code"] == "json_invalid"
        assert "not valid JSON" in problem["detail"] and "at character 27" in problem["detail"]
        # An empty body is the body missing: also the whole document, not "/".
        r = await registry.post("/v1/orgs", content=b"", headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "", r.text


@pytest.mark.parametrize("service", SERVICES)
async def test_every_problem_type_has_a_page_open_to_anyone(service, tmp_path):
    async with running(service, sqlite(tmp_path, service), "127.0.0.1:1", headers={}) as client:
        for slug, problem_type in TYPES.items():
            r = await client.get(f"/problems/{slug}")
            assert r.status_code == 200, (slug, r.text)
            page = r.json()
            assert page["type"] == f"/problems/{slug}" and page["status"] == problem_type.status
            assert page["meaning"] and page["what_to_do"]
        r = await client.get("/problems/no-such-thing")
        assert r.status_code == 404 and "validation" in r.json()["detail"]
        # The type URI of a real answer resolves.
        unauthenticated = (await client.get("/v1/audit")).json()
        assert (await client.get(unauthenticated["type"])).json()["title"] == unauthenticated["title"]


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def test_every_problem_class_of_every_service_is_catalogued():
    for service in SERVICES:
        importlib.import_module(f"{service}.bootstrap")  # imports every route, handler and domain module
    wrong = [f"{c.__module__}.{c.__name__}: {c.slug} ({c.status})" for c in [Problem, *_subclasses(Problem)]
             if c.slug not in TYPES or TYPES[c.slug].status != c.status or TYPES[c.slug].title != c.title]
    assert not wrong, f"add these to shared/problem_types.py (slug, status and title as the class has them): {wrong}"
