"""The caller's full path in the org tree, learned once per org and cached.

A token names only the caller's org code; the scope filter needs the org's full path (a list is
the rows whose path starts with it, see shared/paths.py). Each service finds it in what it
stores: an ``orgs`` table built from ``org.registered`` (registry, cases, reporting), else the
paths on its own rows (attendance's schools, cases' students when the org events have not been
read yet). ``Places.path_of`` asks the service's lookups in order and keeps what it found for
``ttl_s`` seconds (an org moving in the tree is rare, and a minute late at worst). An org no
lookup knows is not cached: the next request asks again, so a school the service hears of a
moment later is seen at once. It sees nothing meanwhile (an empty path matches no row).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.paths import decode, naming

Lookup = Callable[[AsyncSession, str], Awaitable[Sequence[str] | None]]


def _up_to(codes: Sequence[str], code: str) -> tuple[str, ...] | None:
    return tuple(codes[: codes.index(code) + 1]) if code in codes else None


def by_code(code_column: Any, path_column: Any) -> Lookup:
    """An org table: the row whose code is the org (a primary-key lookup)."""

    async def lookup(session: AsyncSession, code: str) -> Sequence[str] | None:
        found = (await session.execute(select(path_column).where(code_column == code).limit(1))).scalar()
        return None if found is None else _up_to(decode(found), code)

    return lookup


def by_member(path_column: Any) -> Lookup:
    """Rows that carry a path: any one naming the org, cut after it. Not indexed (a leading
    wildcard), so it comes after the indexed lookups and only on a cache miss."""

    async def lookup(session: AsyncSession, code: str) -> Sequence[str] | None:
        found = (await session.execute(select(path_column).where(naming(path_column, code)).limit(1))).scalar()
        return None if found is None else _up_to(decode(found), code)

    return lookup


class Places:
    MAX_ENTRIES = 50_000

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession] | None, lookups: Sequence[Lookup] = (),
                 *, ttl_s: float = 60.0, now: Callable[[], float] = time.monotonic) -> None:
        self._sessionmaker = sessionmaker
        self._lookups = list(lookups)
        self._ttl_s = ttl_s
        self._now = now
        self._known: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def path_of(self, code: str) -> tuple[str, ...]:
        """The org's codes from the province down to it; () when this service does not know it."""
        hit = self._known.get(code)
        if hit is not None and hit[0] > self._now():
            return hit[1]
        if self._sessionmaker is None or not self._lookups:
            return ()
        async with self._sessionmaker() as session:
            for lookup in self._lookups:
                found = await lookup(session, code)
                if found:
                    path = tuple(found)
                    if len(self._known) >= self.MAX_ENTRIES:
                        self._known.clear()
                    self._known[code] = (self._now() + self._ttl_s, path)
                    return path
        return ()
