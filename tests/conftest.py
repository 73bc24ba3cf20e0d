"""Fixtures shared by every test layer: databases (SQLite, and PostgreSQL when it answers),
a real Kafka-protocol broker per test, and services running in-process with their lifespan."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import os
import queue
import shutil
import socket
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from devtools.stack import Broker, free_port, share_ports
from tests.contract.openapi_contract import contract_for, response_hook

ROOT = Path(__file__).resolve().parents[1]
# Under pytest-xdist (`make test`) each worker picks ports from a range of its own.
if os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    share_ports(int(os.environ["PYTEST_XDIST_WORKER"][2:]), int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
TEST_JWT_SECRET = "test-only-signing-key-" + "x" * 32
PROVINCE = "410000"
PG_ADMIN_DSN = os.environ.get("BAOXUE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
SETTINGS = {
    "registry": "registry.settings:RegistrySettings",
    "attendance": "attendance.settings:AttendanceSettings",
    "cases": "cases.settings:CasesSettings",
    "reporting": "reporting.settings:ReportingSettings",
}


def run_sync(coro):
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
        run_sync(_pg_admin("SELECT 1"))
        return True
    except Exception:
        return False


POSTGRES = _postgres_reachable()
if os.environ.get("CI") and not POSTGRES:
    # CI must exercise PostgreSQL; skipping it silently would make a green run meaningless.
    raise RuntimeError(f"CI=true but PostgreSQL is not reachable at {PG_ADMIN_DSN}")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


class Databases:
    """Creates one database per service for a test, and drops them afterwards."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.created: list[str] = []

    def url(self, name: str, *, empty: bool = False) -> str:
        """A new database for the test. Named after a service, it holds that service's schema
        already (cloned from the session's template), unless ``empty`` is asked for."""
        service = None if empty or name not in SETTINGS else name
        if self.backend == "sqlite":
            url = f"sqlite+aiosqlite:///{self.tmp_path / (name + '.db')}"
            if service:
                _TEMPLATES.clone(service, url)
            return url
        db = f"baoxue_test_{name}_{uuid.uuid4().hex[:10]}"
        template = f' TEMPLATE "{_TEMPLATES.template(service, "postgresql")}"' if service else ""
        run_sync(_pg_admin(f'CREATE DATABASE "{db}"{template}'))
        self.created.append(db)
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"
        if service:
            _TEMPLATES.at_head.add(url)
        return url

    def drop_all(self) -> None:
        for db in self.created:
            _DROPPER.drop(db)


class Dropper:
    """Drops test databases in the background: a DROP DATABASE waits for a checkpoint, about a
    second on a busy server, and nothing needs to wait for it but the end of the session."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failures: list[str] = []

    def drop(self, db: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-test-databases", daemon=True)
            self._thread.start()
        self._queue.put(db)

    def _run(self) -> None:
        while (db := self._queue.get()) is not None:
            try:
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            except Exception as exc:
                self.failures.append(f"{db}: {exc!r}")

    def wait(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


_DROPPER = Dropper()


@pytest.fixture
def databases(backend: str, tmp_path: Path):
    dbs = Databases(backend, tmp_path)
    yield dbs
    dbs.drop_all()


@pytest.fixture
def broker(tmp_path: Path):
    """A real Kafka-protocol broker (Tansu, memory storage) on a free port, for one test."""
    b = Broker(free_port(), tmp_path / "broker.log")
    b.start()
    yield b
    b.stop()


def settings_for(service: str, **values):
    module, cls = SETTINGS[service].split(":")
    return getattr(importlib.import_module(module), cls)(**values)


def migrate(service: str, database_url: str) -> None:
    """Bring the database to the service's head (``Templates``: most are there already)."""
    from shared.migrations import upgrade

    if database_url in _TEMPLATES.at_head:
        _TEMPLATES.at_head.discard(database_url)
        return
    if not _TEMPLATES.clone(service, database_url):
        upgrade(ROOT / "services" / service, database_url)


