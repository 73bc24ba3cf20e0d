"""What the cases schemas share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from shared.open_json import clipped
from shared.text import FreeText

Text = FreeText(2000, min_length=1)
# An open object as stored, clipped so that any stored value can be answered.
StoredJson = Annotated[dict[str, Any], BeforeValidator(clipped)]
