"""docker-compose.yml, the Dockerfile and .env.example agree with the code.

Docker does not run on the dev machines, so these tests read the files and hold them against
what the code defines: modules, settings fields and defaults, routes, databases, listeners.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import os
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url
from starlette.routing import Match

from attendance.settings import AttendanceSettings
from cases.settings import CasesSettings
from registry.settings import RegistrySettings
from reporting.settings import ReportingSettings
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_SCRIPT = ROOT / "docker" / "postgres" / "init-databases.sql"
ENV_EXAMPLE = ROOT / ".env.example"
STACK = ROOT / "devtools" / "stack.py"
DOCKERFILE = ROOT / "Dockerfile"

SETTINGS: dict[str, type[ServiceSettings]] = {
    "registry": RegistrySettings,
    "attendance": AttendanceSettings,
    "cases": CasesSettings,
    "reporting": ReportingSettings,
}
SERVICES = list(SETTINGS)
ENV_LINE = re.compile(r"^#?\s*(BAOXUE_[A-Z0-9_]+)=(.*)$")


# --- reading the files ------------------------------------------------------------------------

def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def service(name: str) -> dict:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


# What an operator supplies when running compose (`${VAR:?...}` in the file): a secret of the
# strength production demands, so the settings check below sees what a real start would see.
OPERATOR_ENV = {"BAOXUE_JWT_SECRET": "an-operator-supplied-key-of-48-characters-xxxxxx"}
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def environment(spec: dict) -> dict[str, str]:
    """A compose `environment:` (mapping or KEY=value list) as a dict of strings, with `${VAR...}`
    interpolated from what the operator supplies (a missing one fails, as compose would)."""
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: _INTERPOLATION.sub(lambda m: OPERATOR_ENV[m.group(1)], "" if v is None else str(v))
            for k, v in env.items()}


def command(spec: dict) -> list[str]:
    cmd = spec.get("command")
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd or [])


def healthcheck(spec: dict) -> str:
    test = (spec.get("healthcheck") or {}).get("test")
    assert test, "no health check"
    if isinstance(test, str):
        return test
    assert test[0] in ("CMD", "CMD-SHELL"), test
    return " ".join(test[1:])


def depends_on(spec: dict) -> dict[str, dict]:
    deps = spec.get("depends_on") or {}
    if isinstance(deps, list):  # the short form waits for nothing but the start
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def published_ports(spec: dict) -> list[tuple[int, int]]:
    """(host, container) pairs of `ports:`, short or long syntax."""
    pairs = []
    for entry in spec.get("ports") or []:
        if isinstance(entry, dict):
            pairs.append((int(entry["published"]), int(entry["target"])))
        else:
            parts = str(entry).split("/")[0].split(":")
            pairs.append((int(parts[-2]), int(parts[-1])))
    return pairs


def init_databases() -> set[str]:
    return set(re.findall(r'CREATE\s+DATABASE\s+"?(\w+)"?', INIT_SCRIPT.read_text(), re.I))


def env_names(settings_cls: type[ServiceSettings]) -> set[str]:
    prefix = settings_cls.model_config["env_prefix"]
    return {f"{prefix}{name}".upper() for name in settings_cls.model_fields}


def stack_vars() -> set[str]:
    """The BAOXUE_ variables devtools/stack.py reads itself (`make run`), from its source."""
    source = STACK.read_text()
    names = set(re.findall(r'environ\.get\(\s*"(BAOXUE_[A-Z0-9_]+)"', source))
    if re.search(r'environ\.get\(\s*f"BAOXUE_\{s\.upper\(\)\}_PORT"', source):
        stack = importlib.import_module("devtools.stack")
        names |= {f"BAOXUE_{s.upper()}_PORT" for s in stack.DEFAULT_PORTS}
    return names


def env_example() -> list[tuple[int, str, str, bool]]:
    """(line number, name, value, commented out) of every variable in .env.example."""
    rows = []
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines()):
        if m := ENV_LINE.match(line):
            rows.append((number, m.group(1), m.group(2), line.startswith("#")))
    return rows


@pytest.fixture
def clean_env(monkeypatch):
    """No BAOXUE_ variable from the machine running the tests leaks into a settings object."""
    for key in list(os.environ):
        if key.upper().startswith("BAOXUE_"):
            monkeypatch.delenv(key)
    return monkeypatch


# --- each service -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SERVICES)
def test_service_serves_its_own_module(name):
    assert command(service(name)) == ["python", "-m", name, "serve"]
    main = importlib.util.find_spec(f"{name}.__main__")
    assert main is not None and main.origin, f"python -m {name} has no __main__ module"
    # `migrate` resolves the service directory as the parent of the package directory
    service_dir = Path(main.origin).resolve().parents[1]
    assert (service_dir / "alembic.ini").is_file()
    assert (service_dir / "migrations" / "env.py").is_file()


@pytest.mark.parametrize("name", SERVICES)
def test_migrations_run_to_completion_before_the_service(name):
    spec, migrate = service(name), service(f"{name}-migrate")
    assert command(migrate) == ["python", "-m", name, "migrate"]
    assert depends_on(spec).get(f"{name}-migrate") == {"condition": "service_completed_successfully"}
    assert depends_on(migrate).get("postgres") == {"condition": "service_healthy"}
    assert migrate.get("restart", "no") == "no", "a one-shot job must not be restarted"
    # the same image, against the same database
    assert (migrate.get("build"), migrate.get("image")) == (spec.get("build"), spec.get("image"))
    assert spec.get("build") is not None or spec.get("image")
    assert environment(migrate)["BAOXUE_DATABASE_URL"] == environment(spec)["BAOXUE_DATABASE_URL"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_waits_for_healthy_postgres_and_kafka(name):
    deps = depends_on(service(name))
    for infra in ("postgres", "kafka"):
        assert deps.get(infra) == {"condition": "service_healthy"}, f"{name} -> {infra}: {deps.get(infra)}"
        assert healthcheck(service(infra))


@pytest.mark.parametrize("name", SERVICES)
def test_port_is_the_settings_default_everywhere(name):
    spec, env = service(name), environment(service(name))
    port = SETTINGS[name].model_fields["http_port"].default
    assert int(env["BAOXUE_HTTP_PORT"]) == port
    assert published_ports(spec) == [(port, port)]
    assert env.get("BAOXUE_HTTP_HOST") == "0.0.0.0", "listening on loopback, the published port reaches nothing"
    url = re.search(r"http://([\w.]+):(\d+)/", healthcheck(spec))
    assert url and url.group(1) in ("127.0.0.1", "localhost") and int(url.group(2)) == port


@pytest.mark.parametrize("name", SERVICES)
@pytest.mark.parametrize("suffix", ["", "-migrate"])
def test_environment_is_made_of_settings_of_that_service(name, suffix, clean_env):
    env = environment(service(name + suffix))
    baoxue = {k: v for k, v in env.items() if k.upper().startswith("BAOXUE_")}
    unknown = set(baoxue) - env_names(SETTINGS[name])
    assert not unknown, f"{name}{suffix}: {sorted(unknown)} are not fields of {SETTINGS[name].__name__}"
    # and the values parse the way the process would read them: it would start with them
    for key, value in baoxue.items():
        clean_env.setenv(key, value)
    settings = SETTINGS[name](_env_file=None)
    assert settings.environment == "production"
    assert settings.service_name == name
    assert settings.kafka_idempotence is True, "real Kafka: the idempotent producer"


@pytest.mark.parametrize("name", SERVICES)
def test_health_check_path_is_a_route_of_the_app(name):
    check = healthcheck(service(name))
    assert "python" in check and "urllib" in check, "the image has no curl: use python's urllib"
    path = re.search(r"http://[\w.]+:\d+(/[^'\"\s]*)", check).group(1)
    app = importlib.import_module(f"{name}.bootstrap").create_app(
        SETTINGS[name](database_url="sqlite+aiosqlite:///:memory:", _env_file=None))
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [], "query_string": b""}
    assert any(route.matches(scope)[0] == Match.FULL for route in app.router.routes), \
        f"GET {path} is not a route of {name}"


@pytest.mark.parametrize("name", SERVICES)
def test_database_is_its_own_and_created_by_the_init_script(name):
    url = make_url(environment(service(name))["BAOXUE_DATABASE_URL"])
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "postgres" and (url.port or 5432) == 5432
    pg = environment(service("postgres"))
    assert (url.username, url.password) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
    assert url.database in init_databases(), f"{url.database} is not created by {INIT_SCRIPT.name}"
    databases = [make_url(environment(service(s))["BAOXUE_DATABASE_URL"]).database for s in SERVICES]
    assert len(set(databases)) == len(SERVICES), f"services share a database: {databases}"


# --- the infrastructure ------------------------------------------------------------------------

def test_postgres_runs_the_init_script_and_checks_over_tcp():
    pg = service("postgres")
    assert re.fullmatch(r"postgres:16(\.\d+)*(-[\w.]+)?", pg["image"])
    mounts = [str(v).split(":") for v in pg.get("volumes", [])]
    assert any((ROOT / src).resolve() == INIT_SCRIPT and dst.startswith("/docker-entrypoint-initdb.d/")
               for src, dst, *_ in mounts), "the init script is not mounted into /docker-entrypoint-initdb.d"
    check = healthcheck(pg)
    # during initialisation the server answers on its Unix socket only, before the databases exist
    assert "pg_isready" in check and re.search(r"-h\s*\S+", check), check


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    out = {}
    for item in value.split(","):
        name, address = item.strip().split("://")
        host, port = address.rsplit(":", 1)
        out[name] = (host, int(port))
    return out


def test_kafka_is_kraft_on_the_official_image_and_matches_the_bootstrap():
    kafka = service("kafka")
    env = environment(kafka)
    assert re.fullmatch(r"apache/kafka:[34]\.\d+\.\d+", kafka["image"]), "pin a 3.x or 4.x release"
    roles = {r.strip() for r in env["KAFKA_PROCESS_ROLES"].split(",")}
    assert roles == {"broker", "controller"} and "KAFKA_ZOOKEEPER_CONNECT" not in env
    listeners = _listeners(env["KAFKA_LISTENERS"])
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    for name in listeners:
        assert name in protocols, f"listener {name} has no security protocol"
    for name, (_, port) in advertised.items():
        assert name in listeners and listeners[name][1] == port, f"advertised {name} is not a listener"
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller in listeners and controller not in advertised
    voter = re.fullmatch(r"(\d+)@([\w.-]+):(\d+)", env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
    assert voter and voter.group(1) == str(env["KAFKA_NODE_ID"]) and int(voter.group(3)) == listeners[controller][1]
    if "CLUSTER_ID" in env:  # a base64 (URL-safe, unpadded) UUID, as kafka-storage.sh random-uuid prints
        assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16
    if "KAFKA_LOG_DIRS" in env:  # the data lives on the volume
        targets = {str(v).split(":")[1] for v in kafka.get("volumes", [])}
        assert env["KAFKA_LOG_DIRS"] in targets
    # every service reaches the broker at an address it advertises
    reachable = {f"{host}:{port}" for host, port in advertised.values()}
    for name in SERVICES:
        bootstrap = environment(service(name))["BAOXUE_KAFKA_BOOTSTRAP"]
        assert set(bootstrap.split(",")) <= reachable, f"{name}: {bootstrap} is not in {sorted(reachable)}"
        assert bootstrap.split(":")[0] == "kafka"
    # and the health check asks a listener that is there
    check = re.search(r"--bootstrap-server\s+([\w.-]+):(\d+)", healthcheck(kafka))
    assert check and int(check.group(2)) in {port for _, port in listeners.values()}


def test_one_broker_is_enough_for_the_replication_asked_for(clean_env):
    env = environment(service("kafka"))
    for name in SERVICES:
        for key, value in environment(service(name)).items():
            clean_env.setenv(key, value)
        assert SETTINGS[name](_env_file=None).kafka_replication_factor == 1
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert int(env[key]) == 1


def test_the_broker_and_the_topics_the_services_create_keep_every_record(clean_env):
    """The topics are the history a rebuild replays: neither the broker's default (for a topic made
    by hand) nor the services' topic setting may let Kafka drop records after a week."""
    env = environment(service("kafka"))
    assert int(env["KAFKA_LOG_RETENTION_MS"]) == -1 and int(env["KAFKA_LOG_RETENTION_BYTES"]) == -1
    assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    for name in SERVICES:
        for key, value in environment(service(name)).items():
            clean_env.setenv(key, value)
        assert SETTINGS[name](_env_file=None).kafka_topic_retention_ms == -1


