"""The repository explains itself: no code, comment or document points at files outside it.

The team's working notes live beside the checkout, not in it; a maintainer who clones the
repository has only what is here, so a reference to them is a dead link."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT

OUTSIDE = ("../shared/",)


def test_no_tracked_file_points_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in tracked:
        path = ROOT / name
        if name == "tests/unit/test_self_contained.py" or path.suffix in {".png", ".xlsx", ".docx", ".pdf", ".ttf"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        offenders += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if any(o in line for o in OUTSIDE)]
    assert offenders == []
