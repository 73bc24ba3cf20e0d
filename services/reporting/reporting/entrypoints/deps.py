"""Request dependencies the reporting routes share."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query

from shared.service import RuntimeDep

OrgCode = Annotated[str, Query(min_length=1, max_length=32, description="Any org: school, township, county, city, province")]


def local_day(runtime: RuntimeDep, date_: Annotated[date | None, Query(alias="date", description="As of the end of this day (local); default today")] = None) -> date:
    return date_ or runtime.clock.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()


DayDep = Annotated[date, Depends(local_day)]


def zone(runtime: RuntimeDep) -> ZoneInfo:
    return ZoneInfo(runtime.settings.timezone)


ZoneDep = Annotated[ZoneInfo, Depends(zone)]
