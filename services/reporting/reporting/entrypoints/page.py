"""The weekly report as one self-contained HTML page: inline CSS and SVG, no script, nothing
fetched from anywhere (the Content-Security-Policy forbids it)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape
from typing import Any

from shared.export import value_at
from reporting.entrypoints.charts import bar_chart, line_chart, percent
from reporting.entrypoints.sheets import FIGURES

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
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{escape(title)}</h1>
<p>统计区间 {_local(report['period']['start'], tz)} 至 {_local(report['period']['cutoff'], tz)}（周五24时截止，{escape(str(tz))}）；数据截至 {_local(report['as_of'], tz)}</p>
<h2>汇总</h2><table><tr><th>指标</th><th>本周</th><th>上周</th></tr>{summary}</table>
<h2>各乡镇辍学率</h2>{bars}
<table><tr><th>乡镇</th>{''.join(f'<th>{escape(h)}</th>' for _, h in FIGURES[:8])}</tr>{town_rows}</table>
<h2>在办案件趋势</h2>{line}
</body></html>"""
