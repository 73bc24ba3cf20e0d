"""Hostile spreadsheets against the running registry: each bomb is refused with a 413 or 422
problem naming the file, /healthz keeps answering while it is handled, and the process's memory
stays where it was. The parse is the same for the bulk import and the population check."""

from __future__ import annotations

import asyncio
import resource
import time
from datetime import date

import pytest

from registry.domain.national_id import compose
from tests import hostile_files as hostile
from tests.conftest import bearer, running
from tests.factories import school_with_class

# timing: measures /healthz latencies, so `make test` runs it after the parallel part, alone.
pytestmark = [pytest.mark.timeout(120), pytest.mark.timing]
NO_BROKER = "127.0.0.1:1"
HEAD = ["身份证号", "姓名", "班级"]
# Generous on purpose: the machine is shared. A parse on the event loop misses this by minutes.
HEALTHZ_BOUND_S = 3.0
RSS_BOUND_MB = 120


@pytest.fixture
async def registry(tmp_path):
    async with running("registry", f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}", NO_BROKER,
                       writes_per_minute=100_000) as client:
        yield client


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kb / 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def while_polling_healthz(client, request):
    """Run ``request`` while /healthz is called every 20 ms; (its response, the health calls'
    latencies, the highest RSS seen)."""
    latencies: list[float] = []
    highest = rss_mb()
    done = asyncio.Event()

    async def poll() -> None:
        nonlocal highest
        while not done.is_set():
            started = time.perf_counter()
            r = await client.get("/healthz")
            assert r.status_code == 200
            latencies.append(time.perf_counter() - started)
            highest = max(highest, rss_mb())
            await asyncio.sleep(0.02)

    poller = asyncio.create_task(poll())
    await asyncio.sleep(0.05)
    try:
        response = await request
    finally:
        done.set()
        await poller
    return response, latencies, highest


BOMBS = {
    "value in column XFD": (lambda: hostile.far_cell("XFD", 1), "roster.xlsx", 422),
    "value in row 1048576": (lambda: hostile.far_cell("A", 1_048_576), "roster.xlsx", 422),
    "shared-string zip bomb": (hostile.shared_string_bomb, "roster.xlsx", 413),
    "a million shared strings": (hostile.many_shared_strings, "roster.xlsx", 413),
    "sizes that lie": (hostile.lying_sizes, "roster.xlsx", 422),
    "two million CSV fields": (hostile.wide_csv, "roster.csv", 422),
    "quote-hopping CSV": (hostile.quote_hopping_csv, "roster.csv", 422),
    "CSV field over 131,072 chars": (lambda: ("身份证号,姓名,班级\n1," + "长" * 140_000 + ",x\n").encode(),
                                     "roster.csv", 422),
    "not a zip": (lambda: b"PK\x03\x04" + b"\x00" * 1000, "roster.xlsx", 422),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
async def test_a_bomb_is_refused_while_healthz_answers_and_memory_stays(registry, bomb):
    build, filename, status = BOMBS[bomb]
    klass = await school_with_class(registry)
    content = build()
    before, peak_before = rss_mb(), peak_mb()
    upload = registry.post("/v1/students/imports", data={"school_code": klass["school_code"]},
                           files={"file": (filename, content)})
    r, latencies, highest = await while_polling_healthz(registry, upload)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(e["pointer"].startswith(("/file", "/rows/")) for e in r.json()["errors"]), r.json()
    assert latencies and max(latencies) < HEALTHZ_BOUND_S, latencies
    assert highest - before < RSS_BOUND_MB and peak_mb() - peak_before < RSS_BOUND_MB, (before, highest, peak_mb())


async def test_a_huge_dimension_claim_is_ignored_and_the_real_rows_import_off_the_event_loop(registry):
    """<dimension ref="A1:XFD1048576"/> over 999 real rows: openpyxl is asked for the extent
    measured, the rows import, and /healthz answers while they are parsed."""
    klass = await school_with_class(registry)
    rows = [HEAD] + [[compose("410122", date(2013, 4, 1), i), f"学生{i}", klass["name"]] for i in range(1, 1_000)]
    content = hostile.huge_dimension(rows)
    before = rss_mb()
    upload = registry.post("/v1/students/imports", params={"dry_run": "true"},
                           data={"school_code": klass["school_code"]}, files={"file": ("roster.xlsx", content)})
    r, latencies, highest = await while_polling_healthz(registry, upload)
    assert r.status_code == 200, r.text
    assert (r.json()["rows"], r.json()["valid"]) == (999, 999)
    assert len(latencies) >= 2 and max(latencies) < HEALTHZ_BOUND_S, latencies
    assert highest - before < RSS_BOUND_MB


async def test_the_population_check_reads_through_the_same_guard(registry):
    await school_with_class(registry)
    r = await registry.post("/v1/population-checks", data={"region_code": "410122"},
                            files={"file": ("households.xlsx", hostile.shared_string_bomb())})
    assert r.status_code == 413, r.text
    assert r.json()["errors"][0]["pointer"] == "/file"


async def test_the_scope_is_checked_before_the_file_is_read(registry):
    """Another school's code, or a region out of scope, is a 404 whatever the file: a broken
    file answers 404, not 422, because nobody parsed it."""
    klass = await school_with_class(registry)
    other = bearer("school_staff", "4101229999")
    r = await registry.post("/v1/students/imports", headers=other, data={"school_code": klass["school_code"]},
                            files={"file": ("roster.xlsx", b"PK\x03\x04 not a workbook")})
    assert r.status_code == 404, r.text
    r = await registry.post("/v1/population-checks", headers=bearer("county_official", "410199"),
                            data={"region_code": "410122"}, files={"file": ("h.xlsx", b"PK\x03\x04 broken")})
    assert r.status_code == 404, r.text
