"""Bodies of the frozen submissions (报送)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


class SubmissionSummary(BaseModel):
    id: int
    kind: Literal["weekly", "monthly"]
    org_code: str
    period: str
    submitted_at: datetime
    submitted_by: str
    submitted_role: str
    sha256: str


class FigureChange(BaseModel):
    path: str
    submitted: float | int | str | bool | None
    now: float | int | str | bool | None


class Submission(SubmissionSummary):
    """The figures as submitted, and what a recomputation now says differently."""
    # The submitted JSON exactly as frozen (its SHA-256 is over these bytes): not re-shaped by
    # today's report model, which may have gained fields since.
    figures: dict[str, Any]
    changed: bool
    changes: list[FigureChange]
    recomputed_as_of: datetime | None


class Submissions(BaseModel):
    items: list[SubmissionSummary]
