"""Bodies of the ledgers (台账)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class LedgerRow(BaseModel):
    student_id: str
    name: str | None
    national_id_masked: str | None
    gender: str | None
    birth_date: date | None
    school_code: str | None
    school_name: str | None
    grade: int
    class_id: str | None
    status: str
    status_since: date | None
    status_reason: str | None
    flags: list[str]
    enrolled_on: date | None
    arrangement: str | None = None
    dropped_on: date | None = None
    dropout_reason: str | None = None
    case_id: str | None = None
    case_status: str | None = None
    opened_at: datetime | None = None
    first_visit_at: datetime | None = None
    home_visits: int | None = None
    returned_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
