"""Write each service's OpenAPI document to a file, with nothing running:
python -m devtools.openapi [--out var/openapi]

The documents are what a front-end team generates its typed client from (README, "A typed
client"). They depend on the routes only, so no database, broker or key is needed.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from devtools.stack import ROOT, SERVICES


def document(service: str) -> dict:
    settings = getattr(importlib.import_module(f"{service}.settings"), f"{service.capitalize()}Settings")(
        environment="development", database_url="sqlite+aiosqlite://", log_level="ERROR")
    return importlib.import_module(f"{service}.bootstrap").create_app(settings).openapi()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "openapi")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        path = args.out / f"{service}.json"
        path.write_text(json.dumps(document(service), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
