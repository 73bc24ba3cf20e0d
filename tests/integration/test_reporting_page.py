"""The weekly report page: SVG drawn on the server, nothing fetched from anywhere, and the
numbers visible once headless Chromium has rendered it. In CI (CI=true) a missing Chromium is a
failure, not a skip: `.ci/run` installs it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess

import pytest

from tests.reporting_fixture import COUNTY

PAGE = f"/v1/reports/weekly/{COUNTY}/2026-W47.html"


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (apt-get install -y chromium); CI must render the page")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    return path


async def test_the_page_is_self_contained_svg_with_the_figures(county):
    r = await county.get(PAGE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    html = r.text
    assert "<script" not in html and not re.search(r"(src|href)=\"https?:", html)
    assert html.count('class="bar"') == 2  # one bar per township
    assert "2026-11-14 00:00 至 2026-11-21 00:00" in html  # the week in local time
    # Open cases at the eight Friday cut-offs W40..W47: cR from 10-19 to 11-12, then cD.
    values = re.findall(r'<text class="value"[^>]*>([^<]+)</text>', html.split("在办案件趋势</h2>")[1])
    assert values == ["0", "0", "0", "1", "1", "1", "1", "1"]
    assert (await county.get(f"/v1/reports/weekly/{COUNTY}/2026-W99.html")).status_code == 422


async def test_headless_chromium_renders_the_numbers(county, tmp_path):
    browser = chromium()
    page = tmp_path / "weekly.html"
    page.write_text((await county.get(PAGE)).text, encoding="utf-8")
    done = await asyncio.to_thread(
        subprocess.run, [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    # The rendered document has both charts with their numbers: the school year's 年辍学率, 城关镇
    # 2 of the 15 on its start-of-year roll = 13.33 %, 韩寺镇 0 % (test_reporting_figures counts them).
    assert dom.count("<svg") == 2
    assert re.search(r"城关镇</text><rect[^>]*></rect><text class=\"value\"[^>]*>13\.33%", dom), dom[:3000]
    assert re.search(r"韩寺镇</text><rect[^>]*></rect><text class=\"value\"[^>]*>0\.00%", dom)
    assert "11.11%" in dom  # the county's 年辍学率 (2 of 18 at the start of the year) in the summary table
    shot = tmp_path / "weekly.png"
    done = await asyncio.to_thread(
        subprocess.run, [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         f"--screenshot={shot}", "--window-size=900,1600", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]
