"""How long a school's 10,000-row spreadsheet takes to import, end to end over HTTP.

    python -m bench.registry_import [--rows 10000] [--backend sqlite|postgresql|both]

The registry app runs in-process behind an ASGI client (no network in the figure), on a fresh
database migrated for the run; the file is a CSV with Chinese headings, and every row is checked
and written with its outbox event, as in production. PostgreSQL is used when 127.0.0.1:5432
answers (user postgres, trust auth), with a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

from bench.harness import SECRET, database, drop, report, token
from registry.bootstrap import create_app
from registry.domain.national_id import compose
from registry.settings import RegistrySettings
from shared.migrations import upgrade

ROOT = Path(__file__).resolve().parents[1]
ORGS = [("410000", "河南省", "province", None), ("410100", "郑州市", "city", "410000"),
        ("410122", "中牟县", "county", "410100"), ("410122100", "城关镇", "township", "410122"),
        ("4101221001", "城关镇第一初级中学", "school", "410122100")]


def sheet(rows: int, class_names: list[str]) -> bytes:
    lines = ["身份证号,姓名,性别,出生日期,班级,监护人,联系电话,关注类型"]
    for i in range(rows):
        born = date(2012, 9, 1) + timedelta(days=i // 500)
        nid = compose("410122", born, (i % 500) * 2 + 1)
        lines.append(f"{nid},学生{i},男,{born},{class_names[i % len(class_names)]},家长{i},138{i:08d},"
                     + ("留守儿童" if i % 7 == 0 else ""))
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


async def run(url: str, rows: int) -> dict[str, float]:
    await asyncio.to_thread(upgrade, ROOT / "services" / "registry", url)
    settings = RegistrySettings(database_url=url, kafka_bootstrap="127.0.0.1:1", jwt_secret=SECRET,
                                environment="test", writes_per_minute=100_000, request_timeout_s=600)
    app = create_app(settings)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # after create_app configured logging
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry",
                                     headers={"Authorization": f"Bearer {token()}"}, timeout=600) as client:
            for code, name, kind, parent in ORGS:
                (await client.post("/v1/orgs", json={"code": code, "name": name, "kind": kind,
                                                     "parent_code": parent})).raise_for_status()
            names = [f"七年级({n})班" for n in range(1, 21)]
            for name in names:
                (await client.post("/v1/schools/4101221001/classes", json={"grade": 7, "name": name})).raise_for_status()
            content = sheet(rows, names)
            started = time.perf_counter()
            r = await client.post("/v1/students/imports", data={"school_code": "4101221001"},
                                  files={"file": ("students.csv", content)})
            elapsed = time.perf_counter() - started
            r.raise_for_status()
            assert r.json()["imported"] == rows, r.text[:300]
            return {"seconds": elapsed, "rows_per_s": rows / elapsed, "mb": len(content) / 1e6}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    # No broker in this figure: the relay's "unavailable" retries are expected, not news.
    os.environ.setdefault("BAOXUE_LOG_LEVEL", "ERROR")
    figures: dict[str, object] = {"rows": args.rows}
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        with tempfile.TemporaryDirectory() as tmp:
            url, name = await database(backend, Path(tmp), "registry")
            try:
                f = await run(url, args.rows)
            finally:
                if name:
                    await drop(name)
        figures.update({f"{backend}: import (s)": f["seconds"], f"{backend}: rows/s": f["rows_per_s"]})
    figures["CSV size (MB)"] = f["mb"]
    figures["peak RSS of the process (MiB)"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    report(f"Bulk import of a school's {args.rows:,}-row spreadsheet over HTTP (registry in-process)", figures)

if __name__ == "__main__":
    asyncio.run(main())
