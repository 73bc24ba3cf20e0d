"""Fixtures shared by every test layer: databases (SQLite, and PostgreSQL when it answers),
a real Kafka-protocol broker per test, and services running in-process with their lifespan."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import os
import socket
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest

from devtools.stack import Broker, free_port
from tests.contract.openapi_contract import contract_for, response_hook

ROOT = Path(__file__).resolve().parents[1]
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

    def url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp_path / (name + '.db')}"
        db = f"baoxue_test_{name}_{uuid.uuid4().hex[:10]}"
        run_sync(_pg_admin(f'CREATE DATABASE "{db}"'))
        self.created.append(db)
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"

    def drop_all(self) -> None:
        for db in self.created:
            run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


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
    from shared.migrations import upgrade

    upgrade(ROOT / "services" / service, database_url)


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
