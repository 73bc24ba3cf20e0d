from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class DualReportOut(BaseModel):
    id: str
    case_id: str
    recipient: str
    recipient_org_code: str
    recipient_org_name: str
    issued_at: datetime
    acknowledged_at: datetime | None


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]
    note: str | None = None


class CaseOut(BaseModel):
    id: str
    student_id: str
    status: str
    origin: str
    school_code: str
    org_path: list[str]
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class CaseDetail(CaseOut):
    reports: list[DualReportOut]
    timeline: list[TimelineEntry]
