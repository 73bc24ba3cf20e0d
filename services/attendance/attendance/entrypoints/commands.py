"""Request bodies made into the use cases' commands: the routes build these, so no use case
imports an HTTP schema."""

from __future__ import annotations

import hashlib
import json

from attendance.domain.leave import LeaveRequest
from attendance.domain.roll_calls import RollCall, RollCallMark
from attendance.entrypoints.schemas import BatchItem, BatchRollCallIn, LeaveIn, RejectedItem, RollCallIn
from attendance.usecases.batch import Send, Unreadable
from shared.errors import Invalid, field_errors


def roll_call(body: RollCallIn) -> RollCall:
    return RollCall(school_code=body.school_code, class_id=body.class_id, date=body.date, session=body.session,
                    marks=tuple(RollCallMark(m.student_id, m.status) for m in body.marks),
                    recorded_at=body.recorded_at)


def leave_request(body: LeaveIn) -> LeaveRequest:
    return LeaveRequest(student_id=body.student_id, start=body.start, end=body.end, reason=body.reason,
                        requested_via=body.requested_via)


def _fingerprint(item: BatchRollCallIn) -> str:
    """What the device sent, hashed: the same client_id with the same roll call again is ``unchanged``."""
    return hashlib.sha256(json.dumps(item.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def _invalid_item(item: RejectedItem) -> Invalid:
    errors = field_errors([{**e, "loc": ("body", *e.get("loc", ()))} for e in item.errors])
    first = errors[0] if errors else {"field": "", "message": "invalid"}
    return Invalid(f"{first['field'] or 'roll call'}: {first['message']}", errors=errors)


def batch_item(item: BatchItem) -> Send | Unreadable:
    if isinstance(item, RejectedItem):
        return Unreadable(_invalid_item(item), item.client_id)
    return Send(roll_call(item), str(item.client_id), _fingerprint(item))
