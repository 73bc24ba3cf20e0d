"""Measuring an XLSX upload before openpyxl opens it.

openpyxl believes a workbook: it pads every row to the width the sheet's ``<dimension>`` claims
(a 2 KB file claiming A1:XFD1048576 is 17 billion cells), fills the gaps between row numbers
with empty rows, and loads every shared string into memory (a deflated run of one character
unpacks a thousandfold). So before it sees the file we read what the ZIP itself declares (its
entry count, its central directory, each member's unpacked size; Python's zipfile never unpacks
past a member's declared size, it fails on the CRC instead) and stream the first sheet and the
shared strings through a pull parser, counting the rows, columns and cells that really hold
something. The caller then asks openpyxl for exactly that extent, never for ``<dimension>``.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_MAX_ENTRIES = 1_000          # a workbook from Excel or WPS has a few dozen members
_MAX_CENTRAL_DIRECTORY = 1_000_000
_MAX_STYLE_TAGS = 400_000  # openpyxl turns every style element into objects
_MAX_TAG_BYTES = 1_048_576  # one tag (its attributes) longer than this is not a spreadsheet
_CHUNK = 65_536
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_WORKSHEET_TYPE = "/worksheet"


@dataclass(frozen=True)
class UploadLimits:
    max_rows: int             # data rows (the heading row is extra)
    max_columns: int
    max_cells: int            # cells that hold a value, and cell elements of any kind
    max_unzipped_bytes: int   # all members together, as the ZIP declares them
    max_cell_chars: int = 32_767  # what one Excel cell can hold


@dataclass(frozen=True)
class Extent:
    sheet_path: str
    rows: int     # the last row number holding a value (0: none)
    columns: int  # the last column number holding a value


class TooLarge(Exception):
    """The workbook unpacks to more than the limits allow (the caller answers 413)."""


class Unreadable(Exception):
    """Not a workbook we can read, or one past a row, column or cell bound (the caller answers 422)."""


def measure(data: bytes, limits: UploadLimits, cancelled: threading.Event | None = None) -> Extent:
    _check_directory(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Unreadable(f"not a ZIP archive ({type(exc).__name__})") from None
    with archive:
        members = archive.infolist()
        if len(members) > _MAX_ENTRIES:
            raise TooLarge(f"the archive has {len(members)} members")
        unzipped = sum(m.file_size for m in members)
        if unzipped > limits.max_unzipped_bytes:
            raise TooLarge(f"the workbook unpacks to {unzipped} bytes, over {limits.max_unzipped_bytes}")
        names = {m.filename for m in members}
        try:
            sheet = _first_sheet(archive, names)
            # Every element costs openpyxl an object or a dict: a shared string is at least
            # <si><t>..</t></si>, four "<"; a cell <c><v>..</v></c>, four too.
            if "xl/sharedStrings.xml" in names:
                _count_tags(archive, "xl/sharedStrings.xml", 4 * limits.max_cells, "shared-string tags", cancelled)
            if "xl/styles.xml" in names:
                _count_tags(archive, "xl/styles.xml", _MAX_STYLE_TAGS, "style tags", cancelled)
            return _fast_extent(archive, sheet, limits, cancelled) or _extent(archive, sheet, limits, cancelled)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ParseError, KeyError) as exc:
            # A member that unpacks past its declared size fails its CRC here.
            raise Unreadable(f"a broken workbook member ({type(exc).__name__})") from None


def _check_directory(data: bytes) -> None:
    """The end-of-central-directory record, read by hand: zipfile would build an object per
    entry it declares before anyone could count them."""
    at = data.rfind(_EOCD, max(0, len(data) - 65_557))
    if at < 0 or len(data) < at + _EOCD_SIZE:
        raise Unreadable("no ZIP end-of-central-directory record")
    entries, cd_size = struct.unpack("<HI", data[at + 10:at + 16])  # total entries, directory size
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        raise TooLarge("a ZIP64 archive: far larger than any roster")
    if entries > _MAX_ENTRIES or cd_size > _MAX_CENTRAL_DIRECTORY:
        raise TooLarge(f"the archive declares {entries} members in {cd_size} bytes of directory")


def _events(archive: zipfile.ZipFile, name: str, cancelled: threading.Event | None
            ) -> Iterator[tuple[str, Element]]:
    """Pull-parse one member in chunks. A DTD has no place in OOXML: refusing it closes off
    entity expansion whatever the XML library would do with it."""
    parser = XMLPullParser(events=("start", "end"))
    with archive.open(name) as member:
        head = True
        while chunk := member.read(_CHUNK):
            if head:
                if b"<!DOCTYPE" in chunk[:4096].upper() or b"<!ENTITY" in chunk[:4096].upper():
                    raise Unreadable(f"{name} declares a DTD")
                head = False
            if cancelled is not None and cancelled.is_set():
                raise Unreadable("abandoned")
            parser.feed(chunk)
            yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


def _chunks(archive: zipfile.ZipFile, name: str, cancelled: threading.Event | None) -> Iterator[bytes]:
    """The member's bytes in pieces that each end at a tag's end, so no tag is ever split."""
    carry = b""
    with archive.open(name) as member:
        first = True
        while chunk := member.read(_CHUNK):
            if first and (b"<!DOCTYPE" in chunk[:4096].upper() or b"<!ENTITY" in chunk[:4096].upper()):
                raise Unreadable(f"{name} declares a DTD")
            first = False
            if cancelled is not None and cancelled.is_set():
                raise Unreadable("abandoned")
            data = carry + chunk
            cut = data.rfind(b">") + 1
            data, carry = data[:cut], data[cut:]
            if len(carry) > _MAX_TAG_BYTES:
                raise Unreadable(f"{name} has a tag longer than {_MAX_TAG_BYTES} bytes")
            yield data
    yield carry


def _count_tags(archive: zipfile.ZipFile, name: str, bound: int, what: str, cancelled: threading.Event | None) -> None:
    seen = 0
    for chunk in _chunks(archive, name, cancelled):
        seen += chunk.count(b"<")
        if seen > bound:
            raise TooLarge(f"{name} has more than {bound} {what}")


# A cell's start tag with its reference, and whether it closes at once (<c r="B2" s="1"/>
# holds nothing). Excel, WPS, LibreOffice and openpyxl all write r on every cell and row.
_CELL = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br="([A-Za-z]{1,3})(\d{1,7})"[^>]*?(/?)>')
_ANY_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_ROW = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?row\s[^>]*?\br="\d{1,7}"')
_ANY_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")


def _fast_extent(archive: zipfile.ZipFile, sheet: str, limits: UploadLimits,
                 cancelled: threading.Event | None) -> Extent | None:
    """The extent from the cells' own references, found by pattern in C rather than by an
    XML parser in Python (ten times faster on a 50,000-row roster). None when some cell or row
    has no reference: then only counting, as openpyxl does, gives their place."""
    rows: set[int] = set()
    columns: set[bytes] = set()
    tags = cells = 0
    for chunk in _chunks(archive, sheet, cancelled):
        tags += chunk.count(b"<")
        if tags > 4 * limits.max_cells + 10_000:
            raise Unreadable(f"the sheet has more than {limits.max_cells} cells")
        found = _CELL.findall(chunk)
        cells += len(found)
        if len(found) != len(_ANY_CELL.findall(chunk)) or len(_ROW.findall(chunk)) != len(_ANY_ROW.findall(chunk)):
            return None
        if cells > limits.max_cells:
            raise Unreadable(f"the sheet has more than {limits.max_cells} cells")
        for col, row, closed in found:
            if not closed:
                rows.add(int(row))
                columns.add(col)
    last_row = max(rows, default=0)
    last_col = max((column_number(c.decode()) for c in columns), default=0)
    _within(limits, last_row, last_col)
    return Extent(sheet_path=sheet, rows=last_row, columns=last_col)


def _within(limits: UploadLimits, row: int, col: int) -> None:
    max_row_number = limits.max_rows + 1 + limits.max_rows // 10  # heading, data, some blank rows
    if row > max_row_number:
        raise Unreadable(f"the sheet has a value in row {row}, past {max_row_number}: "
                         f"at most {limits.max_rows} rows; split it")
    if col > limits.max_columns:
        raise Unreadable(f"the sheet has a value in column {col}, past {limits.max_columns}")


def _first_sheet(archive: zipfile.ZipFile, names: set[str]) -> str:
    """The first worksheet in the workbook's order, as openpyxl's ``worksheets[0]`` is."""
    workbook_rels = _small_xml(archive, "xl/_rels/workbook.xml.rels")
    targets = {}
    for rel in workbook_rels.iter(f"{_PKG_REL}Relationship"):
        if rel.get("Type", "").endswith(_WORKSHEET_TYPE):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[rel.get("Id")] = path
    for sheet in _small_xml(archive, "xl/workbook.xml").iter(f"{_MAIN}sheet"):
        path = targets.get(sheet.get(f"{_REL}id"))
        if path is not None and path in names:
            return path
    raise Unreadable("the workbook has no worksheet")


def _small_xml(archive: zipfile.ZipFile, name: str) -> Element:
    root: Element | None = None
    for event, element in _events(archive, name, None):
        if event == "start" and root is None:
            root = element
    if root is None:
        raise Unreadable(f"{name} is empty")
    return root


def column_number(reference: str) -> int:
    """"AB12" -> 28."""
    number = 0
    for ch in reference:
        if "A" <= ch <= "Z":
            number = number * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            number = number * 26 + ord(ch) - 96
        else:
            break
    return number


def _row_number(reference: str) -> int:
    digits = reference.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return int(digits) if digits.isdigit() else 0


def _extent(archive: zipfile.ZipFile, sheet: str, limits: UploadLimits, cancelled: threading.Event | None) -> Extent:
    """Rows and columns that hold a value, counted as openpyxl's parser numbers them (a row
    or cell without ``r`` follows the previous one). Blank rows Excel leaves below the data do
    not count; a value far below or beside the data does, and is refused."""
    last_row = last_col = 0
    row = col = 0
    cells = rows = 0
    sheet_data: Element | None = None
    for event, element in _events(archive, sheet, cancelled):
        tag = element.tag
        if event == "start":
            if tag == f"{_MAIN}sheetData":
                sheet_data = element
            elif tag == f"{_MAIN}row":
                r = element.get("r")
                row = int(r) if r and r.isdigit() else row + 1
                col = 0
            elif tag == f"{_MAIN}c":
                r = element.get("r")
                col = column_number(r) if r else col + 1
                if r and _row_number(r):
                    row = _row_number(r)
            continue
        if tag == f"{_MAIN}c":
            cells += 1
            if cells > limits.max_cells:
                raise Unreadable(f"the sheet has more than {limits.max_cells} cells")
            if _holds_value(element):
                _within(limits, row, col)
                last_row, last_col = max(last_row, row), max(last_col, col)
        elif tag == f"{_MAIN}row":
            rows += 1
            if rows > limits.max_cells:
                raise Unreadable(f"the sheet has more than {limits.max_cells} row elements")
            if sheet_data is not None:
                sheet_data.clear()  # the row is done: keep memory flat
    return Extent(sheet_path=sheet, rows=last_row, columns=last_col)


def _holds_value(cell: Element) -> bool:
    for child in cell:
        if child.tag == f"{_MAIN}v" and (child.text or "") != "":
            return True
        if child.tag == f"{_MAIN}is" and any((t.text or "") for t in child.iter(f"{_MAIN}t")):
            return True
    return False
