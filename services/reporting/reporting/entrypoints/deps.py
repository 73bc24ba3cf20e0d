"""Request dependencies the reporting routes share."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query

from shared.errors import Invalid
from shared.service import RuntimeDep

from shared.export import Format
from reporting.domain.months import Month
from reporting.domain.weeks import Week, week_of

OrgCode = Annotated[str, Query(min_length=1, max_length=32, description="Any org: school, township, county, city, province")]


def local_day(runtime: RuntimeDep, date_: Annotated[date | None, Query(alias="date", description="As of the end of this day (local); default today")] = None) -> date:
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
        return Week.parse(week)
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
