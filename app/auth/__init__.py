"""Accounts: HTML pages with a session, JSON login and API tokens, signing keys and JWKS."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import views  # noqa: E402,F401  (registers the routes)
