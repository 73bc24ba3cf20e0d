"""Load a small demo county through the public HTTP APIs only.

`make run DEMO=1` calls `load_demo` once the four services are ready (see devtools/stack.py).
What it loads, all deterministic (fixed seeds), so a re-run against the same databases finds
what the first run wrote and carries on instead of failing:

- 河南省 / 郑州市 / 中牟县, two townships, two primary schools and one junior middle school;
- one class per grade in each primary school (grades 1-6), two per grade in the junior middle
  school (grades 7-9);
- about 200 students with valid national ID numbers (birth date matching the grade, the 17th
  digit matching the gender), some risk flags and guardians;
- two weeks (the last 10 weekdays up to `today`) of morning and afternoon roll calls: mostly
  present, a few late, a couple of days of leave, a few single absences each followed by
  present, and exactly ONE student absent in every session since the third school day before
  `today` — more than 48 hours ago, so the 48-hour detector opens one case for that child.

Usage on its own, against running services:
    python -m devtools.demo [--registry URL] [--attendance URL] [--cases URL] [--reporting URL]
"""

from __future__ import annotations

import os
import random
import time as _time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from registry.domain.national_id import compose

SEED = 20260901
REGION = "410122"  # 中牟县: the region code of the demo children's ID numbers
THRESHOLD_HOURS = 48.0
SCHOOL_DAYS = 10
ABSENT_DAYS = 3  # the one absent student: every session since the 3rd school day before today

ORGS: list[dict[str, Any]] = [
    {"code": "410000", "name": "河南省", "kind": "province", "parent_code": None},
    {"code": "410100", "name": "郑州市", "kind": "city", "parent_code": "410000"},
    {"code": "410122", "name": "中牟县", "kind": "county", "parent_code": "410100"},
    {"code": "410122100", "name": "韩寺镇", "kind": "township", "parent_code": "410122"},
    {"code": "410122101", "name": "官渡镇", "kind": "township", "parent_code": "410122"},
    {"code": "41012210001", "name": "韩寺镇中心小学", "kind": "school", "parent_code": "410122100"},
    {"code": "41012210101", "name": "官渡镇中心小学", "kind": "school", "parent_code": "410122101"},
    {"code": "41012210002", "name": "韩寺镇第一初级中学", "kind": "school", "parent_code": "410122100"},
]
PROVINCE = "410000"
COUNTY = "410122"
GRADE_NAMES = "一二三四五六七八九"
# school code -> [(grade, class name)], and how many students each of its classes gets
SCHOOLS: dict[str, tuple[list[tuple[int, str]], int]] = {
    "41012210001": ([(g, f"{GRADE_NAMES[g - 1]}年级(1)班") for g in range(1, 7)], 10),
    "41012210101": ([(g, f"{GRADE_NAMES[g - 1]}年级(1)班") for g in range(1, 7)], 10),
    "41012210002": ([(g, f"{GRADE_NAMES[g - 1]}年级({n})班") for g in range(7, 10) for n in (1, 2)], 14),
}

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜"
MALE_CHARS = "浩宇轩子涛博文杰俊磊鹏晨阳明志强诺泽睿航辰逸豪然伟凯鑫帅昊"
FEMALE_CHARS = "欣怡雨涵梓萱佳琪思彤婷雪静丽敏悦可馨诗语瑶妍琳欢菲颖雯嘉"
FLAG_ODDS = {"poor_household": 0.12, "left_behind": 0.18, "single_parent": 0.06, "disabled": 0.02,
             "learning_difficulty": 0.08}


@dataclass
class _Student:
    school_code: str
    class_key: tuple[int, str]  # (grade, class name): the class it belongs to in the plan
    body: dict[str, Any]
    id: str | None = None
    attending: bool = True


@dataclass
class _Class:
    school_code: str
    grade: int
    name: str
    id: str | None = None
    students: list[_Student] = field(default_factory=list)


