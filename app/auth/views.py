"""Authentication routes: pages, JSON login/signup, API tokens, MCP tokens, JWKS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from flask import (
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_jwt_extended import decode_token
from flask_limiter import RouteLimit
from flask_login import current_user, login_required
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select

from app.auth import bp
from app.auth.accounts import EmailTaken, authenticate, create_user
from app.auth.forms import LoginForm, SignupForm
from app.auth.identity import (
    FORM_TYPES,
    end_session,
    issue_token,
    start_session,
    token_lifetime,
)
from app.auth.keys import service_tokens, signing_keys
from app.auth.passwords import MIN_PASSWORD_LENGTH
from app.bearer import bearer_token
from app.errors import ApiError
from app.extensions import db, limiter
from app.models import ApiToken, User
from app.validation import json_sent_as_a_form, parse_body


def _is_api_post() -> bool:
    """A POST that is not an HTML form is an API call, answered in JSON (415 if not JSON)."""
    return request.method == "POST" and (
        request.mimetype not in FORM_TYPES or json_sent_as_a_form()
    )


def _account_key() -> str:
    """Rate-limit key for one account: the email being tried, whatever the client's IP.

    It runs before the view, on any body: one that cannot be read (even JSON nested too deep
    for the parser, which raises RecursionError) counts as naming no email, and the view
    answers it.
    """
    try:
        data = request.get_json(silent=True) if request.is_json else request.form
    except RecursionError:
        data = None
    email = data.get("email") if isinstance(data, dict) else None
    return f"account:{str(email or '').strip().lower()}"


def _per_account(setting: str, attempted: str) -> RouteLimit:
    """A limit on `setting` per account, counting only requests that flagged `g.<attempted>`.

    Requests that never get as far as an account (a body with no valid email) cost nothing.
    """
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=_account_key,
        methods=["POST"],
        deduct_when=lambda response: bool(g.get(attempted)),
    )


login_limits = [
    limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_IP"], methods=["POST"]),
    _per_account("LOGIN_RATE_LIMIT_ACCOUNT", "login_failed"),
]
signup_limits = [
    limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT_IP"], methods=["POST"]),
    _per_account("SIGNUP_RATE_LIMIT_ACCOUNT", "signup_attempted"),
]


class SignupBody(BaseModel):
    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    name: str = Field(default="", max_length=120)


class LoginBody(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    expires_in_days: int | None = Field(default=None, ge=1, le=365)


class McpTokenBody(BaseModel):
    service: Literal["listings", "analytics"]


def _token_response(user: User, status: int) -> tuple[Response, int]:
    expires_in = timedelta(seconds=current_app.config["JWT_ACCESS_TOKEN_EXPIRES"])
    token, _ = issue_token(user, name="login", kind="login", expires_in=expires_in)
    db.session.commit()
    body = {
        "user": user.to_dict(),
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(expires_in.total_seconds()),
    }
    return jsonify(body), status


def _safe_next(target: str | None) -> str:
    """Only same-site paths: `next` must not become an open redirect."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("chat.index")


@bp.route("/auth/signup", methods=["GET", "POST"])
@signup_limits[0]
@signup_limits[1]
def signup() -> Response | tuple[Response, int] | str | tuple[str, int]:
    """One URL, two clients: JSON for API calls, the HTML form for browsers."""
    return _signup_api() if _is_api_post() else _signup_page()


def _signup_api() -> tuple[Response, int]:
    body = parse_body(SignupBody)
    try:
        user = create_user(body.email, body.password, body.name)
    except EmailTaken:
        raise ApiError(
            409, "An account with this email exists.", fields={"email": "is already registered"}
        ) from None
    return _token_response(user, 201)


def _signup_page() -> Response | tuple[str, int]:
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data, form.name.data or "")
        except EmailTaken:
            form.email.errors.append("An account with this email exists. Log in instead?")
        else:
            start_session(user)
            flash("Welcome! Ask about homes or markets to get started.", "success")
            return redirect(url_for("chat.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/auth/login", methods=["GET", "POST"])
@login_limits[0]
@login_limits[1]
def login() -> Response | tuple[Response, int] | str | tuple[str, int]:
    """One URL, two clients: JSON for API calls, the HTML form for browsers."""
    return _login_api() if _is_api_post() else _login_page()


def _login_api() -> tuple[Response, int]:
    body = parse_body(LoginBody)
    user = authenticate(body.email, body.password)
    if user is None:
        raise ApiError(401, "Wrong email or password.", code="invalid_credentials")
    return _token_response(user, 200)


def _login_page() -> Response | tuple[str, int]:
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("Wrong email or password.")
        return render_template("auth/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/auth/logout")
def logout() -> Response | tuple[str, int]:
    """Ends the browser session; with a Bearer token, revokes that token instead."""
    token = bearer_token(request)
    if token:
        if not current_user.is_authenticated:
            raise ApiError(401, "The token is invalid, expired or revoked.")
        jti = decode_token(token)["jti"]
        record = db.session.scalar(select(ApiToken).where(ApiToken.jti == jti))
        if record is not None:
            record.revoked_at = datetime.now(UTC)
            db.session.commit()
        return "", 204
    end_session()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/tokens")
@login_required
def tokens_page() -> str:
    """The API tokens page: its list, create, revoke and MCP helper call the JSON routes below."""
    return render_template(
        "auth/tokens.html",
        default_days=current_app.config["API_TOKEN_DEFAULT_DAYS"],
        mcp_token_ttl=current_app.config["MCP_USER_TOKEN_TTL"],
    )


@bp.get("/auth/me")
@login_required
def me() -> Response:
    return jsonify({"user": current_user.to_dict()})


@bp.post("/auth/tokens")
@login_required
def create_token() -> tuple[Response, int]:
    body = parse_body(TokenBody)
    token, record = issue_token(
        current_user, name=body.name, kind="api", expires_in=token_lifetime(body.expires_in_days)
    )
    db.session.commit()
    return jsonify({**record.to_dict(), "token": token}), 201


@bp.get("/auth/tokens")
@login_required
def list_tokens() -> Response:
    records = db.session.scalars(
        select(ApiToken)
        .where(
            ApiToken.user_id == current_user.id,
            ApiToken.kind == "api",
            ApiToken.revoked_at.is_(None),
        )
        .order_by(ApiToken.created_at.desc())
    )
    return jsonify({"tokens": [record.to_dict() for record in records]})


@bp.delete("/auth/tokens/<id:token_id>")
@login_required
def revoke_token(token_id: str) -> tuple[str, int]:
    record = db.session.get(ApiToken, token_id)
    if record is None or record.user_id != current_user.id or record.revoked_at is not None:
        raise ApiError(404, "No such token.")
    record.revoked_at = datetime.now(UTC)
    db.session.commit()
    return "", 204


@bp.post("/auth/mcp-token")
@login_required
def mcp_token() -> tuple[Response, int]:
    """A short-lived token for one MCP service, for the user's own MCP client."""
    body = parse_body(McpTokenBody)
    ttl = current_app.config["MCP_USER_TOKEN_TTL"]
    tokens = service_tokens()
    token = tokens.mint(current_user.id, body.service, ttl_seconds=ttl)
    return jsonify(
        {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "mcp_url": tokens.audiences[body.service],
        }
    ), 201


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    response = jsonify(signing_keys().jwks)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
