"""The unexcused-absence episode, computed from a student's marks. Pure: no I/O, no clock.

An episode starts at the first unexcused absent session after the student was last seen
(present or late) and lasts until the next present or late mark, or until the child leaves the
roll (the registry's status change, as of its effective date). Absences covered by approved
leave are excused and neither start nor extend an episode.

An alarm needs an *observation*: a stored mark showing the child still away at or after the
instant the counted hours reach the threshold. A session nobody took a roll call for says
nothing, so silence never raises an alarm and never ends one (``observed_at``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

MarkStatus = Literal["present", "absent", "late", "leave"]
SEEN = frozenset({"present", "late"})
# Marks that show the child away: an absence, or a leave mark no approved leave covers (a
# request not yet approved excuses nothing: "48 hours without completed leave").
AWAY = frozenset({"absent", "leave"})
EndReason = Literal["returned", "not_attending"]


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
class Attending:
    """A span in which the child was on the roll (enrolled or transferred in): from ``start``
    (None: since the first record) until ``end`` (None: still attending)."""
    start: datetime | None
    end: datetime | None

    def __contains__(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


ALWAYS = (Attending(None, None),)


@dataclass(frozen=True)
class Episode:
    started_at: datetime
    absent_sessions: tuple[datetime, ...]
    ended_at: datetime | None  # the present/late mark that ended it, or the day the child left the roll
    end_reason: EndReason | None = None  # None while open

    def hours(self, now: datetime) -> float:
        end = self.ended_at or now
        return max(0.0, (end - self.started_at) / timedelta(hours=1))


def _excused(at: datetime, leaves: list[LeaveSpan]) -> bool:
    return any(span.covers(at) for span in leaves)


def episodes(marks: Iterable[Mark], leaves: Iterable[LeaveSpan] = (),
             attending: Sequence[Attending] = ALWAYS) -> list[Episode]:
    """Every unexcused-absence episode in the marks, oldest first; the last may be open.

    Only marks inside a span the child attended count (a mark typed in for a day the child was
    suspended means nothing); an episode still open when its span ends ends there, as
    ``not_attending``, and the next span starts afresh."""
    leaves = list(leaves)
    ordered = sorted(marks, key=lambda m: m.at)
    found: list[Episode] = []
    for span in sorted(attending, key=lambda s: (s.start is not None, s.start)):
        current: list[datetime] = []
        for mark in (m for m in ordered if m.at in span):
            if mark.status == "absent" and not _excused(mark.at, leaves):
                current.append(mark.at)
            elif mark.status in SEEN and current:
                found.append(Episode(current[0], tuple(current), ended_at=mark.at, end_reason="returned"))
                current = []
        if current:
            found.append(Episode(current[0], tuple(current), ended_at=span.end,
                                 end_reason=None if span.end is None else "not_attending"))
    return found


def observed_at(episode: Episode, marks: Iterable[Mark], leaves: Iterable[LeaveSpan],
                due_at: datetime | None) -> datetime | None:
    """The first session at or after the due instant (inclusive: absent at exactly Monday 08:00
    is absent 48 hours) whose mark shows the child still away, before the episode ended; None
    while no roll call says so. A child present at the due session ended the episode there, so
    that session is no observation."""
    if due_at is None or (episode.ended_at is not None and episode.ended_at <= due_at):
        return None
    leaves = list(leaves)
    return min((m.at for m in marks
                if m.status in AWAY and m.at >= due_at and m.at >= episode.started_at
                and (episode.ended_at is None or m.at < episode.ended_at) and not _excused(m.at, leaves)),
               default=None)


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


