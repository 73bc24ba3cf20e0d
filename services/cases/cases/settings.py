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
