"""A case's evidence is open JSON within bounds (depth, members, size, text), and a case whose
stored evidence is beyond any bound (nested 255 levels, as was once accepted) still reads."""

from __future__ import annotations

from sqlalchemy import update

from shared.open_json import CLIPPED
from tests.conftest import running
from tests.factories import NO_BROKER, open_case


def nested(levels: int) -> dict:
    value: dict = {"x": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


async def test_evidence_beyond_its_bounds_is_refused_and_a_stored_one_still_reads(databases):
    from cases.adapters.tables import cases as cases_table

    async with running("cases", databases.url("cases"), NO_BROKER) as cases:
        _, case_id = await open_case(cases)
        hostile = {
            "nested 255 levels": nested(255),
            "300 members": {f"k{i}": i for i in range(300)},
            "20 KB": {"description": "长" * 1000, "more": "x" * 20_000},
            "a NUL in a member": {"photos": ["ok", "bad\x00"]},
            "an override in a key": {"\u202eyek": "v"},
        }
        for what, evidence in hostile.items():
            r = await cases.post(f"/v1/cases/{case_id}/transitions", json={"to": "verifying", "evidence": evidence})
            assert r.status_code == 422, (what, r.text)
            assert [e["pointer"] for e in r.json()["errors"]] == ["/evidence"], (what, r.text)
        # Deeper than any JSON parser recurses: still a problem, not a 500 or a dropped connection.
        deep = '{"to": "verifying", "evidence": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}"
        r = await cases.post(f"/v1/cases/{case_id}/transitions", content=deep,
                             headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, r.text
        ok = {"description": "家访记录", "photos": [{"name": "门口.jpg", "taken": "2026-11-20"}]}
        r = await cases.post(f"/v1/cases/{case_id}/transitions", json={"to": "verifying", "evidence": ok})
        assert r.status_code == 200, r.text

        async with cases.app.state.runtime.sessionmaker() as s:
            await s.execute(update(cases_table).where(cases_table.c.id == case_id).values(evidence=nested(255)))
            await s.commit()
        r = await cases.get(f"/v1/cases/{case_id}")
        assert r.status_code == 200, r.text
        evidence = r.json()["evidence"]
        for _ in range(5):
            evidence = evidence["a"]
        assert evidence == {"a": CLIPPED}
