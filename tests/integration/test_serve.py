"""`make run`'s supervisor, `scripts/serve`, run for real: three gunicorn masters on free ports.

Started the way a script starts it (a background job of a non-interactive bash, so with SIGINT
ignored on entry), after the same `flask --app wsgi setup` that `make run` runs first; the
MCP services load their bundled dataset when they start. The supervisor's own output says which
pid each service has, so the test kills exactly the listings master.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port
from tests.support.live import ROOT
from tests.support.processes import FOREIGN_SETTINGS, parent_of

SERVICES = ("app", "listings", "analytics")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)


def health(url: str) -> int | None:
    """The status of GET /health, or None when nothing answers."""
    try:
        return requests.get(f"{url}/health", timeout=3).status_code
    except requests.RequestException:
        return None


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def processes() -> dict[int, str]:
    """Every process's command line, its arguments joined by spaces."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                )
            except OSError:  # gone meanwhile
                continue
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Serve:
    """A running `scripts/serve` and what it has printed so far."""

    shell: subprocess.Popen[bytes]
    ports: dict[str, int]
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def read_output(self) -> None:
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.shell.stdout is not None
        for raw in self.shell.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def output_closed(self, timeout: float) -> bool:
        """True once every process that shares the output (all of them) has exited."""
        assert self.reader is not None
        self.reader.join(timeout)
        return not self.reader.is_alive()

    def gunicorns(self, name: str) -> list[int]:
        """Every gunicorn process (master or worker) bound to `name`'s port."""
        bind = f"--bind 127.0.0.1:{self.ports[name]} "
        return [pid for pid, argv in processes().items() if "gunicorn" in argv and bind in argv]

    def master(self, name: str) -> int | None:
        """The gunicorn master serving `name`: the supervisor's child bound to its port."""
        masters = [pid for pid in self.gunicorns(name) if parent_of(pid) == self.pid]
        return masters[0] if len(masters) == 1 else None

    @property
    def pid(self) -> int | None:
        """The supervisor's pid, as the shell that started it in the background printed it."""
        found = [line for line in list(self.lines) if line.startswith("serve-pid ")]
        return int(found[0].split()[1]) if found else None


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    ports = {name: free_port() for name in SERVICES}
    env = {key: value for key, value in os.environ.items() if key not in FOREIGN_SETTINGS}
    env.update(
        INSTANCE_PATH=str(tmp_path / "instance"),
        PORT=str(ports["app"]),
        MCP_LISTINGS_PORT=str(ports["listings"]),
        MCP_ANALYTICS_PORT=str(ports["analytics"]),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "setup"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    # gunicorn.conf.py makes each master's metrics directory under this one (not under /tmp).
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    # `serve &` in a script: the job starts with SIGINT ignored. A process group of its own
    # keeps whatever it signals away from pytest's.
    shell = subprocess.Popen(
        [
            "bash",
            "-c",
            '"$@" & echo "serve-pid $!"; wait $!',
            "bash",
            sys.executable,
            "scripts/serve",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,
    )
    running = Serve(shell, ports)
    running.read_output()
    try:
        wait_for(
            lambda: all(health(running.url(name)) == 200 for name in SERVICES),
            timeout=90,
            what="all three answering /health",
        )
        yield running
    finally:
        if shell.poll() is None and running.pid is not None:
            os.kill(running.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                shell.wait(timeout=30)
        # Whatever is left (a failed test, or a supervisor that left its children behind).
        if group_alive(shell.pid):
            os.killpg(shell.pid, signal.SIGKILL)
        for pid in [pid for name in SERVICES for pid in running.gunicorns(name)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shell.wait(timeout=10)
        running.output_closed(timeout=10)


def test_killed_service_is_restarted_while_the_others_keep_serving(serve: Serve) -> None:
    first, app, analytics = (serve.master(name) for name in ("listings", "app", "analytics"))
    assert first and app and analytics
    os.kill(first, signal.SIGKILL)

    def listings_back() -> bool:
        # The main app and analytics answer all along; listings comes back as a new master.
        assert health(serve.url("app")) == 200
        assert health(serve.url("analytics")) == 200
        if serve.master("listings") in (None, first) or health(serve.url("listings")) != 200:
            return False
        app_view = requests.get(f"{serve.url('app')}/health", timeout=3).json()
        return app_view["mcp_services"]["listings"] == "ok"

    wait_for(listings_back, timeout=60, what="listings restarted")
    assert (serve.master("app"), serve.master("analytics")) == (app, analytics)
    assert any(
        line.startswith(f"serve: listings (pid {first}) killed by SIGKILL")
        and "restarting in 1 s" in line
        for line in serve.lines
    ), serve.lines


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_to_serve_stops_all_three(serve: Serve, signum: signal.Signals) -> None:
    assert all(serve.master(name) for name in SERVICES)
    assert serve.pid is not None
    os.kill(serve.pid, signum)
    # The output closes when the last process writing to it (supervisor, masters, workers) ends.
    assert serve.output_closed(timeout=60), serve.lines[-20:]
    assert serve.shell.wait(timeout=10) == 0  # and the script that started it is unharmed
    assert not any(listening(port) for port in serve.ports.values())
    assert not any(serve.gunicorns(name) for name in SERVICES)
    assert "serve: stopped" in serve.lines
