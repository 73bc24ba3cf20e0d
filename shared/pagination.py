"""Offset pagination, the same shape for every list in every service."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
    # Bounded: the databases hold 64-bit integers, and an offset past them was a 500 (found by
    # schemathesis); no list here comes near a billion items.
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> Page[T]:
        nxt = params.offset + len(items)
        return cls(items=items, total=total, limit=params.limit, offset=params.offset,
                   next_offset=nxt if nxt < total else None)
