"""The national layer of every school calendar: public holidays and the working days moved
around them (调休), from the State Council's yearly notice as the `chinese-calendar` library
keeps it (pinned in pyproject.toml; a new release each December adds the next year).

A county that sets nothing still skips 国庆 and teaches on the make-up Saturday. Counties and
schools override any day in their own layers. Past ``KNOWN_UNTIL`` the library knows nothing:
weekdays are then the only rule, and the calendar read says so (a warning, not a failure).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from importlib.metadata import version
from types import MappingProxyType

from chinese_calendar import constants

from attendance.domain.calendar import DayKind

SOURCE = f"chinese-calendar {version('chinese-calendar')}"


def _days() -> Mapping[date, DayKind]:
    days: dict[date, DayKind] = {d: "holiday" for d in constants.holidays}
    # Only weekend working days are listed as such: they are the make-up days (调休).
    days.update({d: "school_day" for d in constants.workdays})
    return MappingProxyType(days)


DAYS: Mapping[date, DayKind] = _days()
# The notice for a year covers the whole year: the last year the library has is known to 31 Dec.
KNOWN_UNTIL = date(max(d.year for d in DAYS), 12, 31)
NONE: Mapping[date, DayKind] = MappingProxyType({})
