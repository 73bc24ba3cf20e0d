"""An area's two recipient offices."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class OfficeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32, description="the office's org code (kind office), "
                                                               "also the org of its recipient tokens")
    name: str | None = Field(default=None, min_length=1, max_length=200)


class RecipientsIn(BaseModel):
    """The area's two recipient offices, one per line: two different offices."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "government": {"code": "410122100-GOV", "name": "某某镇人民政府"},
        "education": {"code": "410122100-ZXX", "name": "某某镇中心校"}}]})
    government: OfficeIn
    education: OfficeIn


class OfficeOut(BaseModel):
    code: str
    name: str
    derived: bool = Field(description="true: the area named none, reports go to <area>-GOV / <area>-EDU")
    named_by: str | None = None
    named_at: datetime | None = None


class RecipientsOut(BaseModel):
    area_code: str
    area_name: str
    area_kind: str
    government: OfficeOut
    education: OfficeOut
