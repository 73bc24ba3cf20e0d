"""Small builders for test data, through the public API (STYLE.md example 7)."""

from __future__ import annotations

import itertools
from datetime import date

import httpx

from registry.domain.national_id import compose

_seq = itertools.count(11, 2)  # odd sequences: male


def org_tree(*, county: str = "410122", township: str = "410122100", school: str = "4101221001") -> list[dict]:
    return [
        {"code": "410000", "name": "河南省", "kind": "province", "parent_code": None},
        {"code": "410100", "name": "郑州市", "kind": "city", "parent_code": "410000"},
        {"code": county, "name": "中牟县", "kind": "county", "parent_code": "410100"},
        {"code": township, "name": "城关镇", "kind": "township", "parent_code": county},
        {"code": school, "name": "城关镇第一初级中学", "kind": "school", "parent_code": township},
    ]


async def school_with_class(registry: httpx.AsyncClient, school: str = "4101221001", grade: int = 7) -> dict:
    for org in org_tree(school=school):
        r = await registry.post("/v1/orgs", json=org)
        assert r.status_code in (201, 409), r.text
    r = await registry.post(f"/v1/schools/{school}/classes", json={"grade": grade, "name": f"{grade}年级(1)班"})
    if r.status_code == 409:  # the class is there already: reuse it
        return next(c for c in (await registry.get(f"/v1/schools/{school}/classes")).json() if c["id"] == r.json()["class_id"])
    assert r.status_code == 201, r.text
    return r.json()


def student_body(klass: dict, *, born: date = date(2013, 4, 1), seq: int | None = None, **extra) -> dict:
    seq = next(_seq) if seq is None else seq
    return {"national_id": compose("410122", born, seq % 1000), "name": "王小明",
            "gender": "male" if seq % 2 else "female", "birth_date": born.isoformat(),
            "school_code": klass["school_code"], "class_id": klass["id"], **extra}
