"""A fixture county for the reporting service, as events, with figures computed by hand.

County 中牟县 (410122): township 城关镇 (T1) with a junior middle school S1 and a primary S2;
township 韩寺镇 (T2) with a junior middle school S3. Every child enrolled on 2026-09-01.

S1 (junior, class c-s1): j1-j4 attend; jD drops out on 11-10 (case cD opened 11-09, first home
visit 11-10, still open); jR dropped out 10-20 and returned 11-12 (case cR: visit 10-21,
returned and closed 11-12); jF was absent 48 hours, case cF opened 11-16 and closed 11-17 as a
false alarm (never a dropout); jG finished grade 9 (graduated 2026-07-01, enrolled 2023); jT
asked to transfer to S3 on 11-03, S3 confirmed on 11-05.
S2 (primary, class c-s2): p1-p5 attend (p1 of a registered poor household); p6 transferred out
on 10-01 to a school that has not confirmed it (overdue since 11-01); u1 is taught at home
(送教上门) from 10-08.
S3 (junior, class c-s3): k1-k3 attend, and jT from 11-05.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.envelope import TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REGISTRY, TOPIC_REPORTS, Event

PROVINCE, CITY, COUNTY = "410000", "410100", "410122"
T1, T2 = "410122100", "410122200"
S1, S2, S3 = "4101221001", "4101221002", "4101222001"
NAMES = {PROVINCE: ("河南省", "province"), CITY: ("郑州市", "city"), COUNTY: ("中牟县", "county"),
         T1: ("城关镇", "township"), T2: ("韩寺镇", "township"), S1: ("城关镇第一初级中学", "school"),
         S2: ("城关镇中心小学", "school"), S3: ("韩寺镇初级中学", "school")}
PATHS = {S1: [PROVINCE, CITY, COUNTY, T1, S1], S2: [PROVINCE, CITY, COUNTY, T1, S2],
         S3: [PROVINCE, CITY, COUNTY, T2, S3]}
CLASS = {S1: "c-s1", S2: "c-s2", S3: "c-s3"}


def sid(name: str) -> str:
    """Readable, stable ids ("student-jD"): the read model keeps ids as strings, as it must for
    the person ids of children with no student record."""
    return f"student-{name}"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def chain(path: list[str]) -> list[dict[str, str]]:
    return [{"code": c, "name": NAMES[c][0], "kind": NAMES[c][1]} for c in path]


def _event(type_: str, subject: str, at: str, data: dict, id_: str | None = None) -> Event:
    kwargs = {"id": id_} if id_ else {}
    return Event(type=type_, source="/baoxue/" + type_.split(".")[1], subject=subject, data=data, time=t(at), **kwargs)


def _org(code: str) -> tuple[str, Event]:
    path = next(p for p in [*PATHS.values(), [PROVINCE, CITY, COUNTY, T1], [PROVINCE, CITY, COUNTY, T2]]
                if code in p)
    path = path[: path.index(code) + 1]
    name, kind = NAMES[code]
    return TOPIC_REGISTRY, _event("baoxue.registry.org.registered", code, "2026-08-01T00:00:00", {
        "code": code, "name": name, "kind": kind, "parent_code": path[-2] if len(path) > 1 else None, "path": path})


def _enrol(name: str, school: str, grade: int, *, on: str = "2026-09-01", flags=()) -> tuple[str, Event]:
    return TOPIC_REGISTRY, _event("baoxue.registry.student.enrolled", sid(name), on + "T01:00:00", {
        "student_id": sid(name), "national_id_masked": "4101**********0113", "name": name, "gender": "male",
        "birth_date": "2013-04-01", "school_code": school, "class_id": CLASS[school], "grade": grade,
        "level": "primary" if grade <= 6 else "junior", "org_path": PATHS[school], "org_chain": chain(PATHS[school]),
        "enrolled_on": on, "flags": list(flags), "guardians": [], "status": "enrolled"})


def _status(name: str, status: str, previous: str, on: str, at: str, school: str, grade: int,
            reason: str | None = None) -> tuple[str, Event]:
    return TOPIC_REGISTRY, _event("baoxue.registry.student.status_changed", sid(name), at, {
        "student_id": sid(name), "status": status, "previous_status": previous, "effective_on": on,
        "reason": reason, "actor": "test", "school_code": school, "class_id": CLASS[school], "grade": grade,
        "org_path": PATHS[school], "org_chain": chain(PATHS[school])})


def _case(case: str, name: str, school: str, at: str) -> tuple[str, Event]:
    return TOPIC_CASES, _event("baoxue.cases.case.opened", sid(name), at, {
        "case_id": case, "student_id": sid(name), "status": "reported", "origin": "absence", "school_code": school,
        "org_path": PATHS[school], "grade": 8, "opened_at": t(at).isoformat(), "absence": {}})


def _case_status(case: str, name: str, status: str, at: str, outcome: str | None = None,
                 type_: str = "baoxue.cases.case.status_changed") -> tuple[str, Event]:
    data = {"case_id": case, "student_id": sid(name), "status": status, "previous_status": "reported",
            "at": t(at).isoformat()}
    if outcome:
        data["outcome"] = outcome
    return TOPIC_CASES, _event(type_, sid(name), at, data)


def _visit(case: str, name: str, at: str) -> tuple[str, Event]:
    return TOPIC_CASES, _event("baoxue.cases.home_visit.recorded", sid(name), at, {
        "visit_id": f"visit-{case}-{at}", "case_id": case, "student_id": sid(name), "visited_at": t(at).isoformat()})


def _episode(name: str, school: str, at: str) -> tuple[str, Event]:
    return TOPIC_ATTENDANCE, _event("baoxue.attendance.absence.threshold_reached", sid(name), at, {
        "student_id": sid(name), "episode_id": f"episode-{name}-{at}", "episode_started_at": t(at).isoformat(),
        "last_absent_at": t(at).isoformat(), "absent_sessions": 4, "hours": 50.0, "threshold_hours": 48,
        "counting": "wall_clock", "school_code": school, "class_id": CLASS[school], "grade": 8,
        "org_path": PATHS[school], "org_chain": chain(PATHS[school])})


def _report(report: str, case: str, recipient: str, at: str) -> tuple[str, Event]:
    return TOPIC_REPORTS, _event("baoxue.cases.dual_report.issued", report, at, {
        "report_id": report, "case_id": case, "recipient": recipient, "recipient_org_code": COUNTY,
        "recipient_org_name": "中牟县", "issued_at": t(at).isoformat(), "student": {}, "school": {}, "class_id": "",
        "absence": {}, "acknowledge": f"/v1/cases/{case}/reports/{recipient}/ack"})


def _ack(report: str, case: str, recipient: str, at: str) -> tuple[str, Event]:
    return TOPIC_REPORTS, _event("baoxue.cases.dual_report.acknowledged", report, at, {
        "report_id": report, "case_id": case, "recipient": recipient, "recipient_org_code": COUNTY,
        "acknowledged_at": t(at).isoformat()})


def events() -> list[tuple[str, Event]]:
    out = [_org(c) for c in (PROVINCE, CITY, COUNTY, T1, T2, S1, S2, S3)]
    out += [_enrol(n, S1, 8) for n in ("j1", "j2", "j3", "j4", "jD", "jR", "jF", "jT")]
    out += [_enrol("jG", S1, 9, on="2023-09-01")]
    out += [_enrol(n, S2, 3, flags=["poor_household"] if n == "p1" else ()) for n in ("p1", "p2", "p3", "p4", "p5")]
    out += [_enrol("p6", S2, 6), _enrol("u1", S2, 2)]
    out += [_enrol(n, S3, 7) for n in ("k1", "k2", "k3")]
    out += [
        _status("u1", "home_teaching", "enrolled", "2026-10-08", "2026-10-08T02:00:00", S2, 2, "重度残疾"),
        _status("jG", "graduated", "enrolled", "2026-07-01", "2026-09-01T02:00:00", S1, 9),
        _status("p6", "transferred_out", "enrolled", "2026-10-01", "2026-10-01T02:00:00", S2, 6, "moved away"),
        (TOPIC_REGISTRY, _event("baoxue.registry.transfer.overdue", sid("p6"), "2026-11-01T00:00:00", {
            "transfer_id": "transfer-p6", "student_id": sid("p6"), "from_school_code": S2, "to_school_code": None,
            "requested_on": "2026-10-01", "days_pending": 31, "overdue_after_days": 30, "school_code": S2,
            "class_id": CLASS[S2], "grade": 6, "org_path": PATHS[S2], "org_chain": chain(PATHS[S2])})),
        # jR: absent, a case, a visit, dropped out, persuaded back.
        _episode("jR", S1, "2026-10-19T07:00:00"),
        _case("cR", "jR", S1, "2026-10-19T08:00:00"),
        _report("rR-gov", "cR", "government", "2026-10-19T08:00:00"),
        _report("rR-edu", "cR", "education", "2026-10-19T08:00:00"),
        _ack("rR-gov", "cR", "government", "2026-10-19T09:00:00"),
        _ack("rR-edu", "cR", "education", "2026-10-19T09:00:00"),
        _status("jR", "dropped_out", "enrolled", "2026-10-20", "2026-10-20T03:00:00", S1, 8, "working away"),
        _visit("cR", "jR", "2026-10-21T08:00:00"),
        # jT: transfer S1 -> S3, confirmed by S3.
        _status("jT", "transferred_out", "enrolled", "2026-11-03", "2026-11-03T02:00:00", S1, 8, "family moved"),
        _status("jT", "transferred_in", "transferred_out", "2026-11-05", "2026-11-05T02:00:00", S3, 8),
        # jD: absent, a case, dropped out; one report never acknowledged.
        _episode("jD", S1, "2026-11-09T07:00:00"),
        _case("cD", "jD", S1, "2026-11-09T08:00:00"),
        _report("rD-gov", "cD", "government", "2026-11-09T08:00:00"),
        _report("rD-edu", "cD", "education", "2026-11-09T08:00:00"),
        _ack("rD-gov", "cD", "government", "2026-11-10T01:00:00"),
        _visit("cD", "jD", "2026-11-10T08:00:00"),
        _status("jD", "dropped_out", "enrolled", "2026-11-10", "2026-11-10T09:00:00", S1, 8, "working away"),
        # jR returns.
        _status("jR", "enrolled", "dropped_out", "2026-11-12", "2026-11-12T07:00:00", S1, 8),
        _case_status("cR", "jR", "returned", "2026-11-12T08:00:00"),
        _case_status("cR", "jR", "closed", "2026-11-12T10:00:00", "returned", "baoxue.cases.case.closed"),
        # jF: a false alarm (sick; the leave came late).
        _episode("jF", S1, "2026-11-16T01:00:00"),
        _case("cF", "jF", S1, "2026-11-16T02:00:00"),
        _report("rF-gov", "cF", "government", "2026-11-16T02:00:00"),
        _report("rF-edu", "cF", "education", "2026-11-16T02:00:00"),
        _ack("rF-gov", "cF", "government", "2026-11-16T03:00:00"),
        _ack("rF-edu", "cF", "education", "2026-11-19T03:00:00"),
        _case_status("cF", "jF", "closed", "2026-11-17T02:00:00", "false_alarm", "baoxue.cases.case.closed"),
        _visit("cD", "jD", "2026-11-18T08:00:00"),
    ]
    return out
