"""One encoding for a place in the org tree, and for a set of flags, in every table.

A place is stored as the string "/410000/410100/410122/410122100/S1/": the codes from the
province down, each followed by "/". Everything under an org is then a *prefix* of its rows'
strings, and a prefix is a range on a plain B-tree index:

    org_path >= '/410000/410100/410122/' AND org_path < '/410000/410100/4101220'

('0' is the character after '/'). Both SQLite and PostgreSQL serve that range from the index;
a ``LIKE '%/<code>/%'`` (a leading wildcard) is served by no index and scans the table. The
range needs byte order: SQLite's default BINARY collation has it, and on PostgreSQL the column is
declared ``COLLATE "C"`` (a linguistic collation such as en_US ignores the "/" and would put
"/4101/..." rows outside the range). A range has no LIKE metacharacters to escape, and an org code
cannot hold a "/" (``shared.types.ORG_CODE_PATTERN``), so no code's prefix is another's.

Flags are stored the same way ("/left_behind/poor_household/", "/" for none): a flag filter is
one escaped ``LIKE '%/flag/%'`` beside the indexed scope condition.

In Python the columns hand back the list of codes (``OrgPath``, ``Flags``); they take a list, a
tuple or an already encoded string. ``OrgPathKey`` is the same stored string handed back as the
string, for code that works with the keys themselves (the reporting read model).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import String, and_, false, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SEP = "/"
MAX_LENGTH = 400


def encode(codes: Iterable[str] | str) -> str:
    """"/410000/410100/": the codes province first, each followed by "/"; "/" for none. A string
    is taken as already encoded (and "//", an empty list as once written, becomes "/")."""
    if isinstance(codes, str):
        if not (codes.startswith(SEP) and codes.endswith(SEP)):
            raise ValueError(f"not an encoded path: {codes!r}")
        return encode(decode(codes))
    return SEP + "".join(f"{c}{SEP}" for c in codes)


def decode(key: str | Sequence[str] | None) -> list[str]:
    """The codes of an encoded path (a list is returned as a copy), province first."""
    if key is None:
        return []
    if not isinstance(key, str):
        return list(key)
    return list(_codes(key))


@lru_cache(maxsize=8192)
def _codes(key: str) -> tuple[str, ...]:
    # Every row read decodes its path, and a class's fifty rows share one: split each string once.
    return tuple(c for c in key.split(SEP) if c)


def prefix_bounds(path: Iterable[str] | str) -> tuple[str, str]:
    """[low, high): the strings of every place at or under ``path``."""
    low = encode(path)
    return low, low[:-1] + chr(ord(SEP) + 1)


def within(column: Any, path: Iterable[str] | str | None) -> Any:
    """SQL: the rows whose place lies at or under ``path`` (a range the column's index serves);
    nothing at all for no path (an org the service does not know)."""
    codes = decode(path if isinstance(path, str) else list(path)) if path is not None else []
    if not codes:
        return false()
    low, high = prefix_bounds(codes)
    return and_(column >= low, column < high)


def naming(column: Any, code: str) -> Any:
    """SQL: the rows whose path (or flags) name ``code`` anywhere, an escaped ``LIKE '%/code/%'``.
    Not indexed: use it to narrow rows another condition (``within``) already found."""
    # As a plain string: the escaped pattern must reach the driver as it is, not as a path.
    return type_coerce(column, String).contains(f"{SEP}{code}{SEP}", autoescape=True)


def _bind(value: Any) -> str | None:
    """A list or tuple is encoded; a string is taken as already encoded, as it is."""
    if value is None or isinstance(value, str):
        return value
    return encode(value)


class OrgPathKey(TypeDecorator[Any]):
    """A place in the org tree as its stored string ("/a/b/c/"), byte-ordered on PostgreSQL so a
    prefix range is served by the column's B-tree index."""

    impl = String(MAX_LENGTH)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(String(MAX_LENGTH, collation="C"))
        return dialect.type_descriptor(String(MAX_LENGTH))

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return _bind(value)


class OrgPath(OrgPathKey):
    """A place in the org tree: stored as "/a/b/c/", handed to Python as ["a", "b", "c"]."""

    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        return None if value is None else decode(value)


class Flags(TypeDecorator[list[str]]):
    """A set of flags ("left_behind", "poor_household"): stored as "/left_behind/poor_household/"
    ("/" for none), handed to Python as the list, in the order given."""

    impl = String(MAX_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return _bind(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        return None if value is None else decode(value)
