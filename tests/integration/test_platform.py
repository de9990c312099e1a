"""The pieces around the app: migrations, CLI, and gunicorn with its gevent worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models import User
from tests.conftest import app_config, free_port
from tests.support.live import wait_until_up

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_build_exactly_the_models(tmp_path: Any, database_url: str) -> None:
    app = create_app(app_config(tmp_path, database_url))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()


def test_create_user_command(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "cli@example.com", "--name", "Cli", "--password", "longenough1"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "cli@example.com"))
        assert user is not None and user.name == "Cli"


def test_create_user_command_refuses_short_password(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "cli@example.com", "--password", "short"]
    )
    assert result.exit_code != 0


def test_gunicorn_gevent_serves_pages_and_signup(tmp_path: Any) -> None:
    """The way `make run` starts the app: gunicorn.conf.py, gevent worker, real socket."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PASSWORD_HASH_PROFILE": "fast",
    }
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "setup"], cwd=ROOT, env=env, check=True
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health", server)
        assert "Log in" in requests.get(f"{base}/auth/login", timeout=5).text
        signup = requests.post(
            f"{base}/auth/signup",
            json={"email": "g@example.com", "password": "securepassword123"},
            timeout=5,
        )
        assert signup.status_code == 201
        token = signup.json()["access_token"]
        me = requests.get(
            f"{base}/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert me.json()["user"]["email"] == "g@example.com"
        assert (tmp_path / "instance" / "jwt-signing-key.pem").exists()
    finally:
        server.terminate()
        server.wait(timeout=15)
