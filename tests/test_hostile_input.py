"""Input no endpoint may choke on (CONTRACT.md 6.1): control characters, deep JSON, huge bodies.

Each case answers in the contract's error shape, on SQLite and on PostgreSQL (whose `text`
cannot hold NUL, so an unchecked NUL there was a 500).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.chat.replies import ChatBody
from app.errors import ApiError
from app.validation import parse_body
from tests.conftest import AuthActions, csrf_token, make_app
from tests.support.assertions import assert_error

NESTED = "[" * 50_000 + "]" * 50_000


def field_error(response: Any, field: str) -> None:
    error = assert_error(response, 400, "invalid_request")
    assert field in error["fields"], error


@pytest.fixture
def bearer(auth: AuthActions) -> dict[str, str]:
    return auth.headers()


def test_control_characters_in_auth_bodies_are_400_naming_the_field(client: FlaskClient) -> None:
    login = client.post("/auth/login", json={"email": "a@example.com\u0000", "password": "x" * 9})
    field_error(login, "email")
    signup = client.post(
        "/auth/signup",
        json={"email": "new@example.com", "password": "x" * 9, "name": "Ann\u0000"},
    )
    field_error(signup, "name")
    signup_email = client.post(
        "/auth/signup", json={"email": "n\u0007ew@example.com", "password": "x" * 9}
    )
    field_error(signup_email, "email")


def test_control_characters_in_the_html_forms_are_shown_not_stored(client: FlaskClient) -> None:
    token = csrf_token(client, "/auth/signup")
    form = {
        "email": "form@example.com",
        "password": "x" * 9,
        "name": "A\u0000",
        "csrf_token": token,
    }
    signup = client.post("/auth/signup", data=form, headers={"Accept": "text/html"})
    assert signup.status_code == 400 and "control characters" in signup.get_data(as_text=True)
    form = {"email": "a@example.com\u0000", "password": "x" * 9, "csrf_token": token}
    login = client.post("/auth/login", data=form, headers={"Accept": "text/html"})
    assert login.status_code == 400 and "control characters" in login.get_data(as_text=True)


def test_control_characters_in_api_bodies_are_400_naming_the_field(
    client: FlaskClient, bearer: dict[str, str]
) -> None:
    token = client.post("/auth/tokens", json={"name": "lap\u0000top"}, headers=bearer)
    field_error(token, "name")
    chat = client.post("/agents/chat-stream", json={"message": "hi\u0000"}, headers=bearer)
    field_error(chat, "message")
    alias = client.post("/agents/streams", json={"userMessage": "a\u001bb"}, headers=bearer)
    field_error(alias, "userMessage")
    conversation = client.post(
        "/agents/chat-stream",
        json={"message": "hi", "conversation_id": "abc\u0000def"},
        headers=bearer,
    )
    field_error(conversation, "conversation_id")


def test_rename_refuses_control_characters_and_blank_titles(
    app: Flask, client: FlaskClient, bearer: dict[str, str]
) -> None:
    from app.extensions import db
    from app.models import Conversation, User

    with app.app_context():
        user = db.session.query(User).one()
        conversation = Conversation(user_id=user.id, title="Before")
        db.session.add(conversation)
        db.session.commit()
        path = f"/agents/conversations/{conversation.id}"
    field_error(client.patch(path, json={"title": "a\u0000b"}, headers=bearer), "title")
    field_error(client.patch(path, json={"title": "   "}, headers=bearer), "title")
    assert client.get(path, headers=bearer).get_json()["conversation"]["title"] == "Before"
    renamed = client.patch(path, json={"title": "  Homes in Boise  "}, headers=bearer)
    assert renamed.get_json()["conversation"]["title"] == "Homes in Boise"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/agents/conversations/abc%00def"),
        ("PATCH", "/agents/conversations/abc%00def"),
        ("DELETE", "/agents/conversations/abc%00def"),
        ("GET", "/agents/streams/abc%00def"),
        ("POST", "/agents/streams/abc%00def/cancel"),
        ("GET", "/agents/conversations/" + "a" * 5000),
    ],
)
def test_malformed_path_ids_are_404(
    client: FlaskClient, bearer: dict[str, str], method: str, path: str
) -> None:
    response = client.open(path, method=method, json={"title": "x"}, headers=bearer)
    assert_error(response, 404, "not_found")


def test_tab_and_newline_are_text_in_a_chat_message(app: Flask) -> None:
    """Only multi-line fields take them; a Windows line end is a newline."""
    body = {"message": "Two homes:\r\n\tone\n\ttwo", "conversation_id": None}
    with app.test_request_context("/", method="POST", json=body):
        assert parse_body(ChatBody).message == "Two homes:\n\tone\n\ttwo"
    lone_cr = app.test_request_context("/", method="POST", json={"message": "a\rb"})
    with lone_cr, pytest.raises(ApiError) as refused:
        parse_body(ChatBody)
    assert refused.value.fields == {"message": "must not contain control characters"}


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signup", "/agents/chat-stream"])
def test_deeply_nested_json_is_400(client: FlaskClient, bearer: dict[str, str], path: str) -> None:
    response = client.post(path, data=NESTED, content_type="application/json", headers=bearer)
    assert_error(response, 400, "invalid_request")
    modest = "[" * 40 + "]" * 40  # parses, but deeper than any body the API takes
    body = '{"message": ' + modest + "}"
    response = client.post(path, data=body, content_type="application/json", headers=bearer)
    assert_error(response, 400, "invalid_request")


def test_a_body_over_the_limit_is_413_with_or_without_content_length(
    tmp_path: Any, database_url: str
) -> None:
    app = next(make_app(tmp_path, database_url, MAX_CONTENT_LENGTH=1024 * 1024))
    client = app.test_client()
    big = b'{"email": "' + b"a" * (1536 * 1024) + b'"}'
    announced = client.post("/auth/login", data=big, content_type="application/json")
    assert_error(announced, 413, "payload_too_large")
    chunked = client.post(
        "/auth/login",
        input_stream=io.BytesIO(big),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(chunked, 413, "payload_too_large")
