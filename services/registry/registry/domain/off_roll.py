"""A child off the roll by a status (寄读 boarding elsewhere, 休学 suspended): what the status
must say, what is still missing, and when the missing thing becomes overdue. No I/O.

This is where children vanish (人籍分离, 空挂学籍): a record says "boarding elsewhere" or
"suspended" and nobody knows where the child is. So boarding elsewhere names its host school and
an expected end, and waits for the host's receipt (回执: "要求外寄的学生及家长或所在学校必须开回回执
证明"); a suspension names a reason and an end date. A watchdog asks for whatever is missing.

Old school apps send a bare status change (no host, no end). It is accepted, so they keep
working, and the missing facts are listed and chased like a missing receipt: a record without
an end date is treated as due back ``overdue_days`` after it took effect.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

from registry.domain.model import UNCHANGED, Unchanged
from registry.domain.model import StudentStatus as S
from shared.errors import Invalid

# The statuses that take a child off the roll with a period of their own to watch.
WATCHED = frozenset({S.boarding_elsewhere, S.suspended})


class Missing(str, enum.Enum):
    host = "host"                  # boarding: no host school named
    expected_end = "expected_end"  # no end date: nobody said when the child comes back
    receipt = "receipt"            # boarding: the host's receipt (回执); transfer: the other side's
    return_ = "return"             # the end date has passed and the child is not back


class OverdueReason(str, enum.Enum):
    receipt = "receipt"  # no receipt after overdue_days
    return_ = "return"   # past the end (or overdue_days without an end) and not back


@dataclass(frozen=True)
class Terms:
    """What a change to boarding elsewhere or suspension says beside its reason."""
    host_school_code: str | None = None
    host_school_name: str | None = None
    host_region: str | None = None
    expected_end: date | None = None

    @property
    def names_host(self) -> bool:
        return self.host_school_code is not None or self.host_school_name is not None


@dataclass(frozen=True)
class Receipt:
    """The host's receipt (回执) for a child boarding elsewhere."""

    received_on: date | None = None  # today when not given
    evidence: str | None = None      # what it is: required unless the host school itself confirms


@dataclass(frozen=True)
class OffRollChange:
    """What the status change left out, supplied later, or a moved end (a suspension extended).
    A host named replaces the host there was."""

    host_school_code: str | None | Unchanged = UNCHANGED
    host_school_name: str | None | Unchanged = UNCHANGED
    host_region: str | None | Unchanged = UNCHANGED
    expected_end: date | None | Unchanged = UNCHANGED


def _field(name: str, message: str) -> dict[str, str]:
    return {"field": name, "pointer": f"/{name}", "message": message}


def check_terms(target: S, terms: Terms, *, effective_on: date) -> None:
    """422 naming the field for terms that contradict each other or the status. Terms left out
    are not an error (see the module docstring): they are listed as missing."""
    errors = []
    host_fields = {"host_school_code": terms.host_school_code, "host_school_name": terms.host_school_name,
                   "host_region": terms.host_region}
    if target is not S.boarding_elsewhere:
        errors += [_field(k, f"only for boarding_elsewhere, not {target.value}") for k, v in host_fields.items()
                   if v is not None]
    if target not in WATCHED and terms.expected_end is not None:
        errors.append(_field("expected_end", f"only for boarding_elsewhere or suspended, not {target.value}"))
    if target is S.boarding_elsewhere:
        if terms.host_school_code is not None and (terms.host_school_name or terms.host_region):
            errors.append(_field("host_school_name", "give host_school_code for a school in this system, or "
                                                     "host_school_name and host_region for one outside it"))
        elif terms.host_school_code is None and (terms.host_school_name is None) != (terms.host_region is None):
            missing = "host_region" if terms.host_region is None else "host_school_name"
            errors.append(_field(missing, "a host outside this system needs its name and its region"))
    if target in WATCHED and terms.expected_end is not None and terms.expected_end <= effective_on:
        errors.append(_field("expected_end", f"must be after effective_on ({effective_on.isoformat()})"))
    if errors:
        raise Invalid("the status change's terms are inconsistent: " + ", ".join(e["field"] for e in errors),
                      errors=errors)


def return_due_on(started_on: date, expected_end: date | None, overdue_days: int) -> date:
    """The first day the child is late back: the day after the end, or, with no end given,
    overdue_days after the start (the same grace a missing receipt gets)."""
    return expected_end + timedelta(days=1) if expected_end else started_on + timedelta(days=overdue_days)


def receipt_due_on(started_on: date, overdue_days: int) -> date:
    return started_on + timedelta(days=overdue_days)


@dataclass(frozen=True)
class Period:
    """One stretch off the roll as the watchdog sees it."""
    kind: S
    started_on: date
    expected_end: date | None
    names_host: bool = False
    received_on: date | None = None


def missing(period: Period, today: date) -> list[Missing]:
    out = []
    if period.kind is S.boarding_elsewhere and not period.names_host:
        out.append(Missing.host)
    if period.expected_end is None:
        out.append(Missing.expected_end)
    if period.kind is S.boarding_elsewhere and period.received_on is None:
        out.append(Missing.receipt)
    if period.expected_end is not None and today > period.expected_end:
        out.append(Missing.return_)
    return out


def overdue(period: Period, today: date, overdue_days: int) -> list[OverdueReason]:
    """Why the period is overdue today, if it is. The sweep's SQL claims exactly these rows
    (``Cutoffs``); this is the same rule for one period, for lists and tests."""
    out = []
    if period.kind is S.boarding_elsewhere and period.received_on is None \
            and today >= receipt_due_on(period.started_on, overdue_days):
        out.append(OverdueReason.receipt)
    if today >= return_due_on(period.started_on, period.expected_end, overdue_days):
        out.append(OverdueReason.return_)
    return out


@dataclass(frozen=True)
class Cutoffs:
    """``overdue`` as comparisons a set-based sweep can put in SQL: a receipt is overdue when
    ``started_on <= started_by``; a return when ``expected_end < ended_before``, or, with no end,
    ``started_on <= started_by``."""
    started_by: date
    ended_before: date

    @classmethod
    def on(cls, today: date, overdue_days: int) -> Cutoffs:
        return cls(started_by=today - timedelta(days=overdue_days), ended_before=today)
