"""Text people type: stored as given, refused only when it would break something.

Refused, with a 422 naming the field: C0 and C1 control characters (NUL among them; free text
keeps tab and line breaks), DEL, lone surrogates (not characters at all: no database or file
can hold them), and the bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069) that
make a name read as something else. A name must also show something: spaces and invisible
format characters alone are not a name.

Accepted, because real names need them: every CJK extension (B-G are astral characters), the
private-use characters some provinces' systems use for rare characters in names, the ZWJ and
ZWNJ that Uyghur and other scripts join letters with, and the left-to-right and right-to-left
marks. Names are compared and deduplicated in NFC (``name_key``); what was typed is stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_NEVER = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{_BIDI_CONTROLS}]")
_NO_LINE_BREAKS = re.compile("[\t\n\r]")
# Letters that render as nothing (Hangul fillers, the braille blank): not something a name shows.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# What a spreadsheet or an XML part cannot hold, or should not show as-is (exports escape these).
_UNEXPORTABLE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff{_BIDI_CONTROLS}]")


def problem_with(value: str, *, multiline: bool = False, name: bool = False) -> str | None:
    """Why this text is refused, or None. For callers that are not pydantic models (a row of
    an uploaded spreadsheet)."""
    bad = _NEVER.search(value) or (None if multiline else _NO_LINE_BREAKS.search(value))
    if bad:
        return f"contains the control character U+{ord(bad.group()):04X} at position {bad.start() + 1}"
    if name and not any(_shows(ch) for ch in value):
        return "shows nothing: only spaces or invisible characters"
    return None


def _shows(ch: str) -> bool:
    category = unicodedata.category(ch)
    return ch not in _BLANK_LETTERS and category[0] in "LNMPS" or category == "Co"


def _checked(*, multiline: bool, name: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        reason = problem_with(value, multiline=multiline, name=name)
        if reason:
            raise ValueError(reason)
        return value
    return check


def name_key(value: str) -> str:
    """How names are compared: NFC, so a name typed decomposed finds the same child."""
    return unicodedata.normalize("NFC", value)


def NameText(max_length: int = 100) -> type[str]:
    """A person's or an organisation's name, a class name: one line, something visible."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
                     AfterValidator(_checked(multiline=False, name=True))]  # type: ignore[return-value]


def LineText(max_length: int = 200, *, min_length: int = 0) -> type[str]:
    """A short text on one line (a relation, a destination, a reason code's words)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_checked(multiline=False, name=False))]  # type: ignore[return-value]


def FreeText(max_length: int = 2000, *, min_length: int = 0) -> type[str]:
    """A note, a reason, a plan: line breaks and tabs allowed, other controls not."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_checked(multiline=True, name=False))]  # type: ignore[return-value]


# The shapes every service's schemas use.
Name = NameText(100)
OrgName = NameText(200)
Note = FreeText(2000)


def exportable(value: str) -> str:
    """A stored value as a CSV or XLSX cell can hold it: anything a spreadsheet cannot carry
    (controls, lone surrogates, U+FFFE/FFFF) or should not show raw (bidi controls) written as
    a visible ``\\uXXXX``. Values stored before the checks above still export."""
    return _UNEXPORTABLE.sub(lambda m: f"\\u{ord(m.group()):04X}", value)
