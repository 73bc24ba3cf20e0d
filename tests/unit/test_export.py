"""shared/export.py: the same rows as JSON, CSV that Excel opens in Chinese, and XLSX."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from shared.export import Column, cell, tabular_response

COLUMNS = [Column("name", "姓名"), Column("flags", "关注类别"), Column("overdue", "是否逾期"),
           Column("opened_at", "立案时间"), Column("note", "备注")]
ROWS = [{"name": "王小明", "flags": ["留守儿童", "学困生"], "overdue": True,
         "opened_at": datetime(2026, 11, 16, 8, 0, tzinfo=UTC), "note": "=HYPERLINK(\"x\")"},
        {"name": "李小红", "flags": [], "overdue": False, "opened_at": None, "note": None}]


def test_cells_read_as_a_spreadsheet_shows_them():
    assert cell(["a", "b"]) == "a、b" and cell(True) == "是" and cell(False) == "否" and cell(None) == ""
    assert cell(date(2026, 11, 16)) == "2026-11-16" and cell(7) == 7
    # A cell Excel would run as a formula is text (OWASP CSV injection).
    assert cell("=1+1") == "'=1+1" and cell("@SUM(A1)") == "'@SUM(A1)" and cell("-") == "'-"


def test_csv_is_utf8_with_a_bom_chinese_headings_and_a_stable_file_name():
    r = tabular_response("csv", COLUMNS, ROWS, filename="dropout-ledger-410122")
    assert r.body.startswith(b"\xef\xbb\xbf") and r.media_type == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"dropout-ledger-410122.csv\"; filename*=UTF-8''dropout-ledger-410122.csv")
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"))))
    assert rows == [["姓名", "关注类别", "是否逾期", "立案时间", "备注"],
                    ["王小明", "留守儿童、学困生", "是", "2026-11-16T08:00:00+00:00", "'=HYPERLINK(\"x\")"],
                    ["李小红", "", "否", "", ""]]


def test_a_chinese_file_name_has_an_ascii_fallback():
    r = tabular_response("csv", COLUMNS, [], filename="劝返台账")
    assert r.headers["content-disposition"].startswith('attachment; filename="____.csv"; filename*=UTF-8\'\'%E5%8A%9D')


def test_xlsx_has_the_headings_then_the_rows():
    r = tabular_response("xlsx", COLUMNS, ROWS, filename="ledger", sheet="劝返台账")
    book = load_workbook(io.BytesIO(r.body))
    values = list(book["劝返台账"].iter_rows(values_only=True))
    assert values[0] == ("姓名", "关注类别", "是否逾期", "立案时间", "备注")
    assert values[1][:3] == ("王小明", "留守儿童、学困生", "是") and values[2][0] == "李小红"
    assert r.headers["content-disposition"].startswith('attachment; filename="ledger.xlsx"')


def test_json_is_the_given_body_or_the_rows():
    assert json.loads(tabular_response("json", COLUMNS, ROWS[1:], filename="x").body) == {"items": [
        {"name": "李小红", "flags": [], "overdue": False, "opened_at": None, "note": None}]}
    assert json.loads(tabular_response("json", COLUMNS, ROWS, filename="x", json_body={"total": 2}).body) == {"total": 2}
