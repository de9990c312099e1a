"""One JSON error shape for every status, HTML pages for browsers, limits on bodies and logins."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, make_app
from tests.support.assertions import assert_error


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post("/auth/login", data="{not json", content_type="application/json")
    assert_error(response, 400, "invalid_request")


def test_json_that_is_not_an_object_is_400(client: FlaskClient) -> None:
    response = client.post("/auth/login", json=["a", "b"])
    assert_error(response, 400, "invalid_request")


def test_empty_body_is_400(client: FlaskClient) -> None:
    response = client.post("/auth/login", data="", content_type="application/json")
    assert_error(response, 400, "invalid_request")


def test_validation_error_has_fields(client: FlaskClient) -> None:
    error = assert_error(client.post("/auth/login", json={}), 400, "invalid_request")
    assert set(error["fields"]) == {"email", "password"}


def test_missing_credentials_is_401(client: FlaskClient) -> None:
    assert_error(client.get("/auth/tokens"), 401, "unauthorized")


def test_unknown_route_is_404(client: FlaskClient) -> None:
    assert_error(client.get("/no/such/thing"), 404, "not_found")


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    error_response = client.put("/auth/me")
    assert_error(error_response, 405, "method_not_allowed")
    assert "GET" in error_response.headers["Allow"]


def test_duplicate_is_409(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    response = client.post(
        "/auth/signup", json={"email": "user@example.com", "password": "securepassword123"}
    )
    assert_error(response, 409, "conflict")


def test_five_megabyte_body_is_413(client: FlaskClient) -> None:
    body = '{"email": "' + "a" * (5 * 1024 * 1024) + '"}'
    response = client.post("/auth/login", data=body, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    response = client.post("/auth/login", data="email=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_unexpected_exception_is_500_in_the_shape(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    error = assert_error(response, 500, "internal_error")
    assert "secret detail" not in error["message"]


def test_browser_gets_an_html_error_page(client: FlaskClient) -> None:
    response = client.get("/no/such/thing", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_session_cookie_flags(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    client.get("/auth/login", headers={"Accept": "text/html"})
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


@pytest.fixture(params=["memory", "redis"])
def limited_app(request: pytest.FixtureRequest, tmp_path: Any, database_url: str) -> Any:
    storage = "memory://"
    if request.param == "redis":
        storage = request.getfixturevalue("redis_url")
    yield from make_app(
        tmp_path,
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=storage,
        LOGIN_RATE_LIMIT_ACCOUNT="3 per minute",
        LOGIN_RATE_LIMIT_IP="100 per minute",
    )


def test_failed_logins_are_throttled_per_account(limited_app: Flask) -> None:
    client = limited_app.test_client()
    email = f"target-{uuid.uuid4().hex[:8]}@example.com"  # Redis counts outlive one test
    AuthActions(client).signup(email=email)
    attempt = {"email": email, "password": "wrong-password"}
    statuses = [client.post("/auth/login", json=attempt).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    refused = client.post("/auth/login", json=attempt)
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) > 0
    # Another account from the same address is not locked out by it.
    other = client.post("/auth/login", json={"email": "else@example.com", "password": "x" * 9})
    assert other.status_code == 401


def test_logins_are_throttled_per_address(tmp_path: Any, database_url: str) -> None:
    app = next(
        make_app(tmp_path, database_url, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT_IP="2 per minute")
    )
    client = app.test_client()
    for index in range(2):
        attempt = {"email": f"u{index}@example.com", "password": "whatever1"}
        assert client.post("/auth/login", json=attempt).status_code == 401
    refused = client.post("/auth/login", json={"email": "u9@example.com", "password": "whatever1"})
    assert_error(refused, 429, "rate_limited")
    assert "Retry-After" in refused.headers
