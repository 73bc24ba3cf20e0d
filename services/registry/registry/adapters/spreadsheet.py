"""Reading the spreadsheets counties keep (CSV or XLSX) into rows of text keyed by field name.

County staff export from Excel: CSV comes as UTF-8 (with or without a BOM) or as GB18030 (what
Chinese Excel writes by default), headings are Chinese or English, sometimes with a "*" marking
required columns. XLSX cells arrive typed: an ID number typed into a number cell, a date cell.
Everything is turned into text here; the domain parses the text.

An upload is hostile until measured: the parse runs on a worker thread (the event loop keeps
answering /healthz, the relay and the consumer), XLSX is measured by ``xlsx_guard`` before
openpyxl expands anything, and CSV records are counted before the csv module builds them.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from registry.adapters import xlsx_guard
from registry.adapters.xlsx_guard import UploadLimits
from shared.errors import Invalid, Problem

XLSX_MAGIC = b"PK\x03\x04"
# Two parses at a time per process: more uploads queue here rather than multiply the memory.
_PARSERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spreadsheet")


class UploadTooLarge(Problem):
    status, slug, title = 413, "too-large", "Request body too large"


def _file_problem(message: str) -> Invalid:
    return Invalid(f"the file cannot be read: {message}",
                   errors=[{"field": "file", "pointer": "/file", "message": message}])


@dataclass(frozen=True)
class Table:
    columns: dict[str, str]      # field name -> the heading it was read from
    rows: list[dict[str, str]]   # one dict per data row, by field name
    first_row: int               # the spreadsheet row number of rows[0] (the heading is row 1)


def _normalise(heading: Any) -> str:
    text = "" if heading is None else str(heading)
    return re.sub(r"[\s*＊:：()（）_\-]", "", text).lower()


async def read_upload(data: bytes, filename: str, headings: Mapping[str, tuple[str, ...]], *,
                      required: tuple[str, ...], limits: UploadLimits) -> Table:
    """``read_table`` on a worker thread. A request abandoned meanwhile (the 504 timeout, a
    client gone) tells the parse to stop at its next chunk or row."""
    cancelled = threading.Event()
    future = asyncio.get_running_loop().run_in_executor(
        _PARSERS, lambda: read_table(data, filename, headings, required=required, limits=limits,
                                     cancelled=cancelled))
    try:
        return await future
    except asyncio.CancelledError:
        cancelled.set()
        raise


def read_table(data: bytes, filename: str, headings: Mapping[str, tuple[str, ...]], *, required: tuple[str, ...],
               limits: UploadLimits, cancelled: threading.Event | None = None) -> Table:
    """Parse an upload. ``headings`` maps each field to the headings that name it (any language).
    Unknown columns are ignored; a missing required column is a 422 naming it. A file past the
    limits is a 413 (it unpacks too large) or a 422 (too many rows, columns, cells)."""
    if not data:
        raise Invalid("the file is empty", errors=[{"field": "file", "pointer": "/file", "message": "empty"}])
    is_xlsx = data.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx")
    try:
        raw_rows = _xlsx_rows(data, limits, cancelled) if is_xlsx else _csv_rows(data, limits)
        return _table(raw_rows, headings, required, limits, cancelled)
    except xlsx_guard.TooLarge as exc:
        raise UploadTooLarge(f"the file is too large once unpacked: {exc}",
                             errors=[{"field": "file", "pointer": "/file", "message": str(exc)}]) from None
    except xlsx_guard.Unreadable as exc:
        raise _file_problem(str(exc)) from None


def _table(raw_rows: Iterator[list[Any]], headings: Mapping[str, tuple[str, ...]], required: tuple[str, ...],
           limits: UploadLimits, cancelled: threading.Event | None) -> Table:
    max_rows = limits.max_rows
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
    for number, raw in enumerate(raw_rows, start=2):
        if cancelled is not None and cancelled.is_set():
            raise xlsx_guard.Unreadable("abandoned")
        if not any(_text(v) for v in raw):
            continue  # Excel leaves blank rows below the data
        if len(rows) >= max_rows:
            raise Invalid(f"the file has more than {max_rows} rows; split it",
                          errors=[{"field": "file", "pointer": "/file", "message": f"over {max_rows} rows"}])
        row = {f: _text(raw[i]) if i < len(raw) else "" for f, i in columns.items()}
        for f, value in row.items():
            if len(value) > limits.max_cell_chars:
                raise Invalid(f"row {number}, {f}: longer than {limits.max_cell_chars} characters",
                              errors=[{"field": f"rows.{number}.{f}", "pointer": f"/rows/{number}/{f}",
                                       "message": f"longer than {limits.max_cell_chars} characters"}])
        rows.append(row)
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


def _csv_rows(data: bytes, limits: UploadLimits) -> Iterator[list[str]]:
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
    _check_csv_shape(text, dialect, limits)
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        yield from reader
    except csv.Error as exc:  # a field over the csv module's limit (131,072), a stray NUL...
        raise xlsx_guard.Unreadable(f"line {reader.line_num}: {exc}") from None


def _check_csv_shape(text: str, dialect: Any, limits: UploadLimits) -> None:
    """Fields per record and records, counted before the csv module builds a row: one line of
    eight million commas would be a list of eight million strings. Quoted fields (where a
    delimiter or line break is text) are removed first; a quote opens a field only at its start,
    as the csv module reads it."""
    d, q = re.escape(dialect.delimiter), re.escape(dialect.quotechar or '"')
    quoted = re.compile(f"(?<![^{d}\\r\\n]){q}[^{q}]*(?:{q}{q}[^{q}]*)*{q}")
    records = 0
    for line in quoted.sub("", text).splitlines():
        records += 1
        if line.count(dialect.delimiter) >= limits.max_columns * 4:
            raise xlsx_guard.Unreadable(f"record {records} has more than {limits.max_columns * 4} fields")
        if records > limits.max_cells:
            raise xlsx_guard.Unreadable(f"more than {limits.max_cells} records")


def _xlsx_rows(data: bytes, limits: UploadLimits, cancelled: threading.Event | None) -> Iterator[list[Any]]:
    from openpyxl import load_workbook  # imported here: only uploads need it

    extent = xlsx_guard.measure(data, limits, cancelled)
    if extent.rows == 0:
        return
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise Invalid(f"the file is not a readable XLSX workbook ({type(exc).__name__})",
                      errors=[{"field": "file", "pointer": "/file", "message": "not an xlsx workbook"}]) from None
    try:
        # The extent measured, never the sheet's own <dimension>.
        for row in workbook.worksheets[0].iter_rows(min_row=1, max_row=extent.rows, min_col=1,
                                                    max_col=extent.columns, values_only=True):
            yield list(row)
    except Exception as exc:
        raise Invalid(f"the file is not a readable XLSX workbook ({type(exc).__name__})",
                      errors=[{"field": "file", "pointer": "/file", "message": "unreadable cell"}]) from None
    finally:
        workbook.close()
