"""Field types the reporting bodies share."""

from __future__ import annotations

from typing import Literal

TargetStatus = Literal["on_target", "at_risk", "off_target"]
