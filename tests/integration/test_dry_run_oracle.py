"""A dry-run import is no oracle: it says "active elsewhere" only for a row whose name and birth
date match that record (a child the caller already knows), and a caller gets a few a day, each
counted and audited."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select

from registry.adapters.tables import import_dry_runs
from shared.audit import audit_log
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body

NO_BROKER = "127.0.0.1:1"


def roster(klass: dict, *rows: tuple[str, str]) -> bytes:
    return ("身份证号,姓名,班级\n" + "".join(f"{nid},{name},{klass['name']}\n" for nid, name in rows)).encode()


async def test_a_dry_run_names_only_children_it_already_knows_and_is_capped(databases):
    async with running("registry", databases.url("registry"), NO_BROKER, import_dry_runs_per_day=3,
                       writes_per_minute=100_000) as registry:
        here = await school_with_class(registry)
        there = await school_with_class(registry, school="4101221002")
        known = student_body(there, seq=201, name="Łukasz Wang")
        probed = student_body(there, seq=203)
        for body in (known, probed):
            assert (await registry.post("/v1/students", json=body)).status_code == 201
        staff = bearer("school_staff", here["school_code"])
        typed_otherwise = unicodedata.normalize("NFD", known["name"])  # the same name, decomposed
        sheet = roster(here, (known["national_id"], typed_otherwise), (probed["national_id"], "随便猜"))

        async def dry_run(headers=staff):
            return await registry.post("/v1/students/imports", params={"dry_run": "true"}, headers=headers,
                                       data={"school_code": here["school_code"]}, files={"file": ("r.csv", sheet)})

        r = await dry_run()
        assert r.status_code == 200, r.text
        assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(2, "national_id")]  # the known child only
        assert (r.json()["valid"], r.json()["invalid"]) == (1, 1)
        # The real import of the guessed row still writes nothing: one active record per child.
        r = await registry.post("/v1/students/imports", headers=staff, data={"school_code": here["school_code"]},
                                files={"file": ("r.csv", roster(here, (probed["national_id"], "随便猜")))})
        assert r.status_code == 409, r.text

        assert [(await dry_run()).status_code for _ in range(2)] == [200, 200]
        r = await dry_run()
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text
        assert (await dry_run(bearer("school_staff", there["school_code"]))).status_code == 404  # not its school
        assert (await dry_run(bearer("county_official", "410122"))).status_code == 200  # its own budget
        async with registry.app.state.runtime.sessionmaker() as s:
            counted = {r.subject: (r.runs, r.rows) for r in (await s.execute(select(import_dry_runs))).all()}
            audited = (await s.execute(select(audit_log.c.status).where(
                audit_log.c.route == "/v1/students/imports", audit_log.c.actor == "test-school_staff")
                .order_by(audit_log.c.id))).scalars().all()
        assert counted == {"test-school_staff": (3, 6), "test-county_official": (1, 2)}
        assert audited == [200, 409, 200, 200, 429, 404]  # (both school offices sign as test-school_staff)
