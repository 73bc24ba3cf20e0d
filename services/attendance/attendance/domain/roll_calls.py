"""A roll call as the use case receives it (one class-session's marks, whoever sent them), and
what one may record: the checks decided before anything is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RollCallMark:
    student_id: str
    status: str  # present, late, absent or leave


@dataclass(frozen=True)
class RollCall:
    school_code: str
    class_id: str
    date: dt.date
    session: str  # am or pm
    marks: tuple[RollCallMark, ...]
    recorded_at: dt.datetime | None = None  # the device's clock: recorded, never trusted


@dataclass(frozen=True)
class Placed:
    """Where a named child was on the roll call's date: the dated placement in force then (else
    the roster row, for a child loaded without placements)."""

    class_id: str
    active: bool  # attending (a status in which the child is expected in class)


@dataclass(frozen=True)
class Rejection:
    """Why a roll call may not be recorded: a detail and its field errors (the 422 problem's)."""

    detail: str
    errors: list[dict[str, str]]


def rejection(cmd: RollCall, *, class_school: str, placed: Mapping[str, Placed | None],
              today: dt.date) -> Rejection | None:
    """What a roll call may record, decided without I/O: it names the class's own school, every
    mark names a child in this class and attending on the roll call's date (a register typed in
    late still names the child who has since left the class or the roll; ``placed`` has None for a
    child not on any roster), and the date is not after ``today`` (local). The first failing rule
    answers; None: the roll call may be stored."""
    if class_school != cmd.school_code:
        return Rejection(f"class {cmd.class_id} belongs to school {class_school}, not {cmd.school_code}",
                         [{"field": "school_code", "pointer": "/school_code", "message": "not the class's school"}])
    problems = []
    for i, m in enumerate(cmd.marks):
        then = placed.get(m.student_id)
        reason = ("unknown student" if then is None else
                  f"not in this class on {cmd.date.isoformat()}" if then.class_id != cmd.class_id else
                  f"not attending (status) on {cmd.date.isoformat()}" if not then.active else None)
        if reason:
            problems.append({"field": f"marks.{i}.student_id", "pointer": f"/marks/{i}/student_id",
                             "message": f"{m.student_id}: {reason}"})
    if problems:
        return Rejection(f"{len(problems)} mark(s) name students not attending class {cmd.class_id}: "
                         + ", ".join(p["message"] for p in problems[:5]), problems)
    if cmd.date > today:
        return Rejection(f"a roll call for {cmd.date.isoformat()} is in the future (today is {today.isoformat()})",
                         [{"field": "date", "pointer": "/date", "message": "in the future"}])
    return None
