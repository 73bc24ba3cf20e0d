"""Offline batches from a teaching point's tablet (教学点): a week of roll calls in one request.

Each item is stored on its own: an item that fails (a class outside the caller's scope, a child
not in the class, a field wrong) is rejected with its problem, and the others are stored. Each
item is its own transaction (a savepoint, then a commit), so a batch cut off halfway keeps the
items before the cut, and the tablet's retry finds them ``unchanged``. Under an
``Idempotency-Key`` the commits are held and the whole batch commits with its stored answer
(shared/idempotency.py); the savepoints still keep a failed item out.

Each item carries the device's ``client_id``: the same id with the same roll call again is
``unchanged`` (nothing written); a new send for a class-session that has a roll call replaces
it (the last received wins) and the earlier send stays as a revision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from attendance.adapters.tables import marks, roll_call_revisions, roll_calls
from attendance.domain.roll_calls import RollCall
from attendance.settings import AttendanceSettings
from attendance.usecases.roll_calls import store_roll_call
from shared.auth import Principal
from shared.errors import Invalid, Problem
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Send:
    """One item of a batch: the roll call, the device's id for this send, and the fingerprint of
    what it sent (the same id with the same fingerprint again is ``unchanged``)."""

    roll_call: RollCall
    client_id: str
    fingerprint: str


@dataclass(frozen=True)
class Unreadable:
    """A batch item that is not a roll call, with why (rejected; the other items still go in)."""

    problem: Invalid
    client_id: str | None = None


def _shown(value: Any) -> Any:
    """What a device sent, as a JSON answer can carry it: a lone surrogate (JSON can escape one,
    UTF-8 cannot hold it) is shown as its escape, so echoing hostile input never breaks the answer."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def _problem(exc: Problem, index: int) -> dict[str, Any]:
    """The item's problem, its pointers moved from the roll call into the batch."""
    prefix = f"/roll_calls/{index}"
    errors = [{**e, "pointer": prefix + e.get("pointer", ""), "field": f"roll_calls.{index}.{e['field']}"
               if e.get("field") else f"roll_calls.{index}"} for e in (exc.errors or [])]
    if exc.status == 422 and not errors:
        errors = [{"pointer": prefix, "field": f"roll_calls.{index}", "message": exc.detail}]
    body: dict[str, Any] = {"type": f"/problems/{exc.slug}", "title": exc.title, "status": exc.status,
                            "detail": exc.detail}
    if errors:
        body["errors"] = errors
    return _shown(body)


def _ref(class_id: str, date: Any, session: str, marks: int) -> dict[str, Any]:
    return {"class_id": class_id, "date": date, "session": session, "marks": marks}


async def _earlier_send(uow: UnitOfWork, client_id: str) -> tuple[str | None, dict[str, Any]] | None:
    """(fingerprint, what it stored) of an earlier send with this client_id: the roll call it
    still is, or a revision a later send replaced."""
    current = (await uow.session.execute(
        select(roll_calls.c.id, roll_calls.c.fingerprint, roll_calls.c.class_id, roll_calls.c.date,
               roll_calls.c.session).where(roll_calls.c.client_id == client_id))).first()
    if current is not None:
        count = (await uow.session.execute(
            select(func.count()).where(marks.c.roll_call_id == current.id))).scalar_one()
        return current.fingerprint, _ref(current.class_id, current.date, current.session, count)
    replaced = (await uow.session.execute(
        select(roll_call_revisions.c.fingerprint, roll_call_revisions.c.class_id, roll_call_revisions.c.date,
               roll_call_revisions.c.session, roll_call_revisions.c.marks)
        .where(roll_call_revisions.c.client_id == client_id).limit(1))).first()
    if replaced is None:
        return None
    return replaced.fingerprint, _ref(replaced.class_id, replaced.date, replaced.session,
                                      len(json.loads(replaced.marks)))


def _result(index: int, client_id: str | None, result: str, *, roll_call: dict[str, Any] | None = None,
            problem: dict[str, Any] | None = None) -> dict[str, Any]:
    """One item's answer (a BatchResult); absent fields are left out of the response."""
    return {"index": index, "client_id": client_id, "result": result, "roll_call": roll_call, "problem": problem}


async def _one(uow: UnitOfWork, settings: AttendanceSettings, index: int, item: Send | Unreadable,
               caller: Principal) -> dict[str, Any]:
    if isinstance(item, Unreadable):
        return _result(index, item.client_id, "rejected", problem=_problem(item.problem, index))
    client_id, fingerprint = item.client_id, item.fingerprint
    for _attempt in range(2):  # a second go only when a concurrent send of this client_id won the race
        earlier = await _earlier_send(uow, client_id)
        if earlier is not None:
            if earlier[0] != fingerprint:
                reused = Invalid(f"client_id {client_id} was sent before with another roll call; a new send "
                                 "needs a new client_id", errors=[{"field": "client_id", "pointer": "/client_id",
                                                                   "message": "already used for another roll call"}])
                return _result(index, client_id, "rejected", problem=_problem(reused, index))
            return _result(index, client_id, "unchanged", roll_call=earlier[1])
        try:
            async with uow.savepoint():
                stored = await store_roll_call(uow, settings, item.roll_call, caller, client_id=client_id,
                                               fingerprint=fingerprint)
        except Problem as exc:
            return _result(index, client_id, "rejected", problem=_problem(exc, index))
        except IntegrityError:
            continue  # the same client_id went in meanwhile (another replica): it is that send
        await uow.commit()
        return _result(index, client_id, "replaced" if stored["replaced"] else "created",
                       roll_call=_ref(stored["class_id"], stored["date"], stored["session"], stored["marks"]))
    raise RuntimeError("unreachable: a client_id that conflicts is found on the second look")


async def record_batch(uow: UnitOfWork, settings: AttendanceSettings, items: list[Send | Unreadable],
                       caller: Principal) -> list[dict[str, Any]]:
    if len(items) > settings.roll_call_batch_max:
        raise Invalid(f"a batch holds at most {settings.roll_call_batch_max} roll calls (got {len(items)}); "
                      "send the rest in another batch",
                      errors=[{"field": "roll_calls", "pointer": "/roll_calls",
                               "message": f"at most {settings.roll_call_batch_max} items"}])
    return [await _one(uow, settings, i, item, caller) for i, item in enumerate(items)]
