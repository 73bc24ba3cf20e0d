"""Tables out as JSON, CSV or XLSX, with Chinese headings.

A column is (key, heading); a key may be dotted ("current.enrolled") to reach into nested rows.
CSV carries a UTF-8 byte-order mark so Excel opens the Chinese as Chinese; a workbook has one
sheet per section, and a CSV of several sections has them one after the other, each under its
title. (Issue 5 writes the same idea as shared/export.py; the two are to be folded into one.)
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Literal, Sequence
from urllib.parse import quote

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from openpyxl import Workbook
from pydantic import BaseModel

Format = Literal["json", "csv", "xlsx"]
Column = tuple[str, str]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Iterable[dict[str, Any]]


def value_at(row: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        row = row.get(part) if isinstance(row, dict) else None
    return row


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _table(sheet: Sheet) -> list[list[Any]]:
    return [[h for _, h in sheet.columns],
            *([_cell(value_at(r, k)) for k, _ in sheet.columns] for r in sheet.rows)]


def csv_bytes(sheets: Sequence[Sheet]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for i, sheet in enumerate(sheets):
        if len(sheets) > 1:
            if i:
                writer.writerow([])
            writer.writerow([f"【{sheet.title}】"])
        writer.writerows(_table(sheet))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    book = Workbook(write_only=True)
    for sheet in sheets:
        ws = book.create_sheet(title=sheet.title[:31])  # Excel's limit on sheet names
        for row in _table(sheet):
            ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def export(fmt: Format, sheets: Sequence[Sheet], *, filename: str, body: Any,
           model: type[BaseModel] | None = None) -> Response:
    """``body`` is the JSON answer (shaped by ``model`` when given, as a response_model would);
    the sheets are the same figures as tables."""
    if fmt == "json":
        return JSONResponse(model.model_validate(body).model_dump(mode="json") if model else jsonable_encoder(body))
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}.{fmt}"
    if fmt == "csv":
        return Response(csv_bytes(sheets), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": disposition})
    return Response(xlsx_bytes(sheets), media_type=XLSX, headers={"Content-Disposition": disposition})
