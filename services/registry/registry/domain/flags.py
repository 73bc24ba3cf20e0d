"""Risk flags (关爱类别) that change over a child's schooling, with their history. No I/O.

A family leaves poverty, parents come home from work away, a disability is certified: the flags a
school set at enrolment go stale. Every change says why and from when, and an older piece of news
(a list dated before the last change) does not undo a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.errors import Invalid

# "Double difficulty" (双困生) is derived (poor household and learning difficulty), never set.
FLAGS = ("poor_household", "left_behind", "single_parent", "disabled", "learning_difficulty")


@dataclass(frozen=True)
class FlagChangeRequest:
    """Flags added and removed by hand, with why and from when."""

    reason: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    effective_on: date | None = None  # today when not given


@dataclass(frozen=True)
class FlagChange:
    flags: tuple[str, ...]   # the flags after the change, sorted
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.removed)


def change_flags(current: set[str], *, add: set[str], remove: set[str], effective_on: date, today: date) -> FlagChange:
    """The flags after adding and removing; asking for what is already so changes nothing (a
    retried request is harmless). A flag both added and removed, or a date in the future, is a 422."""
    both = add & remove
    if both:
        raise Invalid("a flag cannot be added and removed at once: " + ", ".join(sorted(both)),
                      errors=[{"field": "remove", "pointer": "/remove", "message": f"also in add: {f}"}
                              for f in sorted(both)])
    if effective_on > today:
        raise Invalid("effective_on is in the future",
                      errors=[{"field": "effective_on", "pointer": "/effective_on", "message": "in the future"}])
    after = (current | add) - remove
    return FlagChange(flags=tuple(sorted(after)), added=tuple(sorted(after - current)),
                      removed=tuple(sorted(current - after)))


def newer_news(last_change_on: date | None, as_of: date) -> bool:
    """Whether news dated ``as_of`` may change a flag whose last change took effect on
    ``last_change_on``: the same day or later, yes; older, no."""
    return last_change_on is None or as_of >= last_change_on
