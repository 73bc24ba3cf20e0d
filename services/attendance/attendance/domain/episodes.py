"""The unexcused-absence episode, computed from a student's marks. Pure: no I/O, no clock.

An episode starts at the first unexcused absent session after the student was last seen
(present or late) and lasts until the next present or late mark. Absences covered by approved
leave are excused and neither start nor extend an episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Literal

MarkStatus = Literal["present", "absent", "late", "leave"]
SEEN = frozenset({"present", "late"})


@dataclass(frozen=True)
class Mark:
    at: datetime
    status: MarkStatus


@dataclass(frozen=True)
class LeaveSpan:
    start: datetime
    end: datetime

    def covers(self, at: datetime) -> bool:
        return self.start <= at <= self.end


@dataclass(frozen=True)
class Episode:
    started_at: datetime
    absent_sessions: tuple[datetime, ...]
    ended_at: datetime | None  # the present/late mark that ended it, if any

    def hours(self, now: datetime) -> float:
        end = self.ended_at or now
        return max(0.0, (end - self.started_at) / timedelta(hours=1))


def episodes(marks: Iterable[Mark], leaves: Iterable[LeaveSpan] = ()) -> list[Episode]:
    """Every unexcused-absence episode in the marks, oldest first; the last may be open."""
    leaves = list(leaves)
    found: list[Episode] = []
    current: list[datetime] = []
    for mark in sorted(marks, key=lambda m: m.at):
        unexcused = mark.status == "absent" and not any(span.covers(mark.at) for span in leaves)
        if unexcused:
            current.append(mark.at)
        elif mark.status in SEEN and current:
            found.append(Episode(current[0], tuple(current), ended_at=mark.at))
            current = []
    if current:
        found.append(Episode(current[0], tuple(current), ended_at=None))
    return found


def current_episode(marks: Iterable[Mark], leaves: Iterable[LeaveSpan] = ()) -> Episode | None:
    """The open episode, if the student has not been seen since an unexcused absence."""
    found = episodes(marks, leaves)
    return found[-1] if found and found[-1].ended_at is None else None


def threshold_reached(episode: Episode, now: datetime, threshold_hours: float) -> bool:
    return episode.hours(now) >= threshold_hours


# --- reconciling stored episodes with recomputed ones ----------------------------------------

@dataclass(frozen=True)
class Stored:
    """What the store knows of an episode: its identity and whether it already fired."""
    id: str
    started_at: datetime
    last_absent_at: datetime
    ended_at: datetime | None
    fired: bool


@dataclass(frozen=True)
class Plan:
    keep: list[tuple[Stored | None, Episode]]  # (the stored row it becomes, or None: new) per episode
    retire: list[Stored]  # rows the marks no longer support (a corrected roll call, leave granted late)


def reconcile(stored: Iterable[Stored], computed: Iterable[Episode]) -> Plan:
    """Match recomputed episodes to stored ones by overlapping absent spans, so an absence posted
    late moves an episode's start but keeps its identity: a streak that already fired is never
    fired again as a "new" episode. Of several stored rows one computed episode now spans (two
    streaks joined by a corrected mark), a fired one is kept."""
    unclaimed = sorted(stored, key=lambda r: r.started_at)
    keep: list[tuple[Stored | None, Episode]] = []
    retire: list[Stored] = []
    for ep in computed:
        first, last = ep.absent_sessions[0], ep.absent_sessions[-1]
        mine = [r for r in unclaimed if r.started_at <= last and r.last_absent_at >= first]
        unclaimed = [r for r in unclaimed if r not in mine]
        keeper = next((r for r in mine if r.fired), mine[0] if mine else None)
        retire += [r for r in mine if r is not keeper]
        keep.append((keeper, ep))
    return Plan(keep, retire + unclaimed)


def reached(episode: Episode, due_at: datetime | None, now: datetime) -> bool:
    """Whether the episode really passed its threshold by ``now``: its due instant has come, and
    came before the student was seen again. A child present at the very session the threshold
    falls on (Monday 08:00) was away 48 counted hours, not more: that is no alarm."""
    return due_at is not None and due_at <= now and (episode.ended_at is None or due_at < episode.ended_at)
