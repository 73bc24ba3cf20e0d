"""Tables come only from migrations: each history reaches head, matches the models, and reverses."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command

from tests.conftest import alembic_config

SERVICES = ["registry", "attendance", "cases", "reporting"]


def _round_trip(service: str, url: str) -> None:
    config = alembic_config(service, url)
    command.upgrade(config, "head")
    command.check(config)  # raises if the models have changes no migration carries
    command.downgrade(config, "base")
    command.upgrade(config, "head")


@pytest.mark.parametrize("service", SERVICES)
async def test_history_reaches_head_matches_models_and_reverses(service, databases):
    await asyncio.to_thread(_round_trip, service, databases.url(service, empty=True))