class _Api:
    """A keep-alive client that turns every unexpected answer into a RuntimeError with the
    problem details the service sent."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def call(self, method: str, url: str, *, expect: tuple[int, ...], **kwargs: Any) -> httpx.Response:
        for _ in range(30):
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                raise RuntimeError(f"demo: {method} {url} failed: {exc!r}") from exc
            if response.status_code != 429:
                break
            # Over the write budget: wait as the service asks, like any well-behaved client.
            _time.sleep(float(response.headers.get("retry-after", "1")))
        if response.status_code not in expect:
            raise RuntimeError(f"demo: {method} {url} answered {response.status_code}: {_problem(response)}")
        return response


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:500]
    text = str(body.get("detail") or body.get("title") or body)
    errors = body.get("errors")
    if errors:
        text += " " + "; ".join(f"{e.get('pointer') or e.get('field')}: {e.get('message')}" for e in errors[:5])
    return text


# --- the plan: everything generated, nothing sent ---------------------------------------------

def _school_year(today: date) -> int:
    """The calendar year in which the current school year began (on September 1)."""
    return today.year if today >= date(today.year, 9, 1) else today.year - 1


def _phone(rng: random.Random) -> str:
    return rng.choice(["13", "15", "17", "18"]) + "".join(rng.choice("0123456789") for _ in range(9))


def _given(rng: random.Random, chars: str) -> str:
    return "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2))))


def _plan(today: date) -> list[_Class]:
    rng = random.Random(SEED)
    year = _school_year(today)
    used_ids: set[str] = set()
    plan: list[_Class] = []
    index = 0
    for school_code, (classes, per_class) in SCHOOLS.items():
        for grade, name in classes:
            klass = _Class(school_code, grade, name)
            plan.append(klass)
            for _ in range(per_class):
                gender = "male" if rng.random() < 0.52 else "female"
                # Grade 1 children turn 6 by August 31 of the year they start school.
                first = date(year - 6 - grade, 9, 1)
                born = first + timedelta(days=rng.randrange((date(year - 5 - grade, 9, 1) - first).days))
                while True:
                    # The 17th digit (the sequence's last) is odd for a boy and even for a girl.
                    last = rng.choice("13579" if gender == "male" else "02468")
                    national_id = compose(REGION, born, rng.randrange(100) * 10 + int(last))
                    if national_id not in used_ids:
                        used_ids.add(national_id)
                        break
                surname = rng.choice(SURNAMES)
                name = surname + _given(rng, MALE_CHARS if gender == "male" else FEMALE_CHARS)
                flags = sorted(f for f, odds in FLAG_ODDS.items() if rng.random() < odds)
                if index in (7, 61):  # make sure the ledgers show a double-difficulty child (双困生)
                    flags = sorted({*flags, "poor_household", "learning_difficulty"})
                if index == 150:
                    flags = sorted({*flags, "disabled"})
                father = {"name": surname + _given(rng, MALE_CHARS), "relation": "father", "phone": _phone(rng)}
                mother = {"name": rng.choice(SURNAMES) + _given(rng, FEMALE_CHARS), "relation": "mother",
                          "phone": _phone(rng)}
                if "left_behind" in flags:  # parents working away: a grandparent looks after the child
                    guardians = [{"name": surname + _given(rng, MALE_CHARS), "relation": "grandfather",
                                  "phone": _phone(rng)}, father]
                elif "single_parent" in flags:
                    guardians = [rng.choice([father, mother])]
                else:
                    guardians = [father, mother]
                entered = year - (grade - 1 if grade <= 6 else grade - 7)
                klass.students.append(_Student(school_code, (grade, name), {
                    "national_id": national_id, "name": name, "gender": gender, "birth_date": born.isoformat(),
                    "school_code": school_code, "enrolled_on": date(entered, 9, 1).isoformat(),
                    "flags": flags, "guardians": guardians,
                }))
                index += 1
    return plan


# --- roll calls ---------------------------------------------------------------------------------

def _env_time(name: str, default: time) -> time:
    raw = os.environ.get(name)
    return time.fromisoformat(raw) if raw else default


def _session_clock() -> tuple[ZoneInfo, dict[str, time]]:
    # The same settings the attendance service reads (BAOXUE_ prefix), so the demo lines up.
    tz = ZoneInfo(os.environ.get("BAOXUE_TIMEZONE", "Asia/Shanghai"))
    return tz, {"am": _env_time("BAOXUE_SESSION_AM_STARTS", time(8, 0)),
                "pm": _env_time("BAOXUE_SESSION_PM_STARTS", time(14, 0))}


def _sessions(today: date, now: datetime) -> list[tuple[date, str, datetime]]:
    """(day, session, start in UTC) for the last SCHOOL_DAYS weekdays up to today, oldest first,
    without sessions that have not begun yet (a roll call is taken when the session starts)."""
    tz, starts = _session_clock()
    days: list[date] = []
    day = today
    while len(days) < SCHOOL_DAYS:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    out = []
    for day in reversed(days):
        for session in ("am", "pm"):
            at = datetime.combine(day, starts[session], tzinfo=tz).astimezone(UTC)
            if at <= now:
                out.append((day, session, at))
    return out


def _first_absent(sessions: list[tuple[date, str, datetime]], today: date, now: datetime) -> int:
    """Index of the absent student's first absent session: the morning of the ABSENT_DAYS-th
    school day before today, moved further back if that is not yet 48 hours ago."""
    days_before = sorted({d for d, _, _ in sessions if d < today}, reverse=True)
    if len(days_before) < ABSENT_DAYS:
        raise RuntimeError("demo: not enough school days before today for the 48-hour case")
    first_day = days_before[ABSENT_DAYS - 1]
    k = next(i for i, (d, _, _) in enumerate(sessions) if d == first_day)
    while k > 0 and now - sessions[k][2] <= timedelta(hours=THRESHOLD_HOURS, minutes=30):
        k -= 1
    if now - sessions[k][2] <= timedelta(hours=THRESHOLD_HOURS):
        raise RuntimeError("demo: cannot place an absence more than 48 hours before now")
    return k


def _statuses(students: list[_Student], sessions: list[tuple[date, str, datetime]], target: _Student,
              first_absent: int, classmates: set[str]) -> dict[str, list[str]]:
    """Each student's status in each session. Only `target` has an unexcused absence that lasts
    48 hours or more: every other absence is a single session followed by a present mark in the
    next one, and only where that next session begins less than 48 hours later. The target's
    classmates (national IDs in `classmates`) are never absent: their class is posted oldest
    first (see load_demo)."""
    days = sorted({d for d, _, _ in sessions})
    # Two children marked on leave (请假) for a whole day, in the middle of the fortnight.
    on_leave = {students[5].body["national_id"]: days[len(days) // 3],
                students[-20].body["national_id"]: days[(2 * len(days)) // 3]}
    out: dict[str, list[str]] = {}
    for student in students:
        nid = student.body["national_id"]
        row: list[str] = []
        for i, (day, session, at) in enumerate(sessions):
            if student is target and i >= first_absent:
                row.append("absent")
                continue
            r = random.Random(f"{SEED}:{nid}:{day.isoformat()}:{session}").random()
            if on_leave.get(nid) == day:
                status = "leave"
            else:
                status = "absent" if r < 0.01 else "late" if r < 0.035 else "present"
            nxt = sessions[i + 1][2] if i + 1 < len(sessions) else None
            if row and row[-1] == "absent":
                status = "present"  # seen again at the next roll call: the absence ends here
            elif status == "absent" and (nid in classmates or nxt is None
                                         or nxt - at >= timedelta(hours=THRESHOLD_HOURS)):
                status = "present"  # no absence that nothing would end within 48 hours
            row.append(status)
        out[nid] = row
    return out


# --- loading ------------------------------------------------------------------------------------

def _list_students(api: _Api, registry: str, school_code: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = api.call("GET", f"{registry}/v1/students", expect=(200,),
                        params={"school_code": school_code, "limit": 500, "offset": offset}).json()
        items.extend(page["items"])
        offset = page.get("next_offset")
    return items


def _load_orgs(api: _Api, registry: str, progress: Callable[[str], None]) -> Counter:
    seen: Counter = Counter()
    for org in ORGS:
        r = api.call("POST", f"{registry}/v1/orgs", json=org, expect=(201, 409))
        if r.status_code == 409:
            existing = api.call("GET", f"{registry}/v1/orgs/{org['code']}", expect=(200,)).json()
            if existing["kind"] != org["kind"] or existing.get("parent_code") != org["parent_code"]:
                raise RuntimeError(f"demo: organisation {org['code']} already exists as a {existing['kind']} under "
                                   f"{existing.get('parent_code')}, not a {org['kind']} under {org['parent_code']}")
            seen["existing"] += 1
        else:
            seen["created"] += 1
    progress(f"orgs {len(ORGS)}/{len(ORGS)} ({seen['created']} created, {seen['existing']} already there): "
             f"county {COUNTY} 中牟县, 2 townships, {len(SCHOOLS)} schools")
    return seen


def _load_classes(api: _Api, registry: str, plan: list[_Class], progress: Callable[[str], None]) -> Counter:
    """Create the classes; on a re-run the registry answers 409 naming the class already there."""
    seen: Counter = Counter()
    for klass in plan:
        r = api.call("POST", f"{registry}/v1/schools/{klass.school_code}/classes", expect=(201, 409),
                     json={"grade": klass.grade, "name": klass.name})
        klass.id = r.json()["id"] if r.status_code == 201 else r.json()["class_id"]
        seen["created" if r.status_code == 201 else "existing"] += 1
    progress(f"classes {len(plan)}/{len(plan)} ({seen['created']} created, {seen['existing']} already there)")
    return seen


def _load_students(api: _Api, registry: str, plan: list[_Class], existing: dict[str, list[dict[str, Any]]],
                   progress: Callable[[str], None]) -> Counter:
    everyone = [s for c in plan for s in c.students]
    known = {s["national_id"]: s for items in existing.values() for s in items}
    seen: Counter = Counter()
    for n, (klass, student) in enumerate(((c, s) for c in plan for s in c.students), start=1):
        record = known.get(student.body["national_id"])
        if record is None:
            r = api.call("POST", f"{registry}/v1/students", json={**student.body, "class_id": klass.id},
                         expect=(201, 409))
            if r.status_code == 201:
                student.id = r.json()["id"]
                seen["created"] += 1
            else:  # enrolled meanwhile (or by an earlier run): find the record in this school
                found = {s["national_id"]: s for s in _list_students(api, registry, klass.school_code)}
                record = found.get(student.body["national_id"])
                if record is None:
                    raise RuntimeError(f"demo: POST {registry}/v1/students answered 409: {_problem(r)}")
        if record is not None:
            seen["existing"] += 1
            student.id = record["id"]
            # Someone may have moved the child on since the last run (transfer, drop-out...):
            # only children attending this class get a mark, as the roll-call API requires.
            student.attending = record["class_id"] == klass.id and record["status"] in ("enrolled", "transferred_in")
            seen["not_attending"] += not student.attending
        if n % 25 == 0 or n == len(everyone):
            progress(f"students {n}/{len(everyone)}")
    if seen["existing"]:
        progress(f"students: {seen['created']} enrolled, {seen['existing']} already had an active record"
                 + (f" ({seen['not_attending']} no longer in their demo class: no roll-call marks)"
                    if seen["not_attending"] else ""))
    return seen


def _wait_for_roster(api: _Api, attendance: str, student: _Student, progress: Callable[[str], None],
                     timeout: float = 60.0) -> None:
    """Students reach attendance through the registry's events; wait for the last one."""
    started = _time.monotonic()
    next_note = 0.0
    while True:
        r = api.call("GET", f"{attendance}/v1/students/{student.id}/absence", expect=(200, 404))
        waited = _time.monotonic() - started
        if r.status_code == 200:
            progress(f"attendance roster has the students (waited {waited:.1f} s for the registry events)")
            return
        if waited > timeout:
            raise RuntimeError(f"demo: attendance still does not know student {student.id} after {timeout:.0f} s: "
                               "are the registry relay and the attendance consumer running? (see the logs)")
        if waited >= next_note:
            progress(f"waiting for attendance to receive the enrolments ... {waited:.0f} s")
            next_note += 5
        _time.sleep(0.25)


