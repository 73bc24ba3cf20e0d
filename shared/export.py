"""One table (or several), three formats: JSON for apps, CSV and XLSX for the officials who keep
ledgers in Excel.

A route declares its columns once, as (key, Chinese heading) pairs (a key may be dotted,
"current.enrolled", to reach into nested rows), and passes rows (dicts); this module writes the
response. CSV is UTF-8 with a BOM, without which Excel reads Chinese as mojibake; cells that a
spreadsheet would run as a formula are prefixed with ' (OWASP CSV injection), and whatever a
spreadsheet cannot hold (a control character, a lone surrogate) is written as a visible
"\\uXXXX": an export never fails on a stored value. A report of several
sections is a workbook with one sheet per section, or a CSV with the sections one after another,
each under its title.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, NamedTuple
from urllib.parse import quote

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from shared.text import exportable

Format = Literal["json", "csv", "xlsx"]
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# For a route's `responses=`: the OpenAPI document names all three media types.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {
    CSV_TYPE: {"schema": {"type": "string"}},
    XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
}, "description": "JSON (paginated), or the same page as CSV (UTF-8 with BOM) or XLSX with Chinese headings"}}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_CHARS = 32_767  # Excel's limit: a longer cell makes the file "need repair"


class Column(NamedTuple):
    key: str
    heading: str


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[tuple[str, str]]  # Column, or a plain (key, heading) pair
    rows: Iterable[Mapping[str, Any]]


def value_at(row: Any, key: str) -> Any:
    """``row["a"]["b"]`` for the key "a.b"; None where a level is missing."""
    for part in key.split("."):
        row = row.get(part) if isinstance(row, Mapping) else None
    return row


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
    if isinstance(value, str):
        value = exportable(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str) and len(value) > XLSX_CELL_CHARS:
        return value[:XLSX_CELL_CHARS - 1] + "…"
    return value


def _table(sheet: Sheet) -> Iterator[list[Any]]:
    yield [heading for _, heading in sheet.columns]
    for row in sheet.rows:
        yield [cell(value_at(row, key)) for key, _ in sheet.columns]


def sheets_csv(sheets: Sequence[Sheet]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for i, sheet in enumerate(sheets):
        if len(sheets) > 1:
            if i:
                writer.writerow([])
            writer.writerow([f"【{sheet.title}】"])
        writer.writerows(_table(sheet))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def sheets_xlsx(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])  # Excel's limit on sheet names
        rows = _table(sheet)
        header = []
        for heading in next(rows):
            h = WriteOnlyCell(ws, value=_xlsx_cell(heading))
            h.font = Font(bold=True)
            header.append(h)
        ws.append(header)
        for row in rows:
            ws.append([_xlsx_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_csv(columns: Sequence[tuple[str, str]], rows: Iterable[Mapping[str, Any]]) -> bytes:
    return sheets_csv([Sheet("", columns, rows)])


def to_xlsx(columns: Sequence[tuple[str, str]], rows: Iterable[Mapping[str, Any]], *, sheet: str = "Sheet1") -> bytes:
    return sheets_xlsx([Sheet(sheet, columns, rows)])


def _disposition(filename: str) -> str:
    # A name built from query parameters may carry CR/LF: a header cannot.
    filename = "".join(ch if ch.isprintable() else "_" for ch in filename)
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, errors='replace')}"


def sheets_response(fmt: Format, sheets: Sequence[Sheet], *, filename: str, body: Any,
                    model: type[BaseModel] | None = None) -> Response:
    """``body`` as JSON (shaped by ``model`` when given, as a response_model would), or the
    sheets as CSV or XLSX, attachments named ``<filename>.csv|.xlsx`` (a stable name: the same
    request downloads the same file name)."""
    if fmt == "csv":
        return Response(sheets_csv(sheets), media_type=CSV_TYPE,
                        headers={"Content-Disposition": _disposition(f"{filename}.csv")})
    if fmt == "xlsx":
        return Response(sheets_xlsx(sheets), media_type=XLSX_TYPE,
                        headers={"Content-Disposition": _disposition(f"{filename}.xlsx")})
    if model:
        # Serialised by pydantic itself: a city's weekly report (2,000 schools, two weeks) spent
        # more in model_dump(mode="json") and json.dumps than in all its SQL.
        return Response(model.model_validate(body).model_dump_json(), media_type="application/json")
    return JSONResponse(jsonable_encoder(body))


def tabular_response(fmt: Format, columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]], *,
                     filename: str, json_body: Any = None, sheet: str = "Sheet1") -> Response:
    """One table: ``json_body`` (e.g. a page) or ``{"items": rows}`` as JSON, else the rows."""
    rows = list(rows)
    return sheets_response(fmt, [Sheet(sheet, columns, rows)], filename=filename,
                           body=json_body if json_body is not None else {"items": rows})
