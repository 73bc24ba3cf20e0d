"""Request dependencies the reporting routes share."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query

from reporting.domain.months import Month
from reporting.domain.weeks import Week, week_of
from shared.errors import Invalid
from shared.export import Format
from shared.service import RuntimeDep
from shared.types import EARLIEST_DAY, LATEST_DAY, ORG_CODE_PATTERN, Day

OrgCode = Annotated[str, Query(pattern=ORG_CODE_PATTERN,
                               description="Any org: school, township, county, city, province")]


def local_day(runtime: RuntimeDep, date_: Annotated[Day | None, Query(alias="date", description="As of the end of this day (local); default today")] = None) -> date:
    return date_ or runtime.clock.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()


DayDep = Annotated[date, Depends(local_day)]


def zone(runtime: RuntimeDep) -> ZoneInfo:
    return ZoneInfo(runtime.settings.timezone)


ZoneDep = Annotated[ZoneInfo, Depends(zone)]


def iso_week(runtime: RuntimeDep, week: Annotated[str | None, Query(
        description="ISO week YYYY-Www, cut off at the end of its Friday (local); default this week")] = None) -> Week:
    if week is None:
        return week_of(runtime.clock.now().astimezone(ZoneInfo(runtime.settings.timezone)).date())
    try:
        parsed = Week.parse(week)
        if not EARLIEST_DAY.year <= parsed.year <= LATEST_DAY.year:
            raise ValueError(f"the week must fall between {EARLIEST_DAY.year} and {LATEST_DAY.year}")
        return parsed
    except ValueError as exc:
        raise Invalid(str(exc), errors=[{"field": "week", "pointer": "/week", "message": str(exc)}]) from None


WeekDep = Annotated[Week, Depends(iso_week)]


def calendar_month(runtime: RuntimeDep, month: Annotated[str | None, Query(
        description="Month YYYY-MM (local dates); default this month")] = None) -> Month:
    if month is None:
        return Month.of(runtime.clock.now().astimezone(ZoneInfo(runtime.settings.timezone)).date())
    try:
        return Month.parse(month)
    except ValueError as exc:
        raise Invalid(str(exc), errors=[{"field": "month", "pointer": "/month", "message": str(exc)}]) from None


MonthDep = Annotated[Month, Depends(calendar_month)]
FormatQuery = Annotated[Format, Query(description="json (default), csv or xlsx (Chinese headings)")]
