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


async def test_the_calendar_key_renamed_to_org_code_keeps_the_layers(databases):
    """0012 renames calendars.school_code (it held any org's code) to org_code, rows kept both ways."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    url = databases.url("attendance", empty=True)
    config = alembic_config("attendance", url)
    await asyncio.to_thread(command.upgrade, config, "0010_roll_call_completeness")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO calendars (school_code, body) "
                                    "VALUES ('410122', '{\"holidays\": []}')"))
        await asyncio.to_thread(command.upgrade, config, "0012_calendar_org_code")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT org_code, body FROM calendars"))).all() == [
                ("410122", '{"holidays": []}') if "sqlite" in url else ("410122", {"holidays": []})]
        await asyncio.to_thread(command.downgrade, config, "0010_roll_call_completeness")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT school_code FROM calendars"))).scalars().all() == ["410122"]
    finally:
        await engine.dispose()
