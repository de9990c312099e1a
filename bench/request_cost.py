"""CPU per authenticated request in the Flask layer, in-process, without a server or an LLM.

The relay benchmark profiles a whole worker; this isolates what one request costs before any
reply streams, so that a change to authentication, the rate limiter, the after-request hooks or
the turn's database writes can be measured in seconds. It builds the app on a temporary SQLite
database (rate limits on, `memory://` storage, as a single-process deployment runs), creates a
user and an API token, and calls the WSGI app directly with a prepared environ (no test client,
whose request building would dominate) for:

  me      `GET /auth/me`: Bearer authentication, the after-request hooks, a small JSON body;
  start   `POST /agents/streams`: the same plus the chat limiter, body parsing and `begin_turn`
          (a new conversation each time), with the runner's `start` replaced by a no-op so no
          generation runs: what a reply costs before its streaming starts.

    .venv/bin/python -m bench.request_cost
    .venv/bin/python -m bench.request_cost --requests 2000 --rounds 5 --case start

The machine is shared: compare the best rounds of runs made one after the other.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.test import EnvironBuilder

from app import create_app
from app.auth.accounts import create_user
from app.auth.identity import issue_token
from app.extensions import db


def build_app(tmp: Path) -> tuple[Flask, str]:
    """The app on a fresh SQLite file, and a Bearer token of its one user."""
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp / "instance"),
            "SECRET_KEY": "bench-secret",
            "JWT_PRIVATE_KEY_PATH": str(tmp / "instance" / "jwt-signing-key.pem"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'app.db'}",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
            "REDIS_URL": None,
            "PASSWORD_HASH_PROFILE": "fast",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "CHAT_RATE_LIMIT": "1000000 per minute",  # counted, never reached
            "LLM_MODE": "offline",
        }
    )
    logging.getLogger("app.access").setLevel(logging.INFO)
    # Formatted and written as in production, to nowhere.
    logging.getLogger().handlers[0].stream = open(os.devnull, "w")  # noqa: SIM115
    with app.app_context():
        db.create_all()
        user = create_user("bench@example.com", "bench-password-123")
        token, _ = issue_token(user, name="bench", kind="api", expires_in=timedelta(days=1))
        db.session.commit()
    app.extensions["runner"].start = lambda info, run: None  # no generation: not measured here
    return app, token


def caller(app: Flask, method: str, path: str, token: str, body: bytes = b"") -> Callable[[], int]:
    """A function that sends one request through the WSGI app and returns its status."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "text/event-stream" if method == "POST" else "application/json",
    }
    content_type = "application/json" if body else None
    environ = EnvironBuilder(
        path, method=method, headers=headers, data=body, content_type=content_type
    ).get_environ()  # built once: building it per call would cost more than the request
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status[:] = [line]

    def call() -> int:
        env = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        result = app.wsgi_app(env, start_response)
        for _ in result:
            pass
        getattr(result, "close", lambda: None)()
        return int(status[0].split(" ", 1)[0])

    return call


def cpu_per_request(call: Callable[[], int], requests: int, expected: int) -> float:
    """µs of process CPU per request, over `requests` calls (after a short warm-up)."""
    for _ in range(50):
        assert call() == expected
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per round")
    parser.add_argument(
        "--rounds", type=int, default=10, help="rounds; the best and the median are printed"
    )
    parser.add_argument("--case", choices=["me", "start"], help="only this one (for a profiler)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, token = build_app(Path(tmp))
        cases = {
            "me": (caller(app, "GET", "/auth/me", token), 200),
            "start": (
                caller(app, "POST", "/agents/streams", token, b'{"message": "homes in Austin"}'),
                202,
            ),
        }
        for name, (call, expected) in cases.items():
            if args.case not in (None, name):
                continue
            figures = [cpu_per_request(call, args.requests, expected) for _ in range(args.rounds)]
            rounds = ", ".join(f"{f:.0f}" for f in figures)
            best, median = min(figures), statistics.median(figures)
            print(f"{name:6} best {best:5.0f}  median {median:5.0f} µs/request  (rounds: {rounds})")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
