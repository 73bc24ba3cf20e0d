"""The Chinese headings of every exported table, and the weekly report as sheets."""

from __future__ import annotations

from typing import Any

from reporting.domain.cases import AGE_BUCKETS
from shared.export import Column, Sheet, value_at

FIGURES: list[Column] = [
    ("enrolled", "在读人数"), ("dropped_out", "辍学人数"), ("returned", "劝返复学人数"),
    # The statutory figures of the school year to Friday (README "Statutory rates").
    ("start_roll", "学年初在校学生数"), ("year_dropouts", "本学年辍学人数"),
    ("dropout_rate", "年辍学率"), ("retention_rate", "在校生巩固率"), ("status", "达标情况"),
    ("levels.primary.dropout_rate", "小学年辍学率"), ("levels.junior.dropout_rate", "初中年辍学率"),
    ("new_absence_episodes", "新增连续缺勤48小时"), ("cases_opened", "新立案"), ("cases_returned", "复学"),
    ("cases_closed", "销号"), ("home_visits", "家访次数"), ("open_cases", "在办案件"),
    ("unacknowledged_dual_reports", "双报告未回执"), ("overdue_transfers", "转学超期未回执"),
]


def _unit_columns(first: list[Column]) -> list[Column]:
    return [*first, *((f"current.{k}", h) for k, h in FIGURES),
            ("previous.dropped_out", "上周辍学人数"), ("previous.dropout_rate", "上周年辍学率"),
            ("previous.open_cases", "上周在办案件")]


UNKNOWN = "未知"
PART_TITLES = {"roll_call_completeness": "点名完整率", "cases": "在办案件落实劝返责任人和帮扶计划",
               "schools": "学校常设责任体系（七长/五级）"}


def _part_value(part: dict[str, Any]) -> Any:
    """A known share, or 未知 with the reason: an unknown indicator is never written as 0 or blank."""
    if part["counted"] is None:
        return f"{UNKNOWN}（{part['reason']}）"
    if part["value"] is None:
        return f"—（{part['reason']}）"
    return f"{part['value']:.6f} ({part['numerator']}/{part['denominator']})"


def indicator_rows(indicators: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"indicator": ind["name"], "part": PART_TITLES.get(name, name), "value": _part_value(part),
             "counted": part["counted"] or ""}
            for ind in (indicators["responsibility"], indicators["monitoring"]) for name, part in ind["parts"].items()]


def weekly_sheets(report: dict[str, Any]) -> list[Sheet]:
    totals = report["totals"]
    summary_rows = [{"metric": h, "current": value_at(totals["current"], k), "previous": value_at(totals["previous"], k),
                     "change": totals["change"].get(k)} for k, h in FIGURES]
    ages = [{"age": name, "current": totals["current"]["open_cases_by_age"][name],
             "previous": totals["previous"]["open_cases_by_age"][name]} for name, _, _ in AGE_BUCKETS]
    # A city's (or province's) report: a row per county, and the counties it presses (seed 000).
    counties = [
        Sheet("县区", _unit_columns([("code", "县区代码"), ("name", "县区")]), report["counties"]),
        Sheet("工作滞后县区", [("code", "县区代码"), ("name", "县区"), ("status", "达标情况"), ("start_roll", "学年初在校学生数"),
                          ("year_dropouts", "本学年辍学人数"), ("dropout_rate", "年辍学率"), ("retention_rate", "在校生巩固率")],
              report["lagging_counties"]),
    ] if report["counties"] else []
    return [
        Sheet("汇总", [("metric", "指标"), ("current", "本周"), ("previous", "上周"), ("change", "变化")], summary_rows),
        *counties,
        Sheet("乡镇", _unit_columns([("code", "乡镇代码"), ("name", "乡镇")]), report["townships"]),
        Sheet("学校", _unit_columns([("township_code", "乡镇代码"), ("code", "学校代码"), ("name", "学校")]),
              report["schools"]),
        Sheet("在办案件账龄", [("age", "立案天数"), ("current", "本周"), ("previous", "上周")], ages),
        Sheet("责任落实与动态监测", [("indicator", "指标"), ("part", "内容"), ("value", "本周"), ("counted", "统计口径")],
              indicator_rows(report["indicators"])),
    ]


MONTH_FIGURES: list[Column] = [
    ("enrolled_at_start", "月初在读"), ("new_enrolments", "本月新入学"), ("returned", "劝返复学"),
    ("transferred_in", "转入"), ("dropped_out", "辍学"), ("transferred_out", "转出"),
    ("enrolled_at_end", "月末在读"), ("out_at_end", "月末仍辍学"), ("dropout_rate", "本月辍学率"),
    ("attendance_rate", "出勤率"), ("roll_call_completeness", "点名完整率"), ("home_visits", "家访次数"),
]


def _month_cells(row: dict[str, Any]) -> dict[str, Any]:
    """Unknown figures read 未知 in a spreadsheet, never an empty cell someone would sum as 0."""
    return {**row, **{k: UNKNOWN if row[k] is None else row[k] for k in ("attendance_rate", "roll_call_completeness")}}


def monthly_sheets(report: dict[str, Any]) -> list[Sheet]:
    classes = [{**_month_cells(c), "no_dropout": "是" if c["no_dropout"] else "否"} for c in report["classes"]]
    schools = [_month_cells(s) for s in report["schools"]]
    return [
        Sheet("班级", [("school_code", "学校代码"), ("school_name", "学校"), ("class_id", "班级编号"), ("grade", "年级"),
                     ("rank", "校内排名"), *MONTH_FIGURES, ("no_dropout", "无辍学班级")], classes),
        Sheet("学校", [("township_code", "乡镇代码"), ("school_code", "学校代码"), ("school_name", "学校"),
                     ("classes", "班级数"), ("no_dropout_classes", "无辍学班级数"), *MONTH_FIGURES], schools),
        Sheet("无辍学班级", [("school_code", "学校代码"), ("school_name", "学校"), ("class_id", "班级编号"),
                        ("grade", "年级"), ("enrolled_at_end", "月末在读")], report["no_dropout_classes"]),
    ]



_PERSON: list[Column] = [
    ("name", "姓名"), ("national_id_masked", "身份证号"), ("gender", "性别"), ("birth_date", "出生日期"),
    ("school_code", "学校代码"), ("school_name", "学校"), ("grade", "年级"), ("status", "学籍状态"),
    ("flags", "关爱类别"),
]
LEDGER_COLUMNS: dict[str, list[Column]] = {
    "poor-households": [*_PERSON, ("enrolled_on", "入学日期")],
    "unable-to-study": [*_PERSON, ("status_reason", "原因"), ("arrangement", "安置方式"), ("status_since", "起始日期")],
    "dropouts": [*_PERSON, ("dropped_on", "辍学日期"), ("dropout_reason", "辍学原因"), ("case_id", "案件编号"),
                 ("case_status", "案件状态"), ("opened_at", "立案时间"), ("first_visit_at", "首次家访"),
                 ("home_visits", "家访次数"), ("returned_at", "复学时间"), ("closed_at", "销号时间"),
                 ("outcome", "结果")],
}
LEDGER_TITLES = {"poor-households": "建档立卡贫困家庭适龄儿童台账", "unable-to-study": "不具备学习条件儿童台账",
                 "dropouts": "辍学学生劝返台账"}
