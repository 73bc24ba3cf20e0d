from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field

from shared.settings import ServiceSettings


class AttendanceSettings(ServiceSettings):
    service_name: str = "attendance"
    http_port: int = 8002
    # How often the 48-hour detector sweeps; a late or missed pass still finds everything overdue.
    detector_interval_s: float = Field(default=60.0, gt=0)
    absence_threshold_hours: float = Field(default=48.0, gt=0)
    # `wall_clock` in this skeleton; `school_hours` (skipping non-school days) arrives with issue 4.
    absence_counting: Literal["wall_clock"] = "wall_clock"
    # When each roll-call session begins, in the schools' local time (BAOXUE_TIMEZONE).
    session_am_starts: time = time(8, 0)
    session_pm_starts: time = time(14, 0)
