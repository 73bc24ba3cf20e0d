"""Reading the spreadsheets counties keep (CSV or XLSX) into rows of text keyed by field name.

County staff export from Excel: CSV comes as UTF-8 (with or without a BOM) or as GB18030 (what
Chinese Excel writes by default), headings are Chinese or English, sometimes with a "*" marking
required columns. XLSX cells arrive typed: an ID number typed into a number cell, a date cell.
Everything is turned into text here; the domain parses the text.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterator, Mapping

from shared.errors import Invalid

XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Table:
    columns: dict[str, str]      # field name -> the heading it was read from
    rows: list[dict[str, str]]   # one dict per data row, by field name
    first_row: int               # the spreadsheet row number of rows[0] (the heading is row 1)


def _normalise(heading: Any) -> str:
    text = "" if heading is None else str(heading)
    return re.sub(r"[\s*＊:：()（）_\-]", "", text).lower()


def read_table(data: bytes, filename: str, headings: Mapping[str, tuple[str, ...]], *, required: tuple[str, ...],
               max_rows: int) -> Table:
    """Parse an upload. ``headings`` maps each field to the headings that name it (any language).
    Unknown columns are ignored; a missing required column is a 422 naming it."""
    if not data:
        raise Invalid("the file is empty", errors=[{"field": "file", "pointer": "/file", "message": "empty"}])
    is_xlsx = data.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx")
    raw_rows = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    header = next(raw_rows, None)
    if header is None:
        raise Invalid("the file has no heading row", errors=[{"field": "file", "pointer": "/file", "message": "no rows"}])
    lookup = {_normalise(alias): field for field, aliases in headings.items() for alias in (field, *aliases)}
    columns: dict[str, int] = {}
    seen_as: dict[str, str] = {}
    for index, heading in enumerate(header):
        field = lookup.get(_normalise(heading))
        if field is not None and field not in columns:
            columns[field] = index
            seen_as[field] = str(heading).strip()
    missing = [f for f in required if f not in columns]
    if missing:
        names = ", ".join(f"{f} ({'/'.join(headings[f][:1])})" for f in missing)
        raise Invalid(f"the heading row lacks required column(s): {names}",
                      errors=[{"field": f"file.columns.{f}", "pointer": f"/file/columns/{f}",
                               "message": "missing column; accepted headings: " + ", ".join((f, *headings[f]))}
                              for f in missing])
    rows = []
    for raw in raw_rows:
        if not any(_text(v) for v in raw):
            continue  # Excel leaves blank rows below the data
        if len(rows) >= max_rows:
            raise Invalid(f"the file has more than {max_rows} rows; split it",
                          errors=[{"field": "file", "pointer": "/file", "message": f"over {max_rows} rows"}])
        rows.append({f: _text(raw[i]) if i < len(raw) else "" for f, i in columns.items()})
    return Table(columns=seen_as, rows=rows, first_row=2)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number cell: 2012.0 is "2012"
    return str(value).strip()


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte sequence
        raise Invalid("the CSV file is neither UTF-8 nor GB18030 text")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook  # imported here: only uploads need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a broken file
        raise Invalid(f"the file is not a readable XLSX workbook ({type(exc).__name__})",
                      errors=[{"field": "file", "pointer": "/file", "message": "not an xlsx workbook"}]) from None
    try:
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()
