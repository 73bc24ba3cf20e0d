"""The registry's new facts reach the services that keep a copy of the student: through the real
broker, from the registry's own routes."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import eventually


async def _grade_in(client, table, student_id: str):
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(table.c.grade).where(table.c.student_id == student_id))).scalar_one_or_none()


async def test_a_promoted_class_moves_its_children_up_a_grade_everywhere(databases, broker):
    from attendance.adapters.tables import roster
    from cases.adapters.tables import students as cases_students

    async with running("registry", databases.url("registry"), broker.bootstrap) as registry, \
            running("cases", databases.url("cases"), broker.bootstrap) as cases, \
            running("attendance", databases.url("attendance"), broker.bootstrap) as attendance:
        klass = await school_with_class(registry, grade=7)
        student = (await registry.post("/v1/students", json=student_body(klass))).json()
        copies = ((cases, cases_students), (attendance, roster))

        async def grades():
            return [await _grade_in(client, table, student["id"]) for client, table in copies]

        assert await eventually(lambda: _all(grades, 7), timeout=30)
        r = await registry.post(f"/v1/schools/{klass['school_code']}/promotions", json={"school_year": 2026})
        assert r.status_code == 201, r.text
        assert await eventually(lambda: _all(grades, 8), timeout=30)


async def _all(grades, grade: int) -> bool:
    return await grades() == [grade, grade]
