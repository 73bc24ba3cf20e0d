"""`BAOXUE_HTTP_WORKERS=2`: the service runs as two processes on one port (one process uses one
core), both answering; SIGTERM stops them all. A real `python -m attendance serve`."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from devtools.stack import Stack, free_port


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawns them; a resource tracker may sit beside)."""
    return [c for c in _children(pid)
            if "spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes().replace(b"\0", b" ").decode()]


def test_two_workers_serve_one_port_and_stop_together(tmp_path):
    port = free_port()
    stack = Stack(tmp_path, "127.0.0.1:1", ports={"attendance": port},
                  env={"BAOXUE_HTTP_WORKERS": "2", "BAOXUE_LOG_LEVEL": "WARNING"})
    stack.migrate("attendance")
    stack.start("attendance")
    proc = stack.procs["attendance"]
    log = tmp_path / "log" / "attendance.log"
    try:
        deadline = time.monotonic() + 60
        while len(_workers(proc.pid)) < 2 or not _answers(port):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"workers {_workers(proc.pid)}; " + log.read_text()
            time.sleep(0.2)
        workers = _workers(proc.pid)
        assert len(workers) == 2
        with httpx.Client(base_url=stack.url("attendance")) as http:
            assert all(http.get("/healthz").status_code == 200 for _ in range(20))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not any(_alive(w) for w in workers)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    """Not a zombie: a finished child of the (finished) supervisor may linger as one briefly."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
