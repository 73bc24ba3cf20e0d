from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class CasesSettings(ServiceSettings):
    service_name: str = "cases"
    http_port: int = 8003
    # Check first: the school confirms or dismisses a case within this many wall-clock hours of
    # its opening; reports nobody decided on leave at this deadline, marked unverified.
    verify_deadline_hours: float = Field(default=24.0, gt=0)
    # An unacknowledged dual report this long after it was issued is escalated once, one level up.
    escalation_deadline_hours: float = Field(default=24.0, gt=0)
    # How often the escalation sweep runs; a late or missed pass still finds everything overdue.
    escalation_interval_s: float = Field(default=60.0, gt=0)
    # A closed case may be reopened this long after its close-out (about a school term).
    reopen_window_days: int = Field(default=150, ge=0)
    # Seed 002: 每名班主任每学期入户家访要在40人次以上 — the register's duty per recorder per term.
    home_visits_per_term: int = Field(default=40, ge=0)
    # Seed 002: 有反复的学生家访次数要达到2次以上 — visits a term for a relapsed child.
    home_visits_relapsed_min: int = Field(default=2, ge=0)
    # The CJK font the legal documents' PDFs embed (a subset); unset: Debian's fonts-noto-cjk paths.
    cjk_font: str | None = None
    # The largest lesson plan (教案) a home-teaching session may upload.
    lesson_plan_max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
