"""Fixtures for the MCP services' data layer: each database is loaded once per test session.

Loading 10,000 listings and 66,000 sales takes about a second, so the engines are
session-scoped SQLite files under pytest's temporary directory; tests open their own sessions
and must not write. Test modules use them through
`pytest_plugins = ["tests.support.service_fixtures"]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.mcp.dataset import DATA_DIR, install_sessions, make_engine, read_jsonl
from mcp_analytics import data as analytics_data
from mcp_listings import data as listings_data


@pytest.fixture(scope="session")
def dataset() -> dict[str, list[dict]]:
    """The bundled files as plain records: what the services' answers are checked against."""
    return {
        "cities": json.loads((DATA_DIR / "cities.json").read_text()),
        "listings": list(read_jsonl("listings.jsonl.gz")),
        "sales": list(read_jsonl("sales.jsonl.gz")),
        "engagement": list(read_jsonl("engagement.jsonl.gz")),
    }


@pytest.fixture(scope="session")
def listings_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('listings') / 'listings.db'}")
    listings_data.ensure_loaded(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def analytics_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('analytics') / 'analytics.db'}")
    analytics_data.ensure_loaded(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def listings_db(listings_engine: Engine) -> Iterator[Session]:
    with Session(listings_engine) as db:
        yield db


@pytest.fixture
def analytics_db(analytics_engine: Engine) -> Iterator[Session]:
    with Session(analytics_engine) as db:
        yield db


@pytest.fixture
def listings_app(listings_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """A bare Flask app whose tools read the loaded listings database (no MCP, no auth);
    reports go to an outbox under `tmp_path`, whatever SMTP_URL the shell has."""
    monkeypatch.delenv("SMTP_URL", raising=False)
    app = Flask("listings-tools-test")
    app.config.update(OUTBOX_DIR=str(tmp_path / "outbox"), SMTP_URL="")
    install_sessions(app, listings_engine)
    return app


@pytest.fixture
def analytics_app(analytics_engine: Engine) -> Flask:
    app = Flask("analytics-tools-test")
    install_sessions(app, analytics_engine)
    return app
