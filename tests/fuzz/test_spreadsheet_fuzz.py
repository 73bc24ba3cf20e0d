"""The import parser against random and malformed files: bytes, CSV text, ZIPs with broken or
random members, sheets of random XML. Whatever arrives, the parser answers a table or a 4xx
problem (never another exception), and quickly; small limits make every bound reachable."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.adapters.spreadsheet import Table, read_table
from registry.adapters.xlsx_guard import UploadLimits
from registry.domain import roster_import
from shared.errors import Problem
from tests.fuzz.hostile import hostile_text
from tests.hostile_files import SHEET, SST, replace_members, workbook

# timing: each parse is held to a time bound, so `make test` runs it after the parallel part, alone.
pytestmark = [pytest.mark.timeout(120), pytest.mark.timing]
LIMITS = UploadLimits(max_rows=50, max_columns=16, max_cells=2_000, max_unzipped_bytes=4_000_000)
SEED = workbook([["身份证号", "姓名", "班级"], ["11010519491231002X", "王小明", "七年级(1)班"]])
TAGS = ["row", "c", "v", "is", "t", "si", "sheetData", "worksheet", "dimension", "x:c", "!DOCTYPE", "!ENTITY"]
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
FAST = settings(deadline=None, database=None, derandomize=True, max_examples=40,
                suppress_health_check=list(HealthCheck))


def parse(data: bytes, filename: str) -> Table | Problem:
    started = time.perf_counter()
    try:
        result: Table | Problem = read_table(data, filename, roster_import.HEADINGS,
                                             required=roster_import.REQUIRED, limits=LIMITS)
    except Problem as problem:
        assert 400 <= problem.status < 500
        result = problem
    assert time.perf_counter() - started < 10  # generous: the shared machine; minutes would fail
    if isinstance(result, Table):
        assert len(result.rows) <= LIMITS.max_rows
    return result


attribute = st.one_of(st.sampled_from(['r="A1"', 'r="XFD1048576"', 'r="1048576"', 't="s"', 't="inlineStr"',
                                       'ref="A1:XFD1048576"', 'r=""', 'r="ZZZZ9"', 's="9999999"']),
                      hostile_text.map(lambda t: f'r="{t[:20]}"'))
element = st.recursive(
    st.one_of(st.text(max_size=20).map(lambda t: t.replace("<", "&lt;").replace("&", "&amp;")),
              st.sampled_from(["0", "1", "99999999", "1e308", "-1", "&#0;", "&amp;"])),
    lambda inner: st.builds(lambda tag, attr, body: f"<{tag} {attr}>{''.join(body)}</{tag.lstrip('!')}>",
                            st.sampled_from(TAGS), attribute, st.lists(inner, max_size=4)),
    max_leaves=30)
sheet_xml = st.lists(element, max_size=8).map(
    lambda parts: f'<?xml version="1.0"?><worksheet {_NS}><sheetData>{"".join(parts)}</sheetData></worksheet>'.encode("utf-8", "surrogatepass"))


@FAST
@given(st.binary(max_size=2_000))
def test_random_bytes(data):
    parse(data, "roster.xlsx")
    parse(data, "roster.csv")


@FAST
@given(st.lists(st.lists(hostile_text | st.text(max_size=8), max_size=6), max_size=12),
       st.sampled_from([",", "\t", ";"]))
def test_random_csv(rows, delimiter):
    text = "身份证号,姓名,班级\n" + "\n".join(delimiter.join(r) for r in rows)
    for encoding in ("utf-8", "gb18030"):
        try:
            parse(text.encode(encoding), "roster.csv")
        except UnicodeEncodeError:
            pass


@FAST
@given(sheet_xml, sheet_xml)
def test_random_sheet_and_shared_strings(sheet, strings):
    parse(replace_members(SEED, {SHEET: sheet, SST: strings.replace(b"worksheet", b"sst")}), "roster.xlsx")


@FAST
@given(st.data())
def test_a_valid_workbook_with_bytes_flipped_or_cut(data):
    blob = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(blob) // 2, len(blob)))
    parse(bytes(blob[:cut]), "roster.xlsx")


@FAST
@given(st.lists(st.tuples(st.sampled_from(["xl/workbook.xml", "xl/_rels/workbook.xml.rels", SHEET, SST,
                                           "xl/styles.xml", "[Content_Types].xml", "../evil", "a" * 300]),
                          st.binary(max_size=300)), max_size=4))
def test_members_replaced_by_garbage(members):
    parse(replace_members(SEED, dict(members)), "roster.xlsx")


def test_an_archive_of_many_members_or_a_lying_directory():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i in range(1_200):
            z.writestr(f"m{i}", b"")
    assert parse(out.getvalue(), "r.xlsx").status == 413