def _post_roll_call(api: _Api, attendance: str, body: dict[str, Any], timeout: float = 30.0) -> None:
    deadline = _time.monotonic() + timeout
    while True:
        try:
            r = api.client.post(f"{attendance}/v1/roll-calls", json=body)
        except httpx.HTTPError as exc:
            raise RuntimeError(f"demo: POST {attendance}/v1/roll-calls failed: {exc!r}") from exc
        if r.status_code in (200, 201):
            return
        # A student whose enrolment event has not arrived yet (events of different students
        # travel on different partitions): give the consumer a moment.
        if r.status_code == 422 and "unknown student" in r.text and _time.monotonic() < deadline:
            _time.sleep(0.5)
            continue
        raise RuntimeError(f"demo: POST {attendance}/v1/roll-calls ({body['class_id']} {body['date']} "
                           f"{body['session']}) answered {r.status_code}: {_problem(r)}")


def load_demo(urls: dict[str, str], progress: Callable[[str], None] = print, *, today: date | None = None,
              token: str | None = None) -> dict:
    """Load the demo county through the services' public HTTP APIs and return a summary.

    `urls` maps service name (registry, attendance, ...) to its base URL. Idempotent enough to
    run again on the same databases: what exists is found and reused, roll calls are replaced."""
    t0 = _time.monotonic()
    today = today or date.today()
    now = datetime.now(UTC)
    registry = urls["registry"].rstrip("/")
    attendance = urls["attendance"].rstrip("/")
    plan = _plan(today)
    everyone = [s for c in plan for s in c.students]
    # The absent child: the first student of the first junior middle class.
    target_class = next(c for c in plan if c.grade >= 7)
    target = target_class.students[0]
    sessions = _sessions(today, now)
    first_absent = _first_absent(sessions, today, now)
    statuses = _statuses(everyone, sessions, target, first_absent,
                         {s.body["national_id"] for s in target_class.students})
    progress(f"loading the demo county {COUNTY} 中牟县: {len(SCHOOLS)} schools, {len(plan)} classes, "
             f"{len(everyone)} students, {len(sessions)} roll-call sessions")

    # A province official of the demo province may register its orgs and enter roll calls on the
    # schools' behalf.
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(timeout=30.0, headers=headers) as client:
        api = _Api(client)
        orgs = _load_orgs(api, registry, progress)
        existing = {code: _list_students(api, registry, code) for code in SCHOOLS}
        classes = _load_classes(api, registry, plan, progress)
        students = _load_students(api, registry, plan, existing, progress)
        _wait_for_roster(api, attendance, everyone[-1], progress)

        # The detector sweeps while this runs, so the order matters. The absent child's class
        # goes first, oldest session first: the streak starts at its first absent session and
        # only grows (posted newest first, its start would move back past 48 hours more than
        # once and fire for each start). Every other class goes newest session first: a single
        # absence then lands on a student already marked present in the next session, so it
        # is never open, even for a moment, for the detector to find.
        order = [(i, target_class) for i in range(len(sessions))]
        order += [(i, klass) for i in reversed(range(len(sessions))) for klass in plan if klass is not target_class]
        marks: Counter = Counter()
        total = len(order)
        for n, (i, klass) in enumerate(order, start=1):
            day, session, _ = sessions[i]
            body = {"school_code": klass.school_code, "class_id": klass.id, "date": day.isoformat(),
                    "session": session,
                    "marks": [{"student_id": s.id, "status": statuses[s.body["national_id"]][i]}
                              for s in klass.students if s.attending]}
            if body["marks"]:
                _post_roll_call(api, attendance, body)
            marks.update(m["status"] for m in body["marks"])
            if n % 60 == 0 or n == total:
                progress(f"roll calls {n}/{total}")
        absence = api.call("GET", f"{attendance}/v1/students/{target.id}/absence", expect=(200,)).json()

    elapsed = _time.monotonic() - t0
    progress(f"absent student {target.body['name']} ({target.id}, {target.school_code}): unexcused absence since "
             f"{absence['since']}, {absence['hours']} h, {absence['absent_sessions']} sessions — "
             f"the 48-hour detector opens a case on its next pass")
    progress(f"demo loaded in {elapsed:.1f} s: marks {dict(marks)}")
    return {
        "county_code": COUNTY,
        "orgs": len(ORGS),
        "schools": len(SCHOOLS),
        "classes": len(plan),
        "students": len(everyone),
        "created": {"orgs": orgs["created"], "classes": classes["created"], "students": students["created"]},
        "school_days": [d.isoformat() for d in sorted({d for d, _, _ in sessions})],
        "roll_calls": total,
        "marks": dict(marks),
        "absent_student_id": target.id,
        "absent_student_name": target.body["name"],
        "absent_school_code": target.school_code,
        "absent_since": absence["since"],
        "absent_hours": absence["hours"],
        "elapsed_s": round(elapsed, 1),
    }


def main() -> None:
    import argparse
    import json

    from devtools.ports import DEFAULT_PORTS

    parser = argparse.ArgumentParser(description="Load the demo county into running Baoxue services.")
    for service, port in DEFAULT_PORTS.items():
        parser.add_argument(f"--{service}", default=f"http://127.0.0.1:{port}", help=f"{service} base URL")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
    args = parser.parse_args()
    from devtools.token import dev_secret
    from shared.auth import Role, mint

    token = mint(dev_secret(), subject="demo-loader", role=Role.province_official, org=PROVINCE)
    summary = load_demo({s: getattr(args, s) for s in DEFAULT_PORTS}, today=args.today, token=token)
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
