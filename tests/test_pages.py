"""The server-rendered pages around the chat: what the header says and who may see the pages."""

from __future__ import annotations

import re
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


CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
}
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|<style|\son[a-z]+=", re.IGNORECASE)


def assert_page_headers(response: Any) -> None:
    """An HTML page: nosniff, a CSP that allows no inline script and no framing, and more."""
    assert response.mimetype == "text/html"
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in headers["Content-Security-Policy"].split(";")
    )
    for directive, value in CSP_DIRECTIVES.items():
        assert policy[directive] == value, directive
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_pages_forbid_framing_and_inline_script(client: FlaskClient, auth: AuthActions) -> None:
    html = {"Accept": "text/html"}
    login = client.get("/auth/login", headers=html)
    assert_page_headers(login)
    auth.signup()
    auth.browser_login()
    for path in ("/", "/tokens"):
        page = client.get(path, headers=html)
        assert page.status_code == 200
        assert_page_headers(page)
        assert not INLINE.search(page.get_data(as_text=True)), path
    missing = client.get("/no-such-page", headers=html)
    assert missing.status_code == 404
    assert_page_headers(missing)


def test_json_and_static_responses_say_nosniff(client: FlaskClient) -> None:
    responses = {
        "health": client.get("/health"),
        "error": client.get("/auth/me"),  # 401 in the error shape
        "not found": client.get("/agents/conversations/nope"),
        "script": client.get("/static/js/chat.js"),
    }
    for name, response in responses.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
    assert responses["error"].status_code == 401
    assert responses["script"].status_code == 200  # a real script, not a 404 page
    assert responses["error"].get_json()["error"]["code"]
