"""One table, three formats: JSON for apps, CSV and XLSX for the officials who keep ledgers in Excel.

A route declares its columns once (key, Chinese heading) and passes rows (dicts); this module
writes the response. CSV is UTF-8 with a BOM, without which Excel reads Chinese as mojibake;
cells that a spreadsheet would run as a formula are prefixed with ' (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Literal, Mapping, Sequence
from urllib.parse import quote

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

Format = Literal["json", "csv", "xlsx"]
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# For a route's `responses=`: the OpenAPI document names all three media types.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {
    CSV_TYPE: {"schema": {"type": "string"}},
    XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
}, "description": "JSON (paginated), or the same page as CSV (UTF-8 with BOM) or XLSX with Chinese headings"}}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    heading: str


def cell(value: Any) -> Any:
    """A value as a spreadsheet shows it: lists joined with 、, yes/no as 是/否, dates in ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(str(cell(v)) for v in value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def to_csv(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.heading for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c.key)) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], *, sheet: str = "Sheet1") -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    header = []
    for c in columns:
        h = WriteOnlyCell(ws, value=c.heading)
        h.font = Font(bold=True)
        header.append(h)
    ws.append(header)
    for row in rows:
        ws.append([cell(row.get(c.key)) for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def tabular_response(fmt: Format, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], *,
                     filename: str, json_body: Any = None, sheet: str = "Sheet1") -> Response:
    """``rows`` as JSON (``json_body`` if given, e.g. a page, else ``{"items": rows}``), CSV or
    XLSX, the last two as attachments named ``<filename>.csv|.xlsx`` (a stable name: the same
    request downloads the same file name)."""
    if fmt == "csv":
        return Response(to_csv(columns, rows), media_type=CSV_TYPE,
                        headers={"Content-Disposition": _disposition(f"{filename}.csv")})
    if fmt == "xlsx":
        return Response(to_xlsx(columns, rows, sheet=sheet), media_type=XLSX_TYPE,
                        headers={"Content-Disposition": _disposition(f"{filename}.xlsx")})
    return JSONResponse(jsonable_encoder(json_body if json_body is not None else {"items": list(rows)}))
