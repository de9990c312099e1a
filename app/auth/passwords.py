"""Password hashing with Argon2id, off the gevent hub.

Argon2 is deliberately slow (tens of milliseconds of CPU). Run inline it would stall every
stream of the worker, so hashing and checking run in gevent's thread pool; argon2-cffi releases
the GIL while it works.
"""

from __future__ import annotations

import gevent
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_HASHERS = {
    "default": PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY),
    # Only for the test suite, where thousands of hashes would otherwise dominate the run.
    "fast": PasswordHasher.from_parameters(profiles.CHEAPEST),
}
# Compared against when the email is unknown, so both failures cost the same time.
_DUMMY_HASHES: dict[str, str] = {}

MIN_PASSWORD_LENGTH = 8


def _hasher() -> PasswordHasher:
    return _HASHERS[current_app.config["PASSWORD_HASH_PROFILE"]]


def hash_password(password: str) -> str:
    return gevent.get_hub().threadpool.apply(_hasher().hash, (password,))


def _verify(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(stored_hash: str | None, password: str) -> bool:
    """Check `password`; with no stored hash, spend the same time and answer False."""
    hasher = _hasher()
    if stored_hash is None:
        profile = current_app.config["PASSWORD_HASH_PROFILE"]
        if profile not in _DUMMY_HASHES:
            _DUMMY_HASHES[profile] = hasher.hash("not the password of anyone")
        gevent.get_hub().threadpool.apply(_verify, (hasher, _DUMMY_HASHES[profile], password))
        return False
    return gevent.get_hub().threadpool.apply(_verify, (hasher, stored_hash, password))
