"""Field types every service's schemas use."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# The org tree's alphabet (administrative division codes, school codes): what an org code in a
# path, a query, a file name or a token's ``org`` claim may be made of.
ORG_CODE_PATTERN = r"^[0-9A-Za-z_-]{1,32}$"


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # "0001-01-01T00:00+08:00" has no UTC instant Python can hold: a 422, not a 500.
        raise ValueError("out of range") from None


# Instants are stored in UTC everywhere (SQLite keeps no offset): a "+08:00" from a school's
# device is converted here, at the edge, once.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

# A date people mean (a filter, a paperwork date, a birth date: household lists carry adults):
# year 1 or 9999 is a typo, and turning it into a local day's first instant would overflow.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)
Day = Annotated[date, Field(ge=EARLIEST_DAY, le=LATEST_DAY)]
# A day of school work (a roll call, leave, a home visit, a plan's due date, a calendar): this
# system's own era. Whether it may lie after today is the handler's rule (it has the clock).
EARLIEST_SCHOOL_DAY = date(2000, 1, 1)
SchoolDay = Annotated[date, Field(ge=EARLIEST_SCHOOL_DAY, le=LATEST_DAY)]


def _school_era(value: datetime) -> datetime:
    if not EARLIEST_SCHOOL_DAY <= value.date() <= LATEST_DAY:
        raise ValueError(f"must fall between {EARLIEST_SCHOOL_DAY.isoformat()} and {LATEST_DAY.isoformat()}")
    return value


SchoolInstant = Annotated[UtcDatetime, AfterValidator(_school_era)]


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp column that always hands back aware UTC datetimes.

    PostgreSQL keeps the offset; SQLite keeps none and returns naive values. Converting on the
    way in and out here means no handler, schema or comparison has to remember which it is."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
