from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from reporting.domain.rates import Targets
from reporting.domain.statutory import SchoolYear, parse_year_start
from reporting.domain.submissions import Deadline
from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = 8004
    # Targets the figures are held against (defaults from the seeds), and how far a rate may miss
    # its target and still be "at risk" rather than "off target".
    target_junior_dropout_max: float = Field(default=0.02, ge=0, le=1)
    target_primary_dropout_max: float = Field(default=0.0, ge=0, le=1)
    target_retention_min: float = Field(default=0.98, ge=0, le=1)
    target_at_risk_margin: float = Field(default=0.005, ge=0, le=1)
    # When a county's weekly report is due, in local time within the report's ISO week (seed 000:
    # 每周五向市教体局报送周报表). A weekday name (or its first three letters) and HH:MM.
    weekly_deadline: str = "friday 18:00"
    # The first day of the school year (学年), MM-DD: the statutory rates are flows from it to the
    # day before the next year's, and its census (the end of that day) is the start-of-year roll.
    school_year_start: str = "09-01"

    @field_validator("school_year_start")
    @classmethod
    def _year_start(cls, value: str) -> str:
        parse_year_start(value)
        return value

    def school_year(self, day: date) -> SchoolYear:
        month, day_ = parse_year_start(self.school_year_start)
        return SchoolYear.of(day, month, day_)

    @field_validator("weekly_deadline")
    @classmethod
    def _deadline(cls, value: str) -> str:
        Deadline.parse(value)  # fails start-up with the expected form
        return value

    @property
    def deadline(self) -> Deadline:
        return Deadline.parse(self.weekly_deadline)

    @property
    def targets(self) -> Targets:
        return Targets(self.target_junior_dropout_max, self.target_primary_dropout_max,
                       self.target_retention_min, self.target_at_risk_margin)
