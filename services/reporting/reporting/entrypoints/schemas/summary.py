"""Bodies of the summary, the targets and the statutory indicators."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reporting.entrypoints.schemas.common import TargetStatus


class Figures(BaseModel):
    # Counts on the day (as of D).
    enrolled: int
    dropped_out: int
    returned: int
    graduated: int
    on_roll: int
    # Shares on the day: NOT the statutory rates (dropouts on the roll / on roll; the old
    # "retention" that every graduate ever recorded raises). Kept for continuity only.
    day_dropout_share: float | None
    day_retention_share: float | None
    # The school year to D (README "Statutory rates"): 学年初在校学生数, the year's dropouts (each
    # child once), normal transfers in and out, and the base net of them.
    start_roll: int
    year_dropouts: int
    transfers_in: int
    transfers_out: int
    net_roll: int
    dropout_rate: float | None      # 年辍学率 = year_dropouts / start_roll
    retention_rate: float | None    # 在校生巩固率 = (net_roll - year_dropouts) / net_roll
    open_cases: int
    status: TargetStatus | None


class Targets(BaseModel):
    junior_dropout_max: float
    primary_dropout_max: float
    retention_min: float
    margin: float


Share = Field(default=None, ge=0, le=1, description="A fraction: 0.02 is 2 %; null inherits it")


class TargetsIn(BaseModel):
    """An org's own targets (一县一策). A field left out or null is inherited from the nearest org
    above that sets it, else the default (settings)."""
    model_config = ConfigDict(extra="forbid")
    junior_dropout_max: float | None = Share   # 初中年辍学率 at most
    primary_dropout_max: float | None = Share  # 小学年辍学率 at most
    retention_min: float | None = Share        # 在校生巩固率 at least


class OwnTargets(BaseModel):
    junior_dropout_max: float | None
    primary_dropout_max: float | None
    retention_min: float | None


class TargetsView(BaseModel):
    org_code: str
    org_name: str
    org_kind: str
    own: OwnTargets
    effective: Targets
    # Where each effective target comes from: an org code (this one, or one above) or "default".
    sources: dict[str, str]
    set_at: datetime | None
    set_by: str | None


class SystemFigures(Figures):
    levels: dict[str, Figures]


class SchoolYearInfo(BaseModel):
    name: str          # 2026-2027
    first_day: date
    last_day: date
    through: date      # the statutory flows are counted from first_day to this day


class NineYearRetention(BaseModel):
    """九年义务教育巩固率: null with the reason when the records do not reach the cohort's entry."""
    value: float | None
    graduates: int | None
    entrants: int | None
    cohort_entered: str
    reason: str | None


class Summary(Figures):
    org_code: str
    org_name: str
    org_kind: str
    date: date
    school_year: SchoolYearInfo
    nine_year_retention: NineYearRetention
    levels: dict[str, Figures]
    # Keyed by school system (6+3, 5+4, nine_year, twelve_year): only those present under the org.
    systems: dict[str, SystemFigures]
    targets: Targets                 # the org's own (一县一策), else inherited, else the defaults
    target_sources: dict[str, str]
    as_of: datetime | None


class IndicatorPart(BaseModel):
    value: float | None
    numerator: int | None
    denominator: int | None
    counted: str | None
    reason: str | None
    awaiting: list[str]


class LaggingSchool(BaseModel):
    code: str
    name: str | None
    expected: int
    taken: int
    rate: float = Field(description="taken / expected roll calls in the week")


class Indicator(BaseModel):
    name: str
    standing: Literal["known", "partial", "unknown"]
    parts: dict[str, IndicatorPart]
    lagging: list[LaggingSchool] = Field(
        default_factory=list, description="动态监测: schools below 95 % of their expected roll calls, worst first")


class Indicators(BaseModel):
    monitoring: Indicator
    responsibility: Indicator
