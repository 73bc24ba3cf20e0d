"""Whether an alarm opens a case or joins the child's open one (一人一案: one open case per child),
decided over a batch of alarms as it would be one alarm at a time, in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Opening:
    """Where an alarm goes: ``case_id`` is the case it opens (``opens``) or the open one it joins."""

    case_id: str
    opens: bool


def open_or_join(children: Sequence[str], open_cases: Mapping[str, str], new_ids: Sequence[str]) -> list[Opening]:
    """For each alarm (its child, in order): join the child's open case (``open_cases``: child to
    case id, read before the batch), or one an earlier alarm of the batch opened; else open a case
    with the alarm's id from ``new_ids`` (drawn by the caller: the rule has no randomness)."""
    current = dict(open_cases)
    decided: list[Opening] = []
    for child, new_id in zip(children, new_ids, strict=True):
        if child in current:
            decided.append(Opening(current[child], opens=False))
        else:
            current[child] = new_id
            decided.append(Opening(new_id, opens=True))
    return decided
