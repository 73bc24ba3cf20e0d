"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from tests.conftest import running
from tests.factories import feed_reporting
from tests.reporting_fixture import events


@pytest.fixture
async def county(databases):
    """Reporting with the fixture county loaded (tests/reporting_fixture), on each backend."""
    async with running("reporting", databases.url("reporting"), "127.0.0.1:1") as client:
        await feed_reporting(client, events())
        yield client