# --- Dockerfile -----------------------------------------------------------------------------------

def test_dockerfile_ships_every_package_and_the_migrations_and_runs_unprivileged():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    copied = {m.group(1).strip("./") for m in re.finditer(r"^COPY\s+(?:--\S+\s+)*(\S+)\s+\S+$", text, re.M)}
    package_dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for package, directory in package_dirs.items():
        top = directory.split("/")[0]
        assert top in copied or "" in copied, f"{directory} ({package}) is not copied into the image"
    # services/ carries each service's alembic.ini and migrations/, found next to the package: the
    # install must leave the code where it was copied, i.e. be editable
    installs = [args for args in re.findall(r"pip install\b([^\n&;\\]*)", text) if re.search(r"(^|\s)\.(\[|\s|$)", args)]
    assert installs and all(re.search(r"(^|\s)(-e|--editable)\s+\.", args) for args in installs), installs
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")


# --- .env.example -------------------------------------------------------------------------------

def test_env_example_lists_every_setting_and_nothing_else():
    listed = [name for _, name, _, _ in env_example()]
    assert len(listed) == len(set(listed)), "listed twice"
    settings = set().union(*(env_names(cls) for cls in SETTINGS.values()))
    stack = stack_vars()
    assert stack >= {"BAOXUE_BROKER_PORT", "BAOXUE_REGISTRY_PORT"}, stack
    assert set(listed) - settings - stack == set(), "listed but read by nothing"
    assert (settings | stack) - set(listed) == set(), "read by the code but not in .env.example"


