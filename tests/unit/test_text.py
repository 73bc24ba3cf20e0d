"""shared/text.py: hostile text refused with a reason, real names accepted, exports never fail."""

from __future__ import annotations

import io
import unicodedata

import pytest
from openpyxl import load_workbook
from pydantic import BaseModel, ValidationError

from shared.export import Sheet, sheets_csv, sheets_xlsx
from shared.text import FreeText, NameText, exportable, name_key, problem_with


class Person(BaseModel):
    name: NameText(20)
    note: FreeText(200) = ""


REAL_NAMES = [
    "王小明",
    "𠀀𪜀𫝀𫠠𬺰𰀀",          # CJK Extensions B, C, D, E, F, G: astral characters
    "张\ue000",              # a private-use character, as some provinces encode rare names
    "ئەخمەت‌جان",          # Uyghur with a ZWNJ
    "क्‍ष",                  # a ZWJ joining letters
    "艾力·买买提",
    "O'Brien-Łukasz",
    "\u200f阿依古丽",        # a right-to-left mark is not an override
]
HOSTILE = [
    ("王\x00明", "U+0000"), ("王\x07明", "U+0007"), ("王\u0085明", "U+0085"), ("王\x7f明", "U+007F"),
    ("\u202eabc", "U+202E"), ("a\u202ab", "U+202A"), ("x\u2066y", "U+2066"), ("王\ud800", "U+D800"),
    ("王\n明", "U+000A"),
]


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_names_pass_as_typed(name):
    assert Person(name=name).name == name.strip()


@pytest.mark.parametrize("name,code", HOSTILE)
def test_controls_overrides_and_surrogates_are_refused_naming_the_field(name, code):
    with pytest.raises(ValidationError) as caught:
        Person(name=name)
    error = caught.value.errors()[0]
    # pydantic refuses a lone surrogate itself, before our check
    assert error["loc"] == ("name",) and (code in error["msg"] or "unicode" in error["msg"])


@pytest.mark.parametrize("name", ["\u200b", "\u3164", "\u200d\u200c", "\u2800 ", "\ufeff"])
def test_names_that_show_nothing_are_refused(name):
    with pytest.raises(ValidationError):
        Person(name=name)


def test_free_text_keeps_line_breaks_but_not_other_controls():
    assert Person(name="王", note="第一行\n第二行\t完").note == "第一行\n第二行\t完"
    assert problem_with("a\x1bb", multiline=True)


def test_names_compare_in_nfc_and_are_stored_as_typed():
    decomposed = unicodedata.normalize("NFD", "Łukasz Müller")
    assert decomposed != "Łukasz Müller" and name_key(decomposed) == name_key("Łukasz Müller")
    assert Person(name=decomposed).name == decomposed


STORED = ["王\x00明", "\u202e反", "半个\ud800", "\x1b[31m", "=cmd", "\ufffe", "长" * 40_000]


def test_every_stored_value_exports_to_csv_and_xlsx():
    sheet = Sheet("台账", [("v", "值")], [{"v": v} for v in STORED])
    text = sheets_csv([sheet]).decode("utf-8")
    assert "王\\u0000明" in text and "\\u202E反" in text and "半个\\uD800" in text and "'=cmd" in text
    book = load_workbook(io.BytesIO(sheets_xlsx([sheet])), read_only=True)
    values = [r[0] for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert values[0] == "王\\u0000明" and values[3] == "\\u001B[31m" and len(values[6]) == 32_767
    assert exportable("普通") == "普通"
