"""One row of a school's student spreadsheet, checked and turned into an enrolment. No I/O.

The headings are the ones county sheets use (学籍信息表), in Chinese, or English field names.
Birth date and gender may be left blank: they are then read from the ID number; when given,
they must agree with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from registry.domain.national_id import EARLIEST_BIRTH, InvalidNationalId, parse
from shared.text import name_key, problem_with

HEADINGS: dict[str, tuple[str, ...]] = {
    "national_id": ("身份证号", "身份证号码", "身份证件号", "公民身份号码", "national id", "id number"),
    "name": ("姓名", "学生姓名", "student name"),
    "gender": ("性别", "sex"),
    "birth_date": ("出生日期", "出生年月日", "date of birth", "birthday"),
    "class": ("班级", "班级名称", "class name", "class_name"),
    "enrolled_on": ("入学日期", "入学时间", "enrolment date", "enrollment date"),
    "household_region": ("户籍地", "户籍所在地代码", "户口所在地", "household registration"),
    "flags": ("标记", "关注类型", "特殊群体", "risk flags"),
    "guardian_name": ("监护人", "监护人姓名", "家长姓名", "guardian"),
    "guardian_relation": ("关系", "监护人关系", "与学生关系", "relation"),
    "guardian_phone": ("联系电话", "监护人电话", "家长电话", "手机号", "phone"),
}
REQUIRED = ("national_id", "name", "class")

GENDERS = {"男": "male", "女": "female", "male": "male", "female": "female", "m": "male", "f": "female"}
FLAGS = {
    "建档立卡": "poor_household", "建档立卡贫困户": "poor_household", "贫困": "poor_household",
    "poor_household": "poor_household",
    "留守": "left_behind", "留守儿童": "left_behind", "left_behind": "left_behind",
    "单亲": "single_parent", "单亲家庭": "single_parent", "single_parent": "single_parent",
    "残疾": "disabled", "残疾儿童": "disabled", "disabled": "disabled",
    "学困": "learning_difficulty", "学困生": "learning_difficulty", "learning_difficulty": "learning_difficulty",
}
RELATIONS = {"父亲": "father", "母亲": "mother", "爷爷": "grandfather", "奶奶": "grandmother",
             "外公": "grandfather", "外婆": "grandmother"}
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")
_REGION = re.compile(r"^[0-9]{6}$")


@dataclass
class RowResult:
    row: int                                   # spreadsheet row number (heading = 1)
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, field_name: str, message: str) -> None:
        self.errors.append({"row": self.row, "field": field_name, "message": message})

    def check_text(self, field_name: str, value: str, *, name: bool = False, max_length: int = 100) -> None:
        """The checks the API's text types apply, for a cell: the same text is refused either way."""
        reason = problem_with(value, name=name) if value else None
        if reason is None and len(value) > max_length:
            reason = f"longer than {max_length} characters"
        if reason:
            self.fail(field_name, reason)


def parse_date(text: str) -> date:
    cleaned = text.strip().replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    if re.fullmatch(r"\d{8}", cleaned):
        cleaned = f"{cleaned[:4]}-{cleaned[4:6]}-{cleaned[6:]}"
    year, month, day = (int(p) for p in cleaned.split("-"))
    return date(year, month, day)


def check_row(row_number: int, raw: dict[str, str], *, today: date, class_ids: dict[str, str]) -> RowResult:
    """Every problem of the row, not just the first: the sheet is fixed in one pass.
    ``class_ids`` is keyed by ``name_key`` (NFC) of the class name."""
    result = RowResult(row_number)
    nid = None
    try:
        nid = parse(raw.get("national_id", ""), today=today, earliest=EARLIEST_BIRTH)
        result.values["national_id"] = nid.number
    except InvalidNationalId as exc:
        result.fail("national_id", str(exc) if raw.get("national_id") else "required")
    name = raw.get("name", "").strip()
    if not name:
        result.fail("name", "required")
    result.check_text("name", name, name=True)
    result.values["name"] = name

    gender = GENDERS.get(raw.get("gender", "").strip().lower()) if raw.get("gender") else None
    if raw.get("gender") and gender is None:
        result.fail("gender", f"'{raw['gender']}' is not 男/女 (male/female)")
    birth = None
    if raw.get("birth_date"):
        try:
            birth = parse_date(raw["birth_date"])
        except (ValueError, TypeError):
            result.fail("birth_date", f"'{raw['birth_date']}' is not a date (YYYY-MM-DD)")
    if nid is not None:
        if birth is not None and birth != nid.birth_date:
            result.fail("birth_date", f"the national ID says {nid.birth_date.isoformat()}")
        if gender is not None and gender != nid.gender:
            result.fail("gender", f"the national ID says {nid.gender}")
        result.values["birth_date"] = nid.birth_date
        result.values["gender"] = nid.gender

    class_name = raw.get("class", "").strip()
    if name_key(class_name) not in class_ids:
        result.fail("class", "required" if not class_name else f"no class named '{class_name}' in this school")
    else:
        result.values["class_id"] = class_ids[name_key(class_name)]

    enrolled_on = today
    if raw.get("enrolled_on"):
        try:
            enrolled_on = parse_date(raw["enrolled_on"])
            if enrolled_on > today:
                result.fail("enrolled_on", "in the future")
            elif nid is not None and enrolled_on < nid.birth_date:
                result.fail("enrolled_on", "before the birth date")
        except (ValueError, TypeError):
            result.fail("enrolled_on", f"'{raw['enrolled_on']}' is not a date (YYYY-MM-DD)")
    result.values["enrolled_on"] = enrolled_on

    region = raw.get("household_region", "").strip() or None
    if region is not None and not _REGION.match(region):
        result.fail("household_region", "must be a 6-digit division code")
    result.values["household_region"] = region

    flags: set[str] = set()
    for word in re.split(r"[,，、;；/\s]+", raw.get("flags", "").strip()):
        if word:
            if word.lower() not in FLAGS and word not in FLAGS:
                result.fail("flags", f"unknown flag '{word}'")
            else:
                flags.add(FLAGS.get(word) or FLAGS[word.lower()])
    result.values["flags"] = sorted(flags)

    guardians = []
    g_name, phone = raw.get("guardian_name", "").strip(), raw.get("guardian_phone", "").strip()
    if phone and not _PHONE.match(phone):
        result.fail("guardian_phone", f"'{phone}' is not a phone number")
    result.check_text("guardian_name", g_name, name=True)
    result.check_text("guardian_relation", raw.get("guardian_relation", "").strip(), max_length=20)
    if g_name:
        relation = raw.get("guardian_relation", "").strip() or "guardian"
        guardians.append({"name": g_name[:100], "relation": RELATIONS.get(relation, relation)[:20],
                          "phone": phone or None})
    elif phone:
        result.fail("guardian_name", "a phone number needs the guardian's name")
    result.values["guardians"] = guardians
    return result
