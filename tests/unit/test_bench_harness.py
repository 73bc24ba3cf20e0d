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


def test_the_cpu_ledger_puts_a_windows_cpu_on_the_process_that_spent_it():
    ledger = harness.CpuLedger({"this test": os.getpid()}, databases=["no_such_bench_db"])
    ledger.start()
    spent_here = harness.cpu_seconds(os.getpid()) + 0.05
    while harness.cpu_seconds(os.getpid()) < spent_here:  # spin until the kernel counts 50 ms more
        pass
    spent = ledger.stop()
    assert spent["this test"] >= 0.04
    assert spent["PostgreSQL: the bench's databases"] == 0  # no backend of that database
    assert spent["machine (all cores)"] >= spent["this test"] - 0.02  # ticks are counted apart
    assert spent["other load on the machine"] >= 0


def test_the_bench_client_reads_sized_and_chunked_answers_on_one_connection():
    import asyncio

    from bench.keepalive import KeepAlive

    async def main() -> list[tuple[int, bytes]]:
        connections = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(writer)
            for answer in (b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
                           b"HTTP/1.1 422 Unprocessable\r\ntransfer-encoding: chunked\r\n\r\n3\r\nbad\r\n1\r\n!\r\n0\r\n\r\n"):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
                await reader.readexactly(length)
                writer.write(answer)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, KeepAlive(f"http://127.0.0.1:{port}", {"X-Test": "1"}) as http:
            answers = [await http.post("/a", b"{}"), await http.post("/b", b"[1]")]
        assert len(connections) == 1
        return answers

    assert asyncio.run(main()) == [(201, b"ok"), (422, b"bad!")]
