"""Who is calling: a browser session or a Bearer token, and which requests need CSRF.

One rule: a request that presents `Authorization: Bearer` is authenticated by that token
alone (the session is ignored, and CSRF does not apply since no cookie is trusted); any other
request is authenticated by its session cookie, and its state-changing requests need the CSRF
token. Every token the app issues is recorded by `jti`, so a revoked one is refused at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Request, Response, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_jwt_extended import decode_token
from flask_login import current_user, login_user, logout_user
from jwt import PyJWTError
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import make_transient_to_detached

from app.auth.keys import signing_keys
from app.bearer import bearer_token
from app.errors import json_error, wants_html
from app.extensions import csrf, db, login_manager
from app.models import ApiToken, User, new_id
from app.validation import json_sent_as_a_form

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# Recording every use would write to the database on every request; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def issue_token(user: User, *, name: str, kind: str, expires_in: timedelta) -> tuple[str, ApiToken]:
    """Create a signed access token for `user` and record it (not committed)."""
    jti = new_id()
    now = datetime.now(UTC)
    app_url = current_app.config["APP_URL"]
    token = signing_keys().sign(  # verified by flask-jwt-extended: its claims `type`, `fresh`
        issuer=app_url,
        audience=app_url,
        subject=user.id,
        expires_in=expires_in,
        jti=jti,
        type="access",
        fresh=False,
    )
    record = ApiToken(
        user_id=user.id,
        jti=jti,
        name=name,
        kind=kind,
        created_at=now,
        expires_at=now + expires_in,
    )
    db.session.add(record)
    return token, record


def _user_from_session(session_id: str) -> User | None:
    """The user of a session cookie, if the cookie is from the user's current session version.

    `session_id` is `User.get_id()` as it was at login; a cookie from before the user's last
    logout (or from before session versions existed) names an older version and is refused.
    """
    if bearer_token(request):
        return None  # the token decides, see the module docstring
    user_id, _, version = session_id.partition(":")
    user = db.session.get(User, user_id)
    if user is None or version != str(user.session_version):
        return None
    return user


def _clear_session() -> None:
    """Empty the session, its CSRF token included (flask-wtf also keeps the signed one in `g`)."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def start_session(user: User) -> None:
    """Log `user` in on a fresh session: nothing of the one before login carries over.

    A new CSRF token in particular: one handed out before login (perhaps to someone else at
    the same browser) must not be good for the logged-in session.
    """
    _clear_session()
    login_user(user)


def end_session() -> None:
    """Log out on the server: every session cookie the user was given so far is refused.

    The cookie is only signed, not stored, so a copy saved before logout would otherwise keep
    working. Raising the user's session version ends it, and the user's sessions in other
    browsers with it.
    """
    if current_user.is_authenticated:
        db.session.execute(
            update(User)
            .where(User.id == current_user.id)
            .values(session_version=User.session_version + 1)
        )
        db.session.commit()
    _clear_session()
    logout_user()


class VerifiedTokens:
    """The claims of tokens whose signature this worker checked lately, by token.

    Checking a token's RS256 signature, with PyJWT's character-by-character base64 check, was
    half of what authenticating a request cost (bench/); a token's claims never change, so each
    token is checked once per `ttl` at most. Its expiry is still looked at on every use, and
    its revocation by the database lookup that follows, so a revoked token is refused at once.
    """

    def __init__(
        self, size: int = 4096, ttl: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.size, self.ttl, self.clock = size, ttl, clock
        self._checked: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()

    def claims(self, token: str) -> dict[str, Any] | None:
        """The token's claims if it is valid now, else None."""
        now = self.clock()
        found = self._checked.get(token)
        if found is not None:
            claims, checked_at = found
            if claims.get("exp", now + 1) <= now:
                del self._checked[token]
                return None
            if now - checked_at < self.ttl:
                self._checked.move_to_end(token)
                return claims
        try:
            claims = decode_token(token)
        except (PyJWTError, KeyError, ValueError):
            self._checked.pop(token, None)
            return None
        self._checked[token] = (claims, now)
        self._checked.move_to_end(token)
        if len(self._checked) > self.size:
            self._checked.popitem(last=False)
        return claims


# The token's record and its user, in one query built once, as it runs on every API request.
# Columns rather than ORM entities: loading two mapped objects through the ORM's result
# machinery cost more than the query itself (bench/request_cost.py).
_TOKENS, _USERS = ApiToken.__table__, User.__table__
_TOKEN_AND_USER = (
    select(_TOKENS.c.id, _TOKENS.c.revoked_at, _TOKENS.c.last_used_at, *_USERS.c)
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .where(_TOKENS.c.jti == bindparam("jti"))
)
_TOKEN_USED = (
    update(_TOKENS).where(_TOKENS.c.id == bindparam("token")).values(last_used_at=bindparam("now"))
)


def _user_from_bearer(req: Request) -> User | None:
    """The user of a valid, unexpired token that the database has and has not revoked.

    The user is built from the row (detached: like a loaded one, but in no session), which
    is all `current_user` is used for: it is read, never changed (a change to it would not be
    saved).
    """
    token = bearer_token(req)
    if token is None:
        return None
    claims = current_app.extensions["verified_tokens"].claims(token)
    if claims is None:
        return None
    row = db.session.execute(_TOKEN_AND_USER, {"jti": claims.get("jti")}).first()
    if row is None:
        return None
    token_id, revoked_at, last_used_at, *user_columns = row
    user = User(**dict(zip(_USERS.c.keys(), user_columns, strict=True)))
    if revoked_at is not None or user.id != claims.get("sub"):
        return None
    now = datetime.now(UTC)
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(_TOKEN_USED, {"token": token_id, "now": now})
        db.session.commit()
    make_transient_to_detached(user)
    return user


def _unauthorized() -> Any:
    if wants_html():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if bearer_token(request):
        return json_error(
            401,
            "The token is invalid, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return json_error(
        401,
        "Log in, or send Authorization: Bearer <token>.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _csrf_guard() -> None:
    """CSRF on every form post, and on every state-changing request of a logged-in session.

    Left out: Bearer requests (no cookie is trusted) and anonymous API calls such as JSON
    login and signup, which have no session to ride on.
    """
    if request.method in SAFE_METHODS or bearer_token(request):
        return
    is_form_post = request.mimetype in FORM_TYPES and not json_sent_as_a_form()
    if is_form_post or "_user_id" in session:
        csrf.protect()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a Bearer request has none.

    Such a request is authenticated by its token alone (see the module docstring), so its
    cookie is not even read: it gets an empty session that is never saved, and its response
    never sets a cookie. Reading and writing the cookie was a fair part of what an API request
    cost (bench/request_cost.py).
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if bearer_token(request):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not bearer_token():
            super().save_session(app, session, response)


def init_identity(app: Flask) -> None:
    app.session_interface = CookieSessions()
    login_manager.init_app(app)
    app.extensions["verified_tokens"] = VerifiedTokens()
    login_manager.user_loader(_user_from_session)
    login_manager.request_loader(_user_from_bearer)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    app.before_request(_csrf_guard)


def token_lifetime(days: int | None = None) -> timedelta:
    return timedelta(days=days or current_app.config["API_TOKEN_DEFAULT_DAYS"])
