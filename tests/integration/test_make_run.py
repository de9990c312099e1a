"""`make run` itself, as the README tells a new user to start it, on ports of the test's own:
its output fits one screen, and SIGTERM to the `make` process (what `kill $!` sends a
background run) stops all three processes. (The supervisor's restarts and signals in detail:
test_serve.py.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import requests

from tests.conftest import free_port
from tests.support.live import ROOT
from tests.support.processes import FOREIGN_SETTINGS

SCREEN_LINES = 24


def answering(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_fits_a_screen_and_sigterm_to_make_stops_all_three(tmp_path: Path) -> None:
    ports = {"PORT": free_port(), "MCP_LISTINGS_PORT": free_port(), "MCP_ANALYTICS_PORT": 0}
    ports["MCP_ANALYTICS_PORT"] = free_port()
    env = {key: value for key, value in os.environ.items() if key not in FOREIGN_SETTINGS}
    env.update({name: str(port) for name, port in ports.items()})
    env.update(
        INSTANCE_PATH=str(tmp_path / "instance"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        MCP_LISTINGS_DATABASE_URL=f"sqlite:///{tmp_path / 'listings.db'}",
        MCP_ANALYTICS_DATABASE_URL=f"sqlite:///{tmp_path / 'analytics.db'}",
        PASSWORD_HASH_PROFILE="fast",
    )
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # like a script's background job: no terminal, its own group
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(raw.decode().rstrip("\n") for raw in make.stdout or []),
        daemon=True,
    )
    reader.start()
    urls = [f"http://127.0.0.1:{port}" for port in ports.values()]
    try:
        deadline = time.monotonic() + 90
        while not all(answering(url) for url in urls):
            assert make.poll() is None, "\n".join(lines)
            assert time.monotonic() < deadline, "\n".join(lines)
            time.sleep(0.2)

        make.send_signal(signal.SIGTERM)  # to make alone, not to its group
        make.wait(timeout=40)
        reader.join(timeout=40)  # the output closes once every process sharing it is gone
        assert not reader.is_alive(), "a process of make run outlived it"
        assert not any(listening(port) for port in ports.values())
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    text = "\n".join(lines)
    own = [line for line in lines if '.access"' not in line]  # not the test's /health polls
    assert len(own) <= SCREEN_LINES, text
    assert f"open http://127.0.0.1:{ports['PORT']}/" in text
    assert "setup plugin" not in text and "Booting worker" not in text
    assert "serve: stopped" in text
