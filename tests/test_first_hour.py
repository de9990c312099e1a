"""What a new user tries first: curl's default form content type with a JSON body (read as
JSON on the JSON API, and nowhere else; CSRF unchanged)."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import AuthActions
from tests.support.assertions import assert_error

FORM = "application/x-www-form-urlencoded"  # what `curl -d` sends without -H Content-Type


def test_a_json_object_sent_as_a_form_is_read_as_json(
    client: FlaskClient, auth: AuthActions
) -> None:
    bearer = auth.headers()
    created = client.post(
        "/auth/tokens", data='{"name": "laptop", "expires_in_days": 7}', content_type=FORM,
        headers=bearer,
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["name"] == "laptop"
    invalid = client.post("/auth/tokens", data='{"name": ""}', content_type=FORM, headers=bearer)
    assert set(assert_error(invalid, 400, "invalid_request")["fields"]) == {"name"}
    # A real form body is still not JSON.
    form = client.post("/auth/tokens", data="name=laptop", content_type=FORM, headers=bearer)
    assert_error(form, 415, "unsupported_media_type")


def test_form_typed_json_logs_in_as_an_api_call_and_does_not_get_around_csrf(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    # `curl -d '{...}' /auth/login`: the JSON login, a token and no session.
    login = client.post(
        "/auth/login",
        data='{"email": "user@example.com", "password": "securepassword123"}',
        content_type=FORM,
    )
    assert login.status_code == 200, login.get_json()
    assert login.get_json()["token_type"] == "Bearer"
    assert client.get("/auth/me").status_code == 401  # no session came with it
    # A real form post without its CSRF token is still refused.
    form = client.post(
        "/auth/login", data="email=user%40example.com&password=securepassword123",
        content_type=FORM,
    )  # fmt: skip
    assert_error(form, 403, "csrf_failed")
    # A logged-in browser session still needs X-CSRFToken on a write.
    auth.browser_login()
    write = client.post("/auth/tokens", data='{"name": "laptop"}', content_type=FORM)
    assert_error(write, 403, "csrf_failed")
