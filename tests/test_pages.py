"""The server-rendered pages around the chat: what the header says and who may see the pages."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import AuthActions, make_app


def test_chat_page_names_the_offline_assistant(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    auth.browser_login()
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Offline assistant" in page
    assert 'href="/tokens"' in page
    assert '<meta name="csrf-token"' in page


def test_chat_page_names_the_model_when_online(tmp_path: Any) -> None:
    apps = make_app(
        tmp_path,
        f"sqlite:///{tmp_path / 'app.db'}",
        LLM_MODE="openai",
        LLM_MODEL="gpt-test-mini",
        OPENAI_API_KEY="test-key",
    )
    app = next(apps)
    client = app.test_client()
    auth = AuthActions(client)
    auth.signup()
    auth.browser_login()
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Model: gpt-test-mini" in page
    assert "Offline assistant" not in page
    next(apps, None)  # the app's teardown


def test_tokens_page_needs_a_login(client: FlaskClient, auth: AuthActions) -> None:
    anonymous = client.get("/tokens", headers={"Accept": "text/html"})
    assert anonymous.status_code == 302
    assert "/auth/login" in anonymous.headers["Location"]
    auth.signup()
    auth.browser_login()
    page = client.get("/tokens", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "API tokens" in page.get_data(as_text=True)
    assert "MCP access" in page.get_data(as_text=True)
