"""Creating and checking accounts, shared by the HTML pages and the JSON API."""

from __future__ import annotations

from flask import g
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth.passwords import check_password, hash_password
from app.extensions import db
from app.metrics import LOGIN_FAILURES
from app.models import User


class EmailTaken(Exception):
    """The email already belongs to an account (compared case-insensitively)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, password: str, name: str = "") -> User:
    """Create and commit a user; raises EmailTaken for a duplicate in any letter case."""
    g.signup_attempted = True  # counted by the per-account signup limit, taken or not
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise EmailTaken(email)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent signup won the race
        db.session.rollback()
        raise EmailTaken(email) from None
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None; costs the same whichever part was wrong."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    ok = check_password(user.password_hash if user else None, password)
    if not ok:
        g.login_failed = True  # counted by the per-account rate limit
        LOGIN_FAILURES.inc()
        return None
    return user
