"""The event models (shared/events/): what goes on the wire, what old events still read as."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from shared.envelope import Event, dumps, from_record
from shared.events import BY_TYPE, TOPIC_TYPES
from shared.events.attendance import RollCallRecorded
from shared.events.cases import CaseStatusChanged
from shared.events.messaging import DeadLetterRecorded
from shared.events.registry import OrgRegistered, StudentStatusChanged
from shared.events.reports import DualReportAcknowledged
from shared.routes import InvalidPayload, Routes, describe

AT = datetime(2026, 11, 18, 0, 0, 41, 207311, tzinfo=UTC)
SID = "6f1c2d9e-0b7a-4c55-9d0e-3b1f2a7c8d90"
ROUND_TRIPS = [
    StudentStatusChanged(student_id=SID, status="dropped_out", previous_status="enrolled",
                         effective_on=date(2026, 11, 16), reason=None, actor="t1", school_code="4101221001",
                         class_id="d61e4b05-eea6-42ed-bf4e-3e07f92a85b2", grade=7,
                         org_path=["410000", "410100", "410122", "410122100", "4101221001"], org_chain=[]),
    RollCallRecorded(class_id="c1", school_code="4101221001", org_path=["410000"], date=date(2026, 11, 16),
                     session="am", session_at=AT, roll_call_id=3, received_at=AT, on_time=True, replaced=False,
                     expected=True, counts={"present": 30}, marks=30),
    CaseStatusChanged(case_id="91cdac90-91a2-436b-b08b-013d2adcc0b3", student_id=SID, status="confirmed",
                      previous_status="verifying", at=AT, actor="t1", causes=["left_to_work"], cause_note=None,
                      origin="absence", dropped_out_since=AT),
    DualReportAcknowledged(report_id="ee349829-418f-46a8-a0a8-96599cc828b6",
                           case_id="91cdac90-91a2-436b-b08b-013d2adcc0b3", recipient="government",
                           recipient_org_code="410122100-GOV", acknowledged_at=AT),
    DeadLetterRecorded(dead_letter_id=7, service="cases", topic="baoxue.attendance.v1", partition=1, offset=42,
                       reason="malformed", key_base64=None, headers=[["ce_type", "x"]], value_base64="e30="),
]


def test_every_topic_has_a_round_trip_here():
    assert {m.TOPIC for m in ROUND_TRIPS} == set(TOPIC_TYPES)


@pytest.mark.parametrize("model", ROUND_TRIPS, ids=lambda m: m.TYPE)
def test_a_model_round_trips_through_the_wire_unchanged(model):
    value = dumps(model.payload())
    event = Event(type=model.TYPE, source="/baoxue/x", subject="s", data=model.payload(), time=AT)
    back = from_record(event.value(), event.headers())
    assert back.type == model.TYPE and BY_TYPE[back.type] is type(model)
    assert type(model).model_validate(back.data) == model
    assert dumps(type(model).model_validate(back.data).payload()) == value


def test_dates_and_instants_keep_the_isoformat_the_dict_payloads_had():
    data = json.loads(dumps(ROUND_TRIPS[2].payload()))
    assert data["at"] == "2026-11-18T00:00:41.207311+00:00" and data["cause_note"] is None
    assert json.loads(dumps(ROUND_TRIPS[0].payload()))["effective_on"] == "2026-11-16"


def test_only_the_fields_the_producer_set_are_sent():
    org = OrgRegistered(code="410122", name="中牟县", kind="county", parent_code="410100",
                        path=["410000", "410100", "410122"], system=None)
    assert org.payload() == {"code": "410122", "name": "中牟县", "kind": "county", "parent_code": "410100",
                             "path": ["410000", "410100", "410122"], "system": None}  # no "line": null


def test_an_old_event_without_a_later_field_still_validates():
    # org.registered from before school systems (and office lines) were recorded.
    old = OrgRegistered.model_validate({"code": "4101221001", "name": "一中", "kind": "school",
                                        "parent_code": "410122", "path": ["410122", "4101221001"]})
    assert old.system is None and old.line is None
    # case.status_changed before actor, causes and dropped_out_since were added.
    case = CaseStatusChanged.model_validate({"case_id": "c", "student_id": SID, "status": "persuading",
                                             "previous_status": "confirmed", "at": AT.isoformat()})
    assert case.actor is None and case.dropped_out_since is None and case.at == AT


def test_unknown_fields_are_ignored():
    assert not hasattr(OrgRegistered.model_validate({"code": "1", "name": "n", "kind": "province",
                                                     "parent_code": None, "path": ["1"], "newer": 1}), "newer")


def test_an_invalid_payload_names_the_field():
    with pytest.raises(ValidationError) as info:
        StudentStatusChanged.model_validate({"status": "enrolled", "effective_on": "yesterday"})
    reason = describe(info.value)
    assert "/student_id: Field required" in reason and "/effective_on:" in reason
    assert "yesterday" not in reason  # the input (a child's data) stays out of the reason
    routes = Routes({StudentStatusChanged: lambda uow, received: None})
    event = Event(type=StudentStatusChanged.TYPE, source="/baoxue/registry", subject=SID, data={"status": "x"})
    with pytest.raises(InvalidPayload, match="/student_id"):
        routes.prepare(event)


def test_the_subscription_is_the_topics_of_the_registered_models():
    routes = Routes({CaseStatusChanged: None, StudentStatusChanged: None})
    assert routes.topics == ["baoxue.registry.v1", "baoxue.cases.v1"]
    assert routes.types == {CaseStatusChanged.TYPE, StudentStatusChanged.TYPE}


def test_emit_takes_topic_and_type_from_the_model():
    from shared.clock import SystemClock
    from shared.uow import UnitsOfWork

    uow = UnitsOfWork(None, source="/baoxue/cases", clock=SystemClock())()  # staging needs no database
    event = uow.emit(ROUND_TRIPS[3], subject=SID, key="410122100-GOV")
    assert (event.type, dict(event.data)) == (DualReportAcknowledged.TYPE, ROUND_TRIPS[3].payload())
    assert uow._staged[0][:2] == ("baoxue.reports.v1", "410122100-GOV")
