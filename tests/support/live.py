"""Running the real processes for integration tests: gunicorn with gevent on loopback.

`LiveServer` starts a process the way `make run` does and waits until it answers; `SseClient`
reads a real event stream incrementally from a real socket, so tests see events as they come.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.conftest import PG_SCHEMA, free_port, postgres_url
from tests.support.llm_server import ScriptedLLM

ROOT = Path(__file__).resolve().parents[2]


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll until the server answers (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:  # refused, or accepted before the worker booted
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout}s")


class LiveServer:
    """One gunicorn process (gevent worker) serving `target` on a free loopback port."""

    def __init__(
        self,
        target: str,
        env: dict[str, str],
        port: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "PORT": str(self.port)}
        self.target = target
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, health_path: str = "/health") -> LiveServer:
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.target],
            cwd=ROOT,
            env=self.env,
            stderr=log,
        )
        wait_until_up(self.url + health_path, self.process)
        return self

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "setup"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def app_env(tmp_path: Any, database: str, llm: ScriptedLLM, **extra: str) -> dict[str, str]:
    """The environment of a main app that talks to the scripted `llm`, with MCP ports closed."""
    database_url = (
        f"sqlite:///{tmp_path}/app.db"
        if database == "sqlite"
        else postgres_url(PG_SCHEMA + "_live")
    )
    env = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_PROFILE": "fast",
        "RATELIMIT_ENABLED": "0",
        "LLM_MODE": "openai",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": llm.base_url,
        "LLM_MODEL": "scripted-model",
        "LLM_MAX_RETRIES": "0",
        "LLM_TIMEOUT": "3",
        "MCP_LISTINGS_URL": f"http://127.0.0.1:{free_port()}/mcp",
        "MCP_ANALYTICS_URL": f"http://127.0.0.1:{free_port()}/mcp",
        "MCP_TIMEOUT": "2",
        "SSE_KEEPALIVE": "1",
        "SSE_DETACH_GRACE": "2",
        "SSE_TIMEOUT": "30",
    }
    env.update(extra)
    return env


def start_app(env: dict[str, str], log_path: Path | None = None) -> LiveServer:
    """Migrate the app's database, then serve it under gunicorn until it answers."""
    migrate(env)
    port = int(env["PORT"]) if "PORT" in env else None
    return LiveServer("wsgi:app", env, port=port, log_path=log_path).start()


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: dict[str, Any]


class SseStream:
    """An open event stream read line by line as bytes arrive."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.comments: list[str] = []
        self.retry: int | None = None
        self._chunks = response.iter_content(chunk_size=None)
        self._buffer = ""

    def _lines(self) -> Iterator[str]:
        while True:
            while "\n" in self._buffer:
                line, self._buffer = self._buffer.split("\n", 1)
                yield line
            try:
                self._buffer += next(self._chunks).decode()
            except StopIteration:
                return

    def __iter__(self) -> Iterator[SseEvent]:
        fields: dict[str, str] = {}
        for line in self._lines():
            if line == "":
                if "event" in fields or "data" in fields:
                    yield SseEvent(
                        fields.get("id"), fields.get("event", "message"), json.loads(fields["data"])
                    )
                fields = {}
            elif line.startswith(":"):
                self.comments.append(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "retry":
                    self.retry = int(value)
                else:
                    fields[name] = value

    def take(self, count: int) -> list[SseEvent]:
        events: list[SseEvent] = []
        for event in self:
            events.append(event)
            if len(events) == count:
                break
        return events

    def until_done(self) -> list[SseEvent]:
        events: list[SseEvent] = []
        for event in self:
            events.append(event)
            if event.event == "done":
                break
        return events

    def close(self) -> None:
        self.response.close()


class ApiClient:
    """A curl-like user of the live app: a Bearer token and JSON."""

    def __init__(self, base_url: str, email: str = "user@example.com") -> None:
        self.base_url = base_url
        self.http = requests.Session()
        response = self.http.post(
            f"{base_url}/auth/signup",
            json={"email": email, "password": "securepassword123"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.post(self.base_url + path, timeout=10, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.delete(self.base_url + path, timeout=10, **kwargs)

    def open_stream(self, method: str, path: str, **kwargs: Any) -> SseStream:
        response = self.http.request(
            method, self.base_url + path, stream=True, timeout=(5, 30), **kwargs
        )
        assert response.status_code == 200, response.text
        return SseStream(response)

    def chat(self, message: str, headers: dict[str, str] | None = None, **body: Any) -> SseStream:
        return self.open_stream(
            "POST", "/agents/chat-stream", json={"message": message, **body}, headers=headers
        )


@dataclass
class Stack:
    """The three processes, wired to each other as `make run` wires them."""

    app: LiveServer
    listings: LiveServer
    analytics: LiveServer

    def stop(self) -> None:
        for server in (self.app, self.listings, self.analytics):
            server.stop()


def start_stack(tmp_path: Path, llm: ScriptedLLM, database: str = "sqlite", **extra: str) -> Stack:
    """Main app (talking to the scripted `llm`) plus both MCP services, logs under tmp_path."""
    app_port, listings_port, analytics_port = free_port(), free_port(), free_port()
    shared = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "APP_URL": f"http://127.0.0.1:{app_port}",
        "MCP_LISTINGS_URL": f"http://127.0.0.1:{listings_port}/mcp",
        "MCP_ANALYTICS_URL": f"http://127.0.0.1:{analytics_port}/mcp",
        "MCP_LISTINGS_DATABASE_URL": f"sqlite:///{tmp_path / 'listings.db'}",
        "MCP_ANALYTICS_DATABASE_URL": f"sqlite:///{tmp_path / 'analytics.db'}",
        **extra,
    }
    listings = LiveServer("mcp_listings.wsgi:app", shared, listings_port, tmp_path / "listings.log")
    analytics = LiveServer(
        "mcp_analytics.wsgi:app", shared, analytics_port, tmp_path / "analytics.log"
    )
    listings.start()
    analytics.start()
    env = {**app_env(tmp_path, database, llm), **shared}
    app = start_app({**env, "PORT": str(app_port)}, log_path=tmp_path / "app.log")
    return Stack(app=app, listings=listings, analytics=analytics)
