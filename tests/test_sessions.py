"""Browser sessions end on the server at logout and start afresh at login (CONTRACT.md 6.1).

The session lives in a signed cookie, so "ended" must mean the server refuses a copy of it:
someone who saved the cookie before logout (a shared computer, a stolen cookie) gets nothing
with it afterwards, not even a new API token.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import AuthActions, csrf_token
from tests.support.assertions import assert_error

SESSION_COOKIE = "session"
LOGIN = {"email": "user@example.com", "password": "securepassword123"}


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def test_a_cookie_saved_before_logout_is_refused_after_it(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    csrf = auth.browser_login()
    saved = session_cookie(client)
    assert client.get("/auth/me").status_code == 200

    assert client.post("/auth/logout", data={"csrf_token": csrf}).status_code == 302
    client.set_cookie(SESSION_COOKIE, saved)  # replay the copy taken while logged in

    assert_error(client.get("/auth/me"), 401, "unauthorized")
    token_request = {"name": "stolen", "expires_in_days": 90}
    minted = client.post("/auth/tokens", json=token_request, headers={"X-CSRFToken": csrf})
    assert_error(minted, 401, "unauthorized")
    page = client.get("/tokens", headers={"Accept": "text/html"})
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/auth/login")


def test_logout_ends_the_users_other_browser_sessions(
    client: FlaskClient, auth: AuthActions
) -> None:
    """The documented choice: logging out in one browser logs the account out everywhere."""
    auth.signup()
    other = client.application.test_client()
    AuthActions(other).browser_login()
    csrf = auth.browser_login()
    assert other.get("/auth/me").status_code == 200

    client.post("/auth/logout", data={"csrf_token": csrf})
    assert other.get("/auth/me").status_code == 401
    AuthActions(other).browser_login()  # logging in again starts a session that works
    assert other.get("/auth/me").status_code == 200


def test_login_starts_a_new_session_and_csrf_token(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    before = csrf_token(client)
    anonymous_cookie = session_cookie(client)
    response = client.post("/auth/login", data={**LOGIN, "csrf_token": before})
    assert response.status_code == 302
    assert session_cookie(client) != anonymous_cookie

    # The token a page gave before login is no longer this session's token...
    stale = client.post("/auth/tokens", json={"name": "x"}, headers={"X-CSRFToken": before})
    assert_error(stale, 403, "csrf_failed")
    # ...the one the pages give now is.
    after_login = csrf_token(client, "/")
    fresh = client.post("/auth/tokens", json={"name": "x"}, headers={"X-CSRFToken": after_login})
    assert fresh.status_code == 201

    assert client.post("/auth/logout", data={"csrf_token": after_login}).status_code == 302
    # After logout, the logged-in session's token is gone too.
    replayed = client.post("/auth/login", data={**LOGIN, "csrf_token": after_login})
    assert replayed.status_code == 403
    assert client.get("/auth/me").status_code == 401
    after_logout = csrf_token(client)
    assert client.post("/auth/login", data={**LOGIN, "csrf_token": after_logout}).status_code == 302


def test_signup_form_starts_a_new_session_and_csrf_token(client: FlaskClient) -> None:
    before = csrf_token(client, "/auth/signup")
    response = client.post("/auth/signup", data={**LOGIN, "name": "Ann", "csrf_token": before})
    assert response.status_code == 302
    assert client.get("/auth/me").status_code == 200
    stale = client.post("/auth/tokens", json={"name": "x"}, headers={"X-CSRFToken": before})
    assert_error(stale, 403, "csrf_failed")
