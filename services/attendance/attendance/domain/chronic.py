"""Chronic absence (beside the 48-hour rule): the share of a term's school sessions a student
missed. Missed sessions are those marked absent or leave, excused or not: the early-warning
signal is about time lost from learning, whatever the reason."""

from __future__ import annotations

from dataclasses import dataclass

MISSED = frozenset({"absent", "leave"})


@dataclass(frozen=True)
class Share:
    sessions: int
    missed: int

    @property
    def rate(self) -> float:
        return self.missed / self.sessions if self.sessions else 0.0

    def flagged(self, threshold: float, min_sessions: int) -> bool:
        """At or above the threshold, once enough sessions were taken for the share to mean something."""
        return self.sessions >= min_sessions and self.rate >= threshold
