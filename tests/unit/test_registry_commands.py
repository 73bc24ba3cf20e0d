"""A PATCH body becomes a command that tells a field left out (kept) from a field sent as null
(cleared, or refused): the off-roll and org changes depend on the difference."""

from __future__ import annotations

from registry.domain.model import UNCHANGED, named
from registry.entrypoints import commands
from registry.entrypoints.schemas.orgs import OrgUpdate
from registry.entrypoints.schemas.watch import OffRollUpdate


def test_a_field_left_out_is_unchanged_and_a_null_is_carried():
    change = commands.off_roll_change(OffRollUpdate.model_validate({"expected_end": None, "host_region": "441900"}))
    assert named(change) == {"expected_end": None, "host_region": "441900"}
    assert change.host_school_code is UNCHANGED
    org = commands.org_change(OrgUpdate.model_validate({"system": None}))
    assert (org.system, org.name, org.parent_code) == (None, UNCHANGED, UNCHANGED)
