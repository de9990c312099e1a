"""Accounts both ways: HTML forms with sessions and CSRF, JSON login with tokens."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient

from app.auth.identity import VerifiedTokens, issue_token
from app.auth.views import _account_key
from app.extensions import db
from app.models import User
from tests.conftest import AuthActions, csrf_token, make_app
from tests.support.assertions import assert_error


def test_signup_form_creates_account_and_logs_in(client: FlaskClient) -> None:
    token = csrf_token(client, "/auth/signup")
    response = client.post(
        "/auth/signup",
        data={
            "name": "Ann",
            "email": "ann@example.com",
            "password": "longenough1",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/auth/me").get_json()["user"]["email"] == "ann@example.com"


def test_signup_form_shows_field_errors_inline(client: FlaskClient) -> None:
    token = csrf_token(client, "/auth/signup")
    response = client.post(
        "/auth/signup", data={"email": "not-an-email", "password": "short", "csrf_token": token}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Invalid email address." in page
    assert "Use at least 8 characters." in page


def test_login_form_then_logout(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    csrf = auth.browser_login()
    assert client.get("/auth/me").status_code == 200
    response = client.post("/auth/logout", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert client.get("/auth/me").status_code == 401


def test_login_form_redirects_only_to_local_next(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    token = csrf_token(client)
    response = client.post(
        "/auth/login?next=//evil.example/x",
        data={"email": "user@example.com", "password": "securepassword123", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_login_form_wrong_password_shows_error(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        data={"email": "user@example.com", "password": "nope-nope", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_form_post_without_csrf_token_is_refused(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    response = client.post(
        "/auth/login", data={"email": "user@example.com", "password": "securepassword123"}
    )
    assert response.status_code == 403
    assert client.get("/auth/me").status_code == 401


def test_session_json_write_needs_csrf_header(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    csrf = auth.browser_login()
    refused = client.post("/auth/tokens", json={"name": "x"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    accepted = client.post("/auth/tokens", json={"name": "x"}, headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 201


def test_json_signup_returns_token_and_user(client: FlaskClient) -> None:
    response = client.post(
        "/auth/signup",
        json={"email": "Bob@Example.com", "password": "securepassword123", "name": "Bob"},
    )
    body = response.get_json()
    assert response.status_code == 201
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["user"]["email"] == "bob@example.com"
    assert body["user"]["name"] == "Bob"
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json()["user"]["id"] == body["user"]["id"]


def test_duplicate_email_in_another_case_is_409(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup(email="dup@example.com")
    response = client.post(
        "/auth/signup", json={"email": "DUP@Example.COM", "password": "securepassword123"}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"


def test_signup_validation_names_the_fields(client: FlaskClient) -> None:
    response = client.post("/auth/signup", json={"email": "nope", "password": "short"})
    error = response.get_json()["error"]
    assert response.status_code == 400
    assert set(error["fields"]) == {"email", "password"}


def test_unknown_email_and_wrong_password_answer_the_same(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    wrong_password = client.post(
        "/auth/login", json={"email": "user@example.com", "password": "wrong-password"}
    )
    unknown_email = client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "wrong-password"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json()


def test_login_is_case_insensitive_on_email(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup(email="case@example.com")
    response = client.post(
        "/auth/login", json={"email": "CASE@example.com", "password": "securepassword123"}
    )
    assert response.status_code == 200


def test_api_token_create_use_list_revoke(client: FlaskClient, auth: AuthActions) -> None:
    headers = auth.headers()
    created = client.post(
        "/auth/tokens", json={"name": "laptop", "expires_in_days": 7}, headers=headers
    )
    assert created.status_code == 201
    body = created.get_json()
    api_headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/auth/me", headers=api_headers).status_code == 200

    listed = client.get("/auth/tokens", headers=headers).get_json()["tokens"]
    assert [t["name"] for t in listed] == ["laptop"]
    assert "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None

    assert client.delete(f"/auth/tokens/{body['id']}", headers=headers).status_code == 204
    refused = client.get("/auth/me", headers=api_headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/auth/tokens", headers=headers).get_json()["tokens"] == []


def test_another_users_token_id_is_404(client: FlaskClient, auth: AuthActions) -> None:
    alice = auth.headers(email="alice@example.com")
    bob = auth.headers(email="bob@example.com")
    token_id = client.post("/auth/tokens", json={"name": "a"}, headers=alice).get_json()["id"]
    assert client.delete(f"/auth/tokens/{token_id}", headers=bob).status_code == 404


def test_expired_token_is_401(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    with app.test_request_context():
        user = db.session.query(User).one()
        token, _ = issue_token(user, name="old", kind="api", expires_in=timedelta(seconds=-5))
        db.session.commit()
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_tampered_token_is_401(client: FlaskClient, auth: AuthActions) -> None:
    token = auth.signup()
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload, signature[:-4] + "AAAA"])
    assert (
        client.get("/auth/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    )


def test_bearer_logout_revokes_that_token(client: FlaskClient, auth: AuthActions) -> None:
    headers = auth.headers()
    assert client.post("/auth/logout", headers=headers).status_code == 204
    assert client.get("/auth/me", headers=headers).status_code == 401


def test_jwks_verifies_issued_tokens(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    token = auth.signup()
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert len(keys) == 1
    assert {"kty", "n", "e", "kid", "alg", "use"} <= set(keys[0])
    assert "d" not in keys[0]  # never the private part
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid == keys[0]["kid"]
    public_key = jwt.PyJWK(keys[0]).key
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience=app.config["APP_URL"])
    assert claims["iss"] == app.config["APP_URL"]


def test_mcp_token_is_bound_to_one_service(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    headers = auth.headers()
    response = client.post("/auth/mcp-token", json={"service": "analytics"}, headers=headers)
    body = response.get_json()
    assert response.status_code == 201
    assert body["mcp_url"] == app.config["MCP_ANALYTICS_URL"]
    key = jwt.PyJWK(client.get("/.well-known/jwks.json").get_json()["keys"][0]).key
    claims = jwt.decode(
        body["access_token"], key, algorithms=["RS256"], audience=app.config["MCP_ANALYTICS_URL"]
    )
    assert claims["scope"] == "analytics:read"
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    me = client.get("/auth/me", headers=headers).get_json()["user"]
    assert claims["sub"] == me["id"]
    # The service token is not an API token of the main app.
    refused = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert refused.status_code == 401


def test_mcp_token_rejects_unknown_service(client: FlaskClient, auth: AuthActions) -> None:
    response = client.post("/auth/mcp-token", json={"service": "mail"}, headers=auth.headers())
    assert response.status_code == 400
    assert "service" in response.get_json()["error"]["fields"]


def test_html_page_redirects_to_login_and_api_answers_401(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/auth/login")
    api = client.get("/auth/me")
    assert api.status_code == 401
    assert api.headers["WWW-Authenticate"] == "Bearer"


def test_tokens_survive_a_signing_key_rotation(tmp_path: Path, database_url: str) -> None:
    """Rotate as the README says: the old public key moves to jwks-retired/, a new key signs."""
    key_path = tmp_path / "instance" / "jwt-signing-key.pem"
    old_app = next(make_app(tmp_path, database_url))
    old_token = AuthActions(old_app.test_client()).signup()
    retired = tmp_path / "instance" / "jwks-retired"
    retired.mkdir()
    old_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    (retired / "old.pem").write_bytes(
        old_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    key_path.unlink()  # the next start generates a new key

    new_app = next(make_app(tmp_path, database_url))
    client = new_app.test_client()
    kids = [key["kid"] for key in client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert len(kids) == 2 and jwt.get_unverified_header(old_token)["kid"] == kids[1]
    assert (
        client.get("/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 200
    )
    new_token = AuthActions(client).signup(email="new@example.com")
    assert jwt.get_unverified_header(new_token)["kid"] == kids[0]


def limited_client(tmp_path: Path, **settings: str) -> FlaskClient:
    """A client of an app with the rate limiter on (the database does not matter here)."""
    database = f"sqlite:///{tmp_path / 'app.db'}"
    app = next(make_app(tmp_path, database, RATELIMIT_ENABLED=True, **settings))
    return app.test_client()


def from_address(address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": address}


def test_signups_are_throttled_per_account_and_per_address(tmp_path: Path) -> None:
    client = limited_client(
        tmp_path, SIGNUP_RATE_LIMIT_ACCOUNT="2 per minute", SIGNUP_RATE_LIMIT_IP="3 per minute"
    )
    # One email tried from new addresses each time, in any letter case: still one account.
    statuses = [
        client.post(
            "/auth/signup",
            json={"email": email, "password": "securepassword123"},
            environ_base=from_address(f"10.0.0.{index}"),
        ).status_code
        for index, email in enumerate(["ann@example.com", "ANN@example.com", "Ann@Example.com"])
    ]
    assert statuses == [201, 409, 429]
    refused = client.post(
        "/auth/signup",
        json={"email": "ann@example.com", "password": "securepassword123"},
        environ_base=from_address("10.0.0.9"),
    )
    assert_error(refused, 429, "rate_limited")

    # Many accounts from one address: the per-address limit.
    statuses = [
        client.post(
            "/auth/signup",
            json={"email": f"user{index}@example.com", "password": "securepassword123"},
            environ_base=from_address("10.0.1.1"),
        ).status_code
        for index in range(4)
    ]
    assert statuses == [201, 201, 201, 429]


def test_limiter_reads_json_too_deep_to_parse_as_no_email(app: Flask) -> None:
    """The per-account limit reads the email before the view runs; deep JSON must not crash it."""
    nested = "[" * 50_000 + "]" * 50_000
    deep = app.test_request_context(
        "/auth/login", method="POST", data=nested, content_type="application/json"
    )
    with deep:
        deep_key = _account_key()
    with app.test_request_context("/auth/login", method="POST", json={}):
        assert deep_key == _account_key()


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signup"])
def test_retry_after_on_a_login_or_signup_429_is_the_real_wait(
    tmp_path: Path, redis_url: str, path: str
) -> None:
    client = limited_client(
        tmp_path,
        RATELIMIT_STORAGE_URI=redis_url,
        LOGIN_RATE_LIMIT_ACCOUNT="2 per minute",
        SIGNUP_RATE_LIMIT_ACCOUNT="2 per minute",
    )
    email = f"ann-{uuid.uuid4().hex[:8]}@example.com"  # Redis counts outlive one test
    attempt = {"email": email, "password": "wrong-password"}
    for _ in range(2):
        assert client.post(path, json=attempt).status_code in {201, 401, 409}
    # As if 50 of the minute's 60 seconds had passed: the account's count ends in 10 s.
    store = redis.Redis.from_url(redis_url)
    counts = list(store.scan_iter(f"*{email}*"))
    assert counts
    for key in counts:
        store.expire(key, 10)
    refused = client.post(path, json=attempt)
    assert_error(refused, 429, "rate_limited")
    # The real wait, rounded up to whole seconds (the storage counts its reset in seconds too).
    assert 0 < int(refused.headers["Retry-After"]) <= 11


def test_a_token_in_use_is_refused_once_it_expires(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """A worker checks a token's signature once a minute at most (app/auth/identity.py); its
    expiry it checks on every request."""
    headers = auth.headers()
    now = [time.time()]
    app.extensions["verified_tokens"] = VerifiedTokens(clock=lambda: now[0])
    assert client.get("/auth/me", headers=headers).status_code == 200
    now[0] += app.config["JWT_ACCESS_TOKEN_EXPIRES"] + 1
    refused = client.get("/auth/me", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_bearer_request_neither_reads_nor_sets_the_session_cookie(
    client: FlaskClient, auth: AuthActions
) -> None:
    """The token decides alone: no cookie is set, not even by a page that puts a CSRF token
    in the session, and a browser session beside the token is not read."""
    bob = auth.headers(email="bob@example.com")
    page = client.get("/", headers={**bob, "Accept": "text/html"})
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers
    auth.signup(email="alice@example.com")
    auth.browser_login(email="alice@example.com")
    me = client.get("/auth/me", headers=bob)
    assert me.get_json()["user"]["email"] == "bob@example.com"
    assert "Set-Cookie" not in me.headers
    assert client.get("/auth/me").get_json()["user"]["email"] == "alice@example.com"
