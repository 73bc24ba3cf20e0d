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
    # Leave a head teacher may grant for their own class, in school days; consecutive leaves of
    # one child count together, and longer leave is the school office's to decide.
    head_teacher_leave_max_days: int = Field(default=1, ge=0, le=60)
    # Offline batches (POST /v1/roll-calls/batch): roll calls per batch, and the body limit of that
    # route (a school's week, 30 classes x 10 sessions x 45 pupils, is about 0.9 MB).
    roll_call_batch_max: int = Field(default=400, ge=1, le=5000)
    roll_call_batch_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
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
    # The national layer under county and school calendars: `cn` (public holidays and 调休
    # working days from the pinned chinese-calendar library) or `none` (weekdays only).
    national_calendar: Literal["cn", "none"] = "cn"
    session_am_starts: time = time(8, 0)
    session_pm_starts: time = time(14, 0)
    # Roll-call completeness (动态监测): a session with no roll call this long after it starts
    # (plus the school's sync interval) is missing; a class missing every session of this many
    # consecutive school days is escalated to its township; the sweep's interval, and how far
    # back it looks (a sweep down longer than that loses nothing newer).
    roll_call_due_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    roll_call_missing_alert_days: int = Field(default=2, ge=1, le=30)
    roll_call_sweep_interval_s: float = Field(default=300.0, gt=0)
    roll_call_lookback_days: int = Field(default=31, ge=1, le=366)
