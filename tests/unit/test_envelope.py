import json
from datetime import UTC, date, datetime

import pytest

from shared.envelope import Event, MalformedEvent, from_record, stable_id


def test_binary_mode_round_trip_keeps_every_attribute():
    ev = Event(type="baoxue.test.happened", source="/baoxue/test", subject="s-1",
               data={"n": 1, "day": date(2026, 11, 23), "名字": "王小明"},
               time=datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC))
    headers = dict(ev.headers())
    assert headers["ce_specversion"] == b"1.0" and headers["content-type"] == b"application/json"
    back = from_record(ev.value(), ev.headers())
    assert (back.id, back.source, back.type, back.subject, back.time) == (ev.id, ev.source, ev.type, ev.subject, ev.time)
    assert back.data == {"n": 1, "day": "2026-11-23", "名字": "王小明"}
    assert json.loads(ev.value())["名字"] == "王小明"  # UTF-8, not \\u escapes


@pytest.mark.parametrize("value, headers, reason", [
    (b"{}", [("ce_source", b"/x"), ("ce_type", b"t")], "ce_id"),
    (b"{}", [("ce_id", b"1"), ("ce_type", b"t")], "ce_source"),
    (b"not json", [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t")], "not JSON"),
    (b"[1]", [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t")], "JSON object"),
    (b"{}", [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"), ("ce_specversion", b"0.3")], "specversion"),
    (b"{}", [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"), ("ce_time", b"yesterday")], "ce_time"),
])
def test_poison_records_are_named_malformed(value, headers, reason):
    with pytest.raises(MalformedEvent, match=reason):
        from_record(value, headers)


def test_stable_ids_are_deterministic_and_distinct():
    assert stable_id("threshold", "s", "t") == stable_id("threshold", "s", "t")
    assert stable_id("threshold", "s", "t") != stable_id("returned", "s", "t")


def test_a_ce_time_without_offset_is_read_as_utc():
    ev = from_record(b"{}", [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"),
                             ("ce_time", b"2026-11-23T01:02:03")])
    assert ev.time == datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)
