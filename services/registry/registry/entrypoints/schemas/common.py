"""Field types the registry bodies share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.text import NameText

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{5,19}$")]
Flag = Literal["poor_household", "left_behind", "single_parent", "disabled", "learning_difficulty"]
HostName = NameText(200)
SchoolYear = Annotated[int, Field(ge=2000, le=2100, description="the year the school year starts (2026 = 2026-2027)")]
Region = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
