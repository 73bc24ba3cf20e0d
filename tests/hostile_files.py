"""Spreadsheets built to hurt a parser: each one small on the wire and huge, or endless, once
openpyxl believes it. Used by the upload tests and the parser fuzzing."""

from __future__ import annotations

import io
import re
import struct
import zipfile

from openpyxl import Workbook

SST = "xl/sharedStrings.xml"
SHEET = "xl/worksheets/sheet1.xml"
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def workbook(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def replace_members(xlsx: bytes, replacements: dict[str, bytes | list[bytes]]) -> bytes:
    """The workbook with some members replaced (a list of chunks is streamed into the ZIP, so
    a member of a few hundred megabytes never sits in the test's memory)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            new = replacements.get(info.filename)
            if new is None:
                dst.writestr(info.filename, src.read(info.filename))
                continue
            with dst.open(info.filename, "w", force_zip64=False) as member:
                for chunk in ([new] if isinstance(new, bytes) else new):
                    member.write(chunk)
        for name, new in replacements.items():
            if name not in src.namelist():
                dst.writestr(name, new if isinstance(new, bytes) else b"".join(new))
    return out.getvalue()


def huge_dimension(rows: list[list[object]]) -> bytes:
    """A real little sheet whose <dimension> claims all of Excel: A1:XFD1048576 (openpyxl pads
    every row to 16,384 columns and the sheet to a million rows)."""
    plain = workbook(rows)
    sheet = zipfile.ZipFile(io.BytesIO(plain)).read(SHEET).decode()
    sheet = re.sub(r"<dimension ref=\"[^\"]*\"\s*/>", "", sheet)
    sheet = sheet.replace("<sheetViews>", '<dimension ref="A1:XFD1048576"/><sheetViews>', 1)
    if "XFD1048576" not in sheet:
        sheet = re.sub(r"(<worksheet[^>]*>)", r'\1<dimension ref="A1:XFD1048576"/>', sheet, count=1)
    return replace_members(plain, {SHEET: sheet.encode()})


def far_cell(column: str = "XFD", row: int = 1) -> bytes:
    """One value at the far edge of the sheet: the real extent is as large as the claim."""
    plain = workbook([["身份证号", "姓名", "班级"]])
    sheet = zipfile.ZipFile(io.BytesIO(plain)).read(SHEET).decode()
    far = f'<row r="{row}"><c r="{column}{row}" t="inlineStr"><is><t>x</t></is></c></row>'
    sheet = sheet.replace("</sheetData>", far + "</sheetData>") if row > 1 else sheet.replace(
        "</row>", f'<c r="{column}1" t="inlineStr"><is><t>x</t></is></c></row>', 1)
    return replace_members(plain, {SHEET: sheet.encode()})


def shared_string_bomb(megabytes: int = 160) -> bytes:
    """One shared string of ``megabytes`` MB of "A": a few hundred KB deflated."""
    chunk = b"A" * (1 << 20)
    sst = [f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS} count="1" uniqueCount="1"><si><t>'.encode(),
           *([chunk] * megabytes), b"</t></si></sst>"]
    plain = workbook([["身份证号", "姓名", "班级"]])
    sheet = zipfile.ZipFile(io.BytesIO(plain)).read(SHEET).decode()
    sheet = sheet.replace("</sheetData>", '<row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData>')
    return replace_members(plain, {SST: sst, SHEET: sheet.encode()})


def many_shared_strings(count: int = 1_200_000) -> bytes:
    """More shared strings than a sheet could have cells: each costs openpyxl an object."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS}>'.encode()
    body = [b"<si><t>x</t></si>" * 10_000] * (count // 10_000)
    return replace_members(workbook([["身份证号", "姓名", "班级"]]), {SST: [head, *body, b"</sst>"]})


def lying_sizes(megabytes: int = 64) -> bytes:
    """The shared-string bomb with every size field patched to claim 1 KB: the declared sizes
    pass, and the member must fail its CRC instead of unpacking to ``megabytes`` MB."""
    data = bytearray(shared_string_bomb(megabytes))
    name = SST.encode()
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central entry
        at = data.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                struct.pack_into("<I", data, at + size_at, 1024)
            at = data.find(signature, at + 4)
    return bytes(data)


def wide_csv(fields: int = 2_000_000) -> bytes:
    """One CSV record of ``fields`` two-character fields (8 MB): a list of two million strings."""
    return ("身份证号,姓名,班级\n" + ",".join(["ab"] * fields)).encode()


def quote_hopping_csv(lines: int = 20_000) -> bytes:
    """Fields per physical line look harmless, but every line closes a quote and opens the next:
    one record of lines x 100 fields."""
    return ("身份证号,姓名,班级\n" + 'a,"x\n' + ('",' + "b," * 100 + '"\n') * lines + '"\n').encode()
