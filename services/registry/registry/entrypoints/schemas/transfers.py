"""Bodies of the transfer routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from registry.domain.lifecycle import Side
from registry.entrypoints.schemas.common import Code
from shared.text import FreeText, LineText, Name
from shared.types import Day


class TransferIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"to_school_code": "41012202001", "effective_on": "2026-11-20", "reason": "family moved"},
        {"destination": "广东省东莞市某小学 (outside this system)", "reason": "parents work away"}]})
    to_school_code: Code | None = Field(default=None, description="the receiving school, if it is in this system")
    destination: LineText(200, min_length=1) | None = None
    effective_on: Day | None = Field(default=None, description="defaults to today")
    reason: FreeText(500) | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> TransferIn:
        if self.to_school_code is None and self.destination is None:
            raise ValueError("name the receiving school (to_school_code) or describe the destination")
        return self


class TransferConfirmIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"class_id": "…", "effective_on": "2026-11-23"}]})
    class_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = Field(
        default=None, description="the receiving school's class; required when the receiving school confirms "
                                  "(a transfer the receiving school asked for named it then)")
    effective_on: Day | None = Field(default=None, description="the day the child arrived; defaults to today")


class TransferRequestIn(BaseModel):
    """The receiving school asks for a child's record (转入申请), as the national system does; the
    sending school confirms. The child is found by ID number and name together."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "national_id": "11010520120305002X", "name": "李小花", "class_id": "…", "effective_on": "2026-11-20",
        "reason": "family moved"}]})
    national_id: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=32)]
    name: Name
    class_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] = Field(
        description="the class of the receiving school the child joins")
    effective_on: Day | None = Field(default=None, description="defaults to today")
    reason: FreeText(500) | None = None


class TransferPublic(BaseModel):
    id: str
    student_id: str
    status: Literal["pending", "confirmed", "cancelled"]
    from_school_code: str
    to_school_code: str | None
    destination: str | None
    reason: str | None
    requested_on: date
    requested_by: str
    confirmed_on: date | None
    to_class_id: str | None
    days_pending: int | None = Field(description="for a pending transfer, days since it was requested")
    overdue: bool
    started_by: Side = Field(default=Side.sender, description="which school filed it; the other one confirms")
