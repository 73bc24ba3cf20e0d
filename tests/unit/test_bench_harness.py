"""The shared benchmark helpers (bench/harness.py): the arithmetic and the report they write."""

from __future__ import annotations

import os
import sys

import pytest

from bench import harness
from bench.harness import peak_rss_mib, percentile, report, stopwatch


def test_nearest_rank_percentiles():
    samples = list(range(1, 101))  # 1..100
    assert (percentile(samples, 50), percentile(samples, 99), percentile(samples, 100)) == (50, 99, 100)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_peak_memory_of_this_process_and_of_a_gone_one():
    assert peak_rss_mib(os.getpid()) > 1
    assert peak_rss_mib(2**22 + 12345) is None


def test_the_report_names_the_command_and_machine_and_appends(tmp_path):
    results = tmp_path / "RESULTS.md"
    with stopwatch() as watch:
        pass
    assert watch.seconds >= 0
    report("ingest", {"marks/s": 12345.6, "ratio": 0.42}, results=results, command="python -m bench.ingest")
    report("latency", {"p50 ms": 3}, results=results, command="python -m bench.latency")
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results")
    assert text.count("Machine: ") == 2 and "`python -m bench.ingest`" in text
    assert "| marks/s | 12,346 |" in text and "| ratio | 0.420 |" in text


def test_a_run_started_with_dash_m_is_recorded_as_typed(monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(harness.RESULTS.parent / "ingest.py"), "--replicas", "2"])
    assert harness._command_line() == "python -m bench.ingest --replicas 2"
    monkeypatch.setattr(sys, "argv", ["/tmp/probe.py", "a b"])
    assert harness._command_line() == "python /tmp/probe.py 'a b'"
