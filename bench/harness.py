"""What every benchmark needs, written once: the machine it ran on, rates and percentiles, a
process's peak memory, and a section appended to bench/RESULTS.md with the command that
produced it. Benchmarks print their figures; they are never timed tests."""

from __future__ import annotations

import math
import os
import platform
import shlex
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping, Sequence

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> dict[str, str]:
    """The hardware and software a figure belongs to (a figure without it means nothing)."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0-100) of the samples."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM) so far, in MiB; None if it is gone."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


@dataclass
class Stopwatch:
    started: float = field(default_factory=time.perf_counter)
    stopped: float | None = None

    @property
    def seconds(self) -> float:
        return (self.stopped or time.perf_counter()) - self.started

    def rate(self, count: int) -> float:
        return count / self.seconds if self.seconds else float("inf")


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    watch = Stopwatch()
    try:
        yield watch
    finally:
        watch.stopped = time.perf_counter()


def report(title: str, figures: Mapping[str, object], *, results: Path | None = RESULTS,
           command: str | None = None) -> str:
    """Print the figures, and append them with the machine and the command to RESULTS.md."""
    command = command or " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()
    lines = [f"## {title}", "", f"`{command}` — {when}", "",
             f"Machine: {host['cpu']}, {host['cores']} cores, {host['memory']}, {host['os']}, Python {host['python']}",
             "", "| figure | value |", "| --- | --- |",
             *(f"| {name} | {_fmt(value)} |" for name, value in figures.items()), ""]
    text = "\n".join(lines)
    print(text, flush=True)
    if results is not None:
        header = "" if results.exists() else "# Benchmark results\n\nAppended by the commands in bench/; newest last.\n\n"
        with results.open("a", encoding="utf-8") as out:
            out.write(header + text + "\n")
    return text


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