def alembic_config(service: str, url: str):
    """The service's Alembic configuration on a given database, for tests of the migrations."""
    from alembic.config import Config

    config = Config(str(ROOT / "services" / service / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


class Templates:
    """Each service's schema migrated once per session and backend, into a template every test
    database named after a service is cloned from (``Databases.url``): PostgreSQL's CREATE
    DATABASE ... TEMPLATE, a file copy on SQLite. Migrating every test's databases from nothing
    cost about a second a service on PostgreSQL. What the migrations themselves do is tested on
    empty databases (``Databases.url(..., empty=True)``) by tests/integration/test_migrations.py."""

    SQLITE_PREFIX = "sqlite+aiosqlite:///"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[tuple[str, str], str] = {}  # (service, backend) -> template db or file
        self._dir: Path | None = None
        self._dropped_at_exit: list[str] = []  # PostgreSQL templates, built or half built
        self.at_head: set[str] = set()  # cloned, not yet handed to migrate(): nothing to upgrade

    def clone(self, service: str, url: str) -> bool:
        """Copy the SQLite template to a database file nothing was written to yet."""
        if not url.startswith(self.SQLITE_PREFIX) or "?" in url:
            return False
        target = Path(url[len(self.SQLITE_PREFIX):])
        if not target.is_absolute() or (target.exists() and target.stat().st_size):
            return False
        shutil.copyfile(self.template(service, "sqlite"), target)
        return True

    def template(self, service: str, backend: str) -> str:
        from shared.migrations import upgrade

        with self._lock:
            if (service, backend) in self._built:
                return self._built[(service, backend)]
            # Alembic runs its own event loop: in a thread, since a test's loop may be running here.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                if backend == "sqlite":
                    self._dir = self._dir or Path(tempfile.mkdtemp(prefix="baoxue-templates-"))
                    template = str(self._dir / f"{service}.db")
                    pool.submit(upgrade, ROOT / "services" / service, self.SQLITE_PREFIX + template).result()
                    with sqlite3.connect(template) as conn:  # everything in the main file, nothing in a WAL
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                else:
                    template = f"baoxue_template_{service}_{uuid.uuid4().hex[:10]}"
                    run_sync(_pg_admin(f'CREATE DATABASE "{template}"'))
                    self._dropped_at_exit.append(template)
                    pool.submit(upgrade, ROOT / "services" / service,
                                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{template}").result()
                    # No connection may be open to a template while it is cloned, autovacuum's included.
                    run_sync(_pg_admin(f'ALTER DATABASE "{template}" WITH ALLOW_CONNECTIONS false'))
            self._built[(service, backend)] = template
            return template

    def drop_all(self) -> None:
        for template in self._dropped_at_exit:
            run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
        self._dropped_at_exit.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._built.clear()


_TEMPLATES = Templates()


@pytest.fixture(scope="session", autouse=True)
def _test_databases():
    yield _TEMPLATES
    _DROPPER.wait()
    _TEMPLATES.drop_all()
    assert not _DROPPER.failures, f"test databases left behind: {_DROPPER.failures}"


def token(role: str = "province_official", org: str = PROVINCE, classes=()) -> str:
    from shared.auth import mint

    return mint(TEST_JWT_SECRET, subject=f"test-{role}", role=role, org=org, classes=classes)


def bearer(role: str = "province_official", org: str = PROVINCE, classes=()) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, org, classes)}"}


@asynccontextmanager
async def running(service: str, database_url: str, kafka_bootstrap: str, *, clock=None, migrated: bool = False,
                  headers: dict[str, str] | None = None, **overrides) -> AsyncIterator[httpx.AsyncClient]:
    """The service's real app, lifespan included (relay, consumers, jobs), behind an ASGI client
    that calls as a province official of the test province unless other headers are given."""
    if not migrated:
        await asyncio.to_thread(migrate, service, database_url)
    # Every test's calls as one role sign as one subject ("test-<role>"), and the write budget
    # is per subject: tests of the limit itself set their own.
    overrides.setdefault("writes_per_minute", 100_000)
    # Tansu holds every consumer's join for about half the session timeout, and a restarted
    # service waits out about twice it (README, BAOXUE_KAFKA_SESSION_TIMEOUT_MS): 6 s cost each
    # test ~3 s per start. The process tests (tests/e2e, tests/faults) keep the default.
    overrides.setdefault("kafka_session_timeout_ms", 2_000)
    settings = settings_for(service, database_url=database_url, kafka_bootstrap=kafka_bootstrap,
                            environment="test", outbox_poll_interval_s=0.05, jwt_secret=TEST_JWT_SECRET, **overrides)
    app = importlib.import_module(f"{service}.bootstrap").create_app(settings, clock=clock)
    # Every answer is held to the service's OpenAPI document (tests/contract/openapi_contract.py).
    contract = contract_for(service, app.openapi)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}",
                                     headers=bearer() if headers is None else headers,
                                     event_hooks={"response": [response_hook(contract)]}) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
