"""Fault tests run on one backend (PostgreSQL when it answers, else SQLite): they are slow
by nature (outages, restarts), and the faults are the same on both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Databases

FAULT_BACKEND = BACKENDS[-1]


@pytest.fixture
def fault_databases(tmp_path: Path):
    dbs = Databases(FAULT_BACKEND, tmp_path)
    yield dbs
    dbs.drop_all()