def test_env_example_explains_every_variable():
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, name, _, _ in env_example():
        above = lines[number - 1] if number else ""
        assert above.startswith("#") and not ENV_LINE.match(above), f"{name} has no comment line above it"


@pytest.mark.parametrize("name", SERVICES)
def test_env_example_copied_to_env_changes_nothing(name, clean_env):
    """The values given are the defaults, and they parse: `cp .env.example .env` is harmless."""
    assert SETTINGS[name](_env_file=ENV_EXAMPLE).model_dump() == SETTINGS[name](_env_file=None).model_dump()
    # the commented-out lines show the real default too (the registry's, where it is per service)
    registry = RegistrySettings(_env_file=None)
    prefix = RegistrySettings.model_config["env_prefix"]
    for _, var, value, commented in env_example():
        field = var.removeprefix(prefix).lower()
        if commented and field in RegistrySettings.model_fields:
            clean_env.setenv(var, value)
            assert getattr(RegistrySettings(_env_file=None), field) == getattr(registry, field), var
            clean_env.delenv(var)


def test_the_token_key_must_come_from_the_operator():
    """No signing key is baked into the file: compose refuses to start without one."""
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in SERVICES:
        value = str(raw["services"][name]["environment"]["BAOXUE_JWT_SECRET"])
        assert value.startswith("${BAOXUE_JWT_SECRET:?"), f"{name}: {value!r}"
