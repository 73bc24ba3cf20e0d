"""Hypothesis strategies for what an attacker types: control characters, NUL, bidi overrides,
lone surrogates, invisible names, LIKE wildcards, CR/LF, formula starts, very long text, and
dates at the ends of the calendar. Also the real names that must keep passing."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hypothesis import strategies as st

NASTY = ["\x00", "\x07", "\x1b[2J", "\x7f", "\x85", "\u202e", "\u202a", "\u2066", "\ud800", "\ufeff", "\ufffe",
         "\u200b", "\u3164", "\r\n", "\t", "%", "_", "\\", "/", "'", '"', "=cmd|' /C calc'!A0", "@SUM(A1)", "../"]
REAL = ["𠀀", "𪜀", "𫝀", "𫠠", "𬺰", "𰀀", "\ue000", "\u200d", "\u200c", "王", "ئ", "Ł", "e\u0301"]
DATES = ["0001-01-01", "9999-12-31", "1899-12-31", "1900-01-01", "2999-12-31", "3000-01-01", "2026-02-30",
         "0000-00-00", "-001-01-01", "2026-13-01", "20261201"]

hostile_text = st.one_of(
    st.lists(st.sampled_from(NASTY + REAL) | st.text(max_size=2), min_size=1, max_size=6).map("".join),
    st.sampled_from(NASTY),
    st.just("长" * 2_001),  # past every length bound (a 131,072-char field is tested on its own)
)
hostile_date = st.one_of(st.sampled_from(DATES), st.dates(min_value=date(1, 1, 1)).map(date.isoformat))
hostile_instant = hostile_date.map(lambda d: f"{d}T00:00:00+00:00")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T")


# A URL cannot carry a lone surrogate at all (the client fails to encode it, not the server).
url_text = hostile_text.map(lambda t: t.encode("utf-8", "replace").decode())


def _leaf(value: str, in_url: bool) -> st.SearchStrategy:
    if _DATE.match(value):
        return st.just(value) | hostile_date
    if _INSTANT.match(value):
        return st.just(value) | hostile_instant
    return st.just(value) | (url_text if in_url else hostile_text)


def mutated(value: Any, *, in_url: bool = False) -> st.SearchStrategy:
    """``value`` (a generated body, query or path), some of its strings swapped for hostile ones."""
    if isinstance(value, dict):
        return st.fixed_dictionaries({k: mutated(v, in_url=in_url) for k, v in value.items()})
    if isinstance(value, list):
        return st.tuples(*(mutated(v, in_url=in_url) for v in value)).map(list)
    if isinstance(value, str):
        return _leaf(value, in_url)
    return st.just(value)


def _swap(_context: Any, value: Any) -> st.SearchStrategy:
    return mutated(value)


def _swap_in_url(_context: Any, value: Any) -> st.SearchStrategy:
    return mutated(value, in_url=True)


def make_hostile(schema: Any) -> Any:
    """A schemathesis schema whose generated bodies, queries and paths carry hostile strings
    and dates (schema-level hooks: only this schema object is affected)."""
    schema.hooks.register_hook_with_name(_swap, "flatmap_body")
    for container in ("query", "path_parameters"):
        schema.hooks.register_hook_with_name(_swap_in_url, f"flatmap_{container}")
    return schema
