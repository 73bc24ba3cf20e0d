"""What a roll call may record (attendance/domain/roll_calls.py), decided without a database:
the class's own school, every child in the class and attending on the roll call's date, and
not a date after today."""

from datetime import date

from attendance.domain.roll_calls import Placed, RollCall, RollCallMark, rejection

DAY = date(2026, 11, 16)
IN_CLASS = Placed("c1", active=True)


def call(*student_ids: str, school: str = "S1", day: date = DAY) -> RollCall:
    return RollCall(school_code=school, class_id="c1", date=day, session="am",
                    marks=tuple(RollCallMark(s, "absent") for s in student_ids))


def test_children_in_the_class_and_attending_on_the_date_may_be_recorded():
    assert rejection(call("a", "b"), class_school="S1", placed={"a": IN_CLASS, "b": IN_CLASS}, today=DAY) is None


def test_another_schools_code_is_refused_before_the_marks_are_looked_at():
    refused = rejection(call("nobody", school="S2"), class_school="S1", placed={}, today=DAY)
    assert refused.detail == "class c1 belongs to school S1, not S2"
    assert refused.errors == [{"field": "school_code", "pointer": "/school_code", "message": "not the class's school"}]


def test_each_mark_naming_a_child_not_attending_the_class_that_day_is_pointed_at():
    placed = {"a": IN_CLASS, "moved": Placed("c2", active=True), "left": Placed("c1", active=False)}
    refused = rejection(call("a", "ghost", "moved", "left"), class_school="S1", placed=placed, today=DAY)
    assert [e["pointer"] for e in refused.errors] == ["/marks/1/student_id", "/marks/2/student_id",
                                                       "/marks/3/student_id"]
    assert [e["message"] for e in refused.errors] == [
        "ghost: unknown student", "moved: not in this class on 2026-11-16",
        "left: not attending (status) on 2026-11-16"]
    assert refused.detail.startswith("3 mark(s) name students not attending class c1: ghost: unknown student")


def test_a_date_after_today_is_refused_once_the_marks_are_right():
    refused = rejection(call("a", day=date(2026, 11, 17)), class_school="S1", placed={"a": IN_CLASS}, today=DAY)
    assert refused.errors == [{"field": "date", "pointer": "/date", "message": "in the future"}]
    assert "today is 2026-11-16" in refused.detail
    # A wrong mark answers first: the sender fixes the list before the date.
    assert rejection(call("ghost", day=date(2026, 11, 17)), class_school="S1", placed={},
                     today=DAY).errors[0]["pointer"] == "/marks/0/student_id"
