"""docker-compose.yml and .env.example agree with the code (Docker does not run here)."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.conftest import ROOT, settings_for

SERVICES = ["registry", "attendance", "cases", "reporting"]
STACK_ONLY = {"BAOXUE_BROKER_PORT"} | {f"BAOXUE_{s.upper()}_PORT" for s in SERVICES}
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
INIT_SQL = (ROOT / "docker" / "postgres" / "init-databases.sql").read_text()


def env_names(service: str) -> set[str]:
    settings = settings_for(service)
    prefix = type(settings).model_config["env_prefix"]
    return {f"{prefix}{name}".upper() for name in type(settings).model_fields}


def routes(service: str) -> set[str]:
    app = importlib.import_module(f"{service}.bootstrap").create_app(
        settings_for(service, database_url="sqlite+aiosqlite:///:memory:"))
    return set(app.openapi()["paths"])


@pytest.mark.parametrize("service", SERVICES)
def test_service_runs_its_own_module_after_its_migration(service):
    spec = COMPOSE["services"][service]
    assert spec["command"] == ["python", "-m", service, "serve"]
    assert importlib.util.find_spec(f"{service}.__main__") is not None
    migrate = COMPOSE["services"][f"{service}-migrate"]
    assert migrate["command"] == ["python", "-m", service, "migrate"]
    assert spec["depends_on"][f"{service}-migrate"] == {"condition": "service_completed_successfully"}
    for infra in ("postgres", "kafka"):
        assert spec["depends_on"][infra] == {"condition": "service_healthy"}
    assert migrate["environment"]["BAOXUE_DATABASE_URL"] == spec["environment"]["BAOXUE_DATABASE_URL"]


@pytest.mark.parametrize("service", SERVICES)
def test_port_matches_the_settings_default(service):
    spec = COMPOSE["services"][service]
    port = settings_for(service).http_port
    assert int(spec["environment"]["BAOXUE_HTTP_PORT"]) == port
    assert spec["ports"] == [f"{port}:{port}"]
    assert f"127.0.0.1:{port}/" in " ".join(spec["healthcheck"]["test"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_environment_variable_is_a_setting_of_that_service(service):
    for name in ("", "-migrate"):
        unknown = set(COMPOSE["services"][service + name]["environment"]) - env_names(service)
        assert not unknown, f"{service}{name}: {sorted(unknown)} are not fields of its settings class"
    # and the values parse: the service would start with them
    env = {k.removeprefix("BAOXUE_").lower(): v for k, v in COMPOSE["services"][service]["environment"].items()}
    assert settings_for(service, **env).environment == "production"


@pytest.mark.parametrize("service", SERVICES)
def test_health_check_path_exists_on_the_app(service):
    test = " ".join(COMPOSE["services"][service]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:\d+(/[\w/]*)", test).group(1)
    assert path in routes(service)


@pytest.mark.parametrize("service", SERVICES)
def test_database_is_created_by_the_init_script_and_is_its_own(service):
    url = make_url(COMPOSE["services"][service]["environment"]["BAOXUE_DATABASE_URL"])
    assert url.get_backend_name() == "postgresql" and url.host == "postgres"
    assert re.search(rf"CREATE DATABASE {url.database};", INIT_SQL)
    others = {make_url(COMPOSE["services"][s]["environment"]["BAOXUE_DATABASE_URL"]).database for s in SERVICES}
    assert len(others) == len(SERVICES)


def test_kafka_is_kraft_on_the_official_image_and_matches_the_bootstrap():
    kafka = COMPOSE["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert "PLAINTEXT://kafka:9092" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for service in SERVICES:
        assert COMPOSE["services"][service]["environment"]["BAOXUE_KAFKA_BOOTSTRAP"] == "kafka:9092"
    for infra in ("kafka", "postgres"):
        assert COMPOSE["services"][infra]["healthcheck"]["test"]


def test_env_example_lists_every_setting_and_nothing_else():
    listed = set(re.findall(r"^(BAOXUE_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    known = set().union(*(env_names(s) for s in SERVICES))
    assert listed - known - STACK_ONLY == set(), "listed but read by nothing"
    assert known - listed == set(), "read by a service but not listed"
    stack_source = (ROOT / "devtools" / "stack.py").read_text()
    assert "BAOXUE_BROKER_PORT" in stack_source and 'f"BAOXUE_{s.upper()}_PORT"' in stack_source


def test_dockerfile_ships_migrations_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY services ./services" in dockerfile and "USER " in dockerfile
    for service in SERVICES:
        assert Path(ROOT / "services" / service / "alembic.ini").exists()
