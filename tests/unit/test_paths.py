"""One encoding of a place: a prefix of the caller's path is their scope, and nothing else is."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from shared.paths import OrgPath, decode, encode, naming, prefix_bounds, within


def test_a_path_encodes_and_decodes():
    assert encode(["410000", "410100"]) == "/410000/410100/"
    assert encode([]) == "/" and encode("//") == "/"
    assert decode("/410000/410100/") == ["410000", "410100"] and decode("/") == [] and decode(("a",)) == ["a"]
    assert prefix_bounds(["410000", "4101"]) == ("/410000/4101/", "/410000/41010")
    with pytest.raises(ValueError):
        encode("410000")


def test_within_is_the_prefix_and_only_it():
    metadata = MetaData()
    t = Table("t", metadata, Column("id", String, primary_key=True), Column("org_path", OrgPath()))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    rows = {"own": ["410000", "4101"], "below": ["410000", "4101", "S_1"], "longer_code": ["410000", "41010", "S1"],
            "sibling": ["410000", "4102"], "above": ["410000"], "similar": ["410000", "4101x"]}
    with engine.begin() as conn:
        conn.execute(insert(t), [{"id": k, "org_path": v} for k, v in rows.items()])
        found = {r.id for r in conn.execute(select(t.c.id).where(within(t.c.org_path, ["410000", "4101"])))}
        assert found == {"own", "below"}
        assert conn.execute(select(t.c.org_path).where(t.c.id == "below")).scalar_one() == ["410000", "4101", "S_1"]
        # A code is matched whole, and "_" in it is no wildcard.
        assert {r.id for r in conn.execute(select(t.c.id).where(naming(t.c.org_path, "S_1")))} == {"below"}
        assert {r.id for r in conn.execute(select(t.c.id).where(naming(t.c.org_path, "4101")))} == {"own", "below"}
        # An org the service does not know sees nothing.
        assert conn.execute(select(t.c.id).where(within(t.c.org_path, ()))).all() == []
