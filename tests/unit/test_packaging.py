"""Every package in the tree is in pyproject's package list, so a wheel (not only an editable
install, which finds subpackages through the directory mapping) carries each module the services
import: a package missing from the list fails only where the image is built without -e."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_directory_is_listed():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = set()
    for top, folder in setuptools["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            on_disk.add(".".join([top, *init.parent.relative_to(base).parts]))
    assert sorted(on_disk - set(setuptools["packages"])) == []
    assert sorted(set(setuptools["packages"]) - on_disk) == []
