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
    # `school_hours`: only school days count, in full (README, "The 48-hour rule"); `wall_clock`: every hour.
    absence_counting: Literal["school_hours", "wall_clock"] = "school_hours"
    # The correction window: an alarm rests on an observed session (the first roll call at or
    # after the due instant that shows the child away); the detector fires this long after that
    # session's start, so a mark tapped wrong at 08:05 and fixed at 08:20 reaches nobody.
    absence_roll_call_grace_minutes: int = Field(default=120, ge=0, le=24 * 60)
    # Chronic absence: share of a term's sessions missed (absent or on leave) that flags a student,
    # once at least `chronic_absence_min_sessions` sessions were taken in the term.
    chronic_absence_threshold: float = Field(default=0.10, gt=0, le=1)
    chronic_absence_min_sessions: int = Field(default=20, ge=1)
    # When each roll-call session begins, in the schools' local time (BAOXUE_TIMEZONE); a county or
    # school calendar may set its own.
    session_am_starts: time = time(8, 0)
    session_pm_starts: time = time(14, 0)
