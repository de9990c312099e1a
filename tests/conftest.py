"""Shared fixtures: an app per test on SQLite and again on PostgreSQL, clients, auth helpers.

Database tests are parametrised over `sqlite` and `postgresql`. PostgreSQL runs need
`TEST_DATABASE_URL`; without it they are skipped with that reason, and with it they must
reach the server (CI sets it, so an unreachable server fails rather than skips). Likewise
`TEST_REDIS_URL` for the Redis-backed parts.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from app.settings import sqlalchemy_url
from tests.support.llm_server import ScriptedLLM

PG_SCHEMA = "app_tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_url(schema: str) -> str:
    """A fresh, empty schema on the test PostgreSQL, as a URL whose search_path is it.

    `TEST_PG_SCHEMA_SUFFIX` keeps two checkouts' suites that share one server apart.
    """
    raw = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not raw:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL runs skipped")
    schema += os.environ.get("TEST_PG_SCHEMA_SUFFIX", "")
    base = sqlalchemy_url(raw)
    engine = sa.create_engine(base)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {error}")
    finally:
        engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


def redis_test_url() -> str:
    """The test Redis (skip without TEST_REDIS_URL; fail if set but unreachable)."""
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: Redis runs skipped")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:
        pytest.fail(f"TEST_REDIS_URL is set but Redis is unreachable: {error}")
    return url


def delete_redis_keys(url: str, prefix: str) -> None:
    """Remove what a test left under its key prefix (streams would expire; counters would not)."""
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    """The scripted OpenAI-compatible server, one per test module (its live servers point at it)."""
    server = ScriptedLLM().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url() -> str:
    """The test Redis, flushed of nothing: tests use unique key prefixes."""
    return redis_test_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return postgres_url(PG_SCHEMA)


def app_config(tmp_path: Any, database_url: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret",
        "JWT_PRIVATE_KEY_PATH": str(tmp_path / "instance" / "jwt-signing-key.pem"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PASSWORD_HASH_PROFILE": "fast",
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        "LLM_MODE": "offline",
    }
    config.update(overrides)
    return config


def make_app(tmp_path: Any, database_url: str, **overrides: Any) -> Iterator[Flask]:
    app = create_app(app_config(tmp_path, database_url, **overrides))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(tmp_path: Any, database_url: str) -> Iterator[Flask]:
    yield from make_app(tmp_path, database_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/auth/login") -> str:
    """The CSRF token a page gives this client's session."""
    page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    """Signing up and logging in, through the JSON API or the HTML forms."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def signup(
        self, email: str = "user@example.com", password: str = "securepassword123", name: str = ""
    ) -> str:
        response = self.client.post(
            "/auth/signup", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["access_token"]

    def headers(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.signup(**kwargs)}"}

    def browser_login(
        self, email: str = "user@example.com", password: str = "securepassword123"
    ) -> str:
        """Log in through the form; returns the session's CSRF token for later writes."""
        token = csrf_token(self.client)
        response = self.client.post(
            "/auth/login", data={"email": email, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return csrf_token(self.client, "/")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
