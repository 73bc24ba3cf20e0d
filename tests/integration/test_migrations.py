"""Tables come only from migrations: each history reaches head, matches the models, and reverses."""

from __future__ import annotations

import asyncio
import json

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


async def _rows(url: str, sql: str) -> list[tuple]:
    from sqlalchemy import text

    from shared.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_org_paths_and_flags_move_to_one_encoding_and_back(databases):
    """The data itself: JSON lists become "/a/b/" strings, "|x|" flags "/x/", and back."""
    url = databases.url("cases", empty=True)
    config = alembic_config("cases", url)
    await asyncio.to_thread(command.upgrade, config, "0010_case_child_id")
    await _rows(url, "INSERT INTO students (student_id, name, gender, birth_date, school_code, class_id, grade, "
                     "org_path, org_chain, flags, guardians, status) VALUES "
                     "('s1', 'n', 'male', '2015-01-01', 'S_1', 'c1', 3, '[\"410000\", \"410122\", \"S_1\"]', '[]', "
                     "'[\"left_behind\", \"poor_household\"]', '[]', 'enrolled'), "
                     "('s2', 'n', 'male', '2015-01-01', 'S2', 'c2', 3, '[\"410000\"]', '[]', '[]', '[]', 'enrolled')")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _rows(url, "SELECT student_id, org_path, flags FROM students ORDER BY student_id") == [
        ("s1", "/410000/410122/S_1/", "/left_behind/poor_household/"), ("s2", "/410000/", "/")]
    await asyncio.to_thread(command.downgrade, config, "0010_case_child_id")
    back = await _rows(url, "SELECT org_path, flags FROM students ORDER BY student_id")
    assert [tuple(v if isinstance(v, list) else json.loads(v) for v in row) for row in back] == [
        (["410000", "410122", "S_1"], ["left_behind", "poor_household"]), (["410000"], [])]

    url = databases.url("reporting", empty=True)
    config = alembic_config("reporting", url)
    await asyncio.to_thread(command.upgrade, config, "0006_dual_report_law")
    await _rows(url, "INSERT INTO students (student_id, path, grade, level, status, flags) VALUES "
                     "('s1', '/410000/S1/', 3, 'primary', 'enrolled', '|poor_household|'), "
                     "('s2', '/410000/S1/', 3, 'primary', 'enrolled', '||')")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _rows(url, "SELECT flags FROM students ORDER BY student_id") == [("/poor_household/",), ("/",)]
    await asyncio.to_thread(command.downgrade, config, "0006_dual_report_law")
    assert await _rows(url, "SELECT flags FROM students ORDER BY student_id") == [("|poor_household|",), ("||",)]


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
