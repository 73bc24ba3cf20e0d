"""Shared field types refuse what they cannot represent, as validation errors (422), not crashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.types import UtcDatetime

INSTANT = TypeAdapter(UtcDatetime)


def test_an_instant_with_an_offset_is_stored_as_utc():
    assert INSTANT.validate_python("2026-11-16T08:00:00+08:00") == datetime(2026, 11, 16, tzinfo=UTC)


@pytest.mark.parametrize("edge", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"])
def test_an_instant_beyond_what_utc_can_hold_is_invalid(edge):
    with pytest.raises(ValidationError, match="out of range"):
        INSTANT.validate_python(edge)
