"""No log line carries an ID, a name or a phone, even when the database refuses a statement
full of them. A real `python -m registry serve` on each backend; a trigger the test installs
makes the database refuse the INSERT with the row in its message (PostgreSQL's DETAIL, as a
failing CHECK or a NUL byte gives), and the service's whole log is grepped."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from datetime import date

import httpx
import pytest
from sqlalchemy.engine import make_url

from devtools.stack import Stack, free_port
from registry.domain.national_id import compose
from tests.conftest import TEST_JWT_SECRET, bearer, run_sync

pytestmark = pytest.mark.timeout(120)
NAME = "拒绝王小明"
PHONE = "13912345678"

PG_TRIGGER = """
CREATE FUNCTION refuse_for_test() RETURNS trigger AS $$
BEGIN
  IF NEW.name LIKE '拒绝%' THEN
    RAISE EXCEPTION USING MESSAGE = 'refused by the test',
      DETAIL = 'Failing row contains (' || NEW.national_id || ', ' || NEW.name || ', ' || NEW.guardians::text || ')';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_for_test BEFORE INSERT ON students FOR EACH ROW EXECUTE FUNCTION refuse_for_test();
"""
# SQLite has no RAISE with a message of our choosing that is not a constraint (a constraint
# would be a 409): a trigger writing the row into a table that does not exist fails instead.
SQLITE_TRIGGER = """
CREATE TRIGGER refuse_for_test BEFORE INSERT ON students WHEN NEW.name LIKE '拒绝%'
BEGIN INSERT INTO no_such_table VALUES (NEW.national_id, NEW.name, NEW.guardians); END;
"""


def install_trigger(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(parsed.database) as conn:
            conn.executescript(SQLITE_TRIGGER)
        return
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(PG_TRIGGER)
        finally:
            await conn.close()
    run_sync(run())


def test_a_refused_insert_leaves_no_id_name_or_phone_in_the_log(databases, tmp_path):
    url = databases.url("registry")
    port = free_port()
    stack = Stack(tmp_path, "127.0.0.1:1", ports={"registry": port}, database_urls={"registry": url},
                  env={"BAOXUE_JWT_SECRET": TEST_JWT_SECRET, "BAOXUE_ENVIRONMENT": "test"})
    stack.migrate("registry")
    install_trigger(url)
    stack.start("registry")
    proc = stack.procs["registry"]
    log = tmp_path / "log" / "registry.log"
    ids = [compose("410122", date(2013, 4, 1), seq) for seq in (101, 103, 105)]
    try:
        with httpx.Client(base_url=stack.url("registry"), headers=bearer(), timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            klass = asyncio.run(_school(stack.url("registry")))
            r = http.post("/v1/students", json={
                "national_id": ids[0], "name": NAME, "gender": "male", "birth_date": "2013-04-01",
                "school_code": klass["school_code"], "class_id": klass["id"],
                "guardians": [{"name": "王大山", "relation": "father", "phone": PHONE}]})
            assert r.status_code == 500, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            roster = "身份证号,姓名,班级,监护人,联系电话\n" + "".join(
                f"{nid},{NAME},{klass['name']},王大山,{PHONE}\n" for nid in ids[1:])
            r = http.post("/v1/students/imports", data={"school_code": klass["school_code"]},
                          files={"file": ("roster.csv", roster.encode())})
            assert r.status_code == 500, r.text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except Exception:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    lines = log.read_text().splitlines()
    failed = [line for line in lines if "request.failed" in line]
    assert len(failed) >= 2, "\n".join(lines[-30:])  # the failures were logged, with their class
    assert all("where" in line and "Error" in line for line in failed), failed
    leaks = [line for line in lines if any(s in line for s in (*ids, NAME, PHONE, ids[0][:14]))]
    assert not leaks, "\n".join(leaks)


async def _school(base_url: str) -> dict:
    from tests.factories import school_with_class

    async with httpx.AsyncClient(base_url=base_url, headers=bearer(), timeout=30) as client:
        return await school_with_class(client)
