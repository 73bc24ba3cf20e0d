"""The weekly report as one self-contained HTML page: inline CSS and SVG, no script, nothing
fetched from anywhere (the Content-Security-Policy forbids it)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape
from typing import Any

from reporting.entrypoints.charts import bar_chart, line_chart, percent
from reporting.entrypoints.sheets import FIGURES, indicator_rows
from shared.export import value_at

CSP = "default-src 'none'; style-src 'unsafe-inline'"
STATUS = {"on_target": "达标", "at_risk": "临界", "off_target": "未达标", None: "—"}
STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}")


def _cell(key: str, value: Any) -> str:
    if key.endswith("rate"):
        return percent(value)
    if key == "status":
        return STATUS.get(value, str(value))
    return escape(str(value))


def _local(at: datetime | None, tz: tzinfo) -> str:
    return "—" if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def weekly_page(report: dict[str, Any], trend: list[tuple[str, int]], tz: tzinfo) -> str:
    title = f"{report['org_name']} {report['week']} 控辍保学周报"
    now, before = report["totals"]["current"], report["totals"]["previous"]
    summary = "".join(f"<tr><th>{escape(h)}</th><td>{_cell(k, value_at(now, k))}</td>"
                      f"<td>{_cell(k, value_at(before, k))}</td></tr>" for k, h in FIGURES)
    # Schools with no township above them (run by the county, the city or the province; every
    # school of a city without counties that is not in a town) get a row of their own.
    towns = report["townships"] + [{**s, "name": f"{s['name']}（直属）"} for s in report["schools"]
                                   if s["township_code"] is None]
    town_rows = "".join(
        f"<tr><td>{escape(t['name'])}</td>" + "".join(f"<td>{_cell(k, value_at(t['current'], k))}</td>" for k, _ in FIGURES[:8])
        + "</tr>" for t in towns)
    bars = bar_chart([(t["name"], t["current"]["dropout_rate"]) for t in towns], title="各乡镇辍学率")
    line = line_chart(trend, title="在办案件趋势（每周五截止）")
    indicators = "".join(f"<tr><td>{escape(r['indicator'])}</td><td>{escape(r['part'])}</td><td>{escape(r['value'])}</td></tr>"
                         for r in indicator_rows(report["indicators"]))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{escape(title)}</h1>
<p>统计区间 {_local(report['period']['start'], tz)} 至 {_local(report['period']['cutoff'], tz)}（周五24时截止，{escape(str(tz))}）；数据截至 {_local(report['as_of'], tz)}</p>
<h2>汇总</h2><table><tr><th>指标</th><th>本周</th><th>上周</th></tr>{summary}</table>
<h2>责任落实与动态监测</h2><table class="indicators"><tr><th>指标</th><th>内容</th><th>本周</th></tr>{indicators}</table>
<h2>各乡镇辍学率</h2>{bars}
<table><tr><th>乡镇</th>{''.join(f'<th>{escape(h)}</th>' for _, h in FIGURES[:8])}</tr>{town_rows}</table>
<h2>在办案件趋势</h2>{line}
</body></html>"""


KIND_TITLES = {"weekly": "控辍保学周报", "monthly": "学校辍学月报表"}


def _value(v: Any) -> str:
    return "—" if v is None else escape(str(v))


def submission_page(sub: dict[str, Any], tz: tzinfo) -> str:
    """What a county submitted, and every figure that reads differently now."""
    figures = sub["figures"]
    title = f"{figures.get('org_name', sub['org_code'])} {sub['period']} {KIND_TITLES[sub['kind']]}（报送 #{sub['id']}）"
    if sub["changed"]:
        verdict = f"报送后数据有变化：{len(sub['changes'])} 项指标与现在的计算不同。"
        rows = "".join(f"<tr><td>{escape(c['path'])}</td><td>{_value(c['submitted'])}</td><td>{_value(c['now'])}</td></tr>"
                       for c in sub["changes"])
        table = f"<table><tr><th>指标</th><th>报送时</th><th>现在</th></tr>{rows}</table>"
    else:
        verdict, table = "报送后数据无变化。", ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{escape(title)}</h1>
<p>报送人 {escape(sub['submitted_by'])}（{escape(sub['submitted_role'])}），报送时间 {_local(sub['submitted_at'], tz)}；
SHA-256 <code>{escape(sub['sha256'])}</code>（规范化 JSON）；重新计算截至 {_local(sub['recomputed_as_of'], tz)}</p>
<h2 class="verdict">{escape(verdict)}</h2>{table}
</body></html>"""
