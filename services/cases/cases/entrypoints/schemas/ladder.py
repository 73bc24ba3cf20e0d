"""The legal ladder's steps, responses and documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cases.domain.ladder import Response, Step
from shared.text import FreeText, LineText, Name, OrgName
from shared.types import Day, SchoolDay


class LegalEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: FreeText(2000) | None = None
    document_ref: LineText(200) | None = Field(default=None, description="a receipt of service, a file reference")
    witnesses: list[Name] = Field(default_factory=list, max_length=10)


class LegalStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "step": "parent_notice", "issuing_org_name": "城关镇第一初级中学", "served_on": "2026-11-20",
        "served_how": "in_person", "deadline": "2026-11-27", "document_number": "城中〔2026〕1号",
        "evidence": {"description": "班主任当面送达，家长签收", "witnesses": ["李老师"]}}]})
    step: Step
    issuing_org_code: str | None = Field(default=None, max_length=36, description="default: the caller's org")
    issuing_org_name: OrgName = Field(description="as printed on the document")
    guardian: Name | None = Field(default=None, description="whom it is served on; default: the child's first guardian")
    served_on: SchoolDay
    served_how: Literal["in_person", "post", "left_at_home", "announcement"]
    deadline: Day = Field(description="the last day to comply (send the child back to school)")
    document_number: LineText(100) | None = None
    evidence: LegalEvidence | None = None

    @model_validator(mode="after")
    def _deadline_after_service(self) -> LegalStepIn:
        if self.deadline <= self.served_on:
            raise ValueError("deadline must be after served_on")
        return self


class LegalResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"response": "complied", "responded_on": "2026-11-25", "note": "已送孩子返校"}]})
    response: Response
    responded_on: SchoolDay
    note: FreeText(2000) | None = None


class LegalDocumentOut(BaseModel):
    format: Literal["docx", "pdf"]
    sha256: str
    size: int
    media_type: str


class LegalStepOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    case_id: str
    step: Step
    issuing_org_code: str
    issuing_org_name: str
    guardian: str
    served_on: date
    served_how: str
    deadline: date
    document_number: str | None
    evidence: dict[str, Any] | None
    response: Response | None
    responded_on: date | None
    response_note: str | None
    recorded_by: str
    recorded_at: datetime
    escalated_at: datetime | None
    overdue: bool
    documents: list[LegalDocumentOut]
