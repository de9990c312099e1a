"""Bearer tokens at an MCP service: who may call, and with which scopes.

The main app is the only issuer. It signs with RS256 and publishes its public keys as a JWKS;
a service fetches that document (with `requests`, with a timeout), keeps the keys in memory, and
fetches again when a token names a key id it has not seen (the issuer rotated its key) or when
its copy is old. A burst of tokens with unknown key ids costs at most one fetch per
`min_refetch_interval`, so forged `kid`s cannot turn the service into a JWKS flooder.

A token is accepted only if it is RS256-signed by a published key, issued by the main app,
meant for this service (`aud` = the service's own MCP URL, so the user's API token and tokens
for the other service are refused), unexpired, and carries `sub` and `jti`. The token itself is
never logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub", "jti"]


class InvalidToken(Exception):
    """The token cannot be accepted; the message is safe to send back to the caller."""


class KeysUnavailable(Exception):
    """The issuer's public keys could not be fetched, so no token can be checked right now."""


@dataclass(frozen=True)
class Principal:
    """What a verified token says about its bearer."""

    subject: str
    scopes: frozenset[str]
    token_id: str
    expires_at: int

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def has_any_scope(self, scopes: list[str] | set[str] | frozenset[str]) -> bool:
        return not self.scopes.isdisjoint(scopes)


class JwksCache:
    """The issuer's public keys by `kid`, fetched on demand and refreshed when stale or rotated."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        max_age: float = 900.0,
        min_refetch_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.max_age = max_age
        self.min_refetch_interval = min_refetch_interval
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any | None:
        """The public key for `kid`, or None if the issuer does not publish it."""
        with self._lock:
            if self._is_stale() or (kid not in self._keys and self._may_refetch()):
                self._refresh()
            return self._keys.get(kid)

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.max_age

    def _may_refetch(self) -> bool:
        assert self._fetched_at is not None
        return self._clock() - self._fetched_at >= self.min_refetch_interval

    def _refresh(self) -> None:
        """Fetch the JWKS; on failure keep the keys already known, if there are any."""
        self._fetched_at = self._clock()  # also on failure: a dead issuer is not hammered
        try:
            response = requests.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            self._keys = parse_jwks(response.json())
        except (requests.RequestException, ValueError) as error:
            log.warning("could not fetch the JWKS from %s: %s", self.url, error)
            if not self._keys:
                self._fetched_at = None  # try again on the next request
                raise KeysUnavailable("the token issuer's keys are unavailable") from None


def parse_jwks(document: Any) -> dict[str, Any]:
    """The RS256 signing keys of a JWKS document by `kid`; other keys are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, Any] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        if entry.get("alg", ALGORITHM) != ALGORITHM or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
        except jwt.PyJWTError:
            log.warning("skipping an unusable key %s in the JWKS", entry.get("kid"))
    return keys


class TokenVerifier:
    """Checks bearer tokens meant for one service (one audience)."""

    def __init__(self, keys: JwksCache, *, issuer: str, audience: str, leeway: float = 10.0):
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    def verify(self, token: str) -> Principal:
        """The token's principal; `InvalidToken` or `KeysUnavailable` if it cannot be accepted."""
        key = self.keys.key(_key_id(token))
        if key is None:
            raise InvalidToken("The access token was signed by an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The access token has expired.") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("The access token was not issued for this service.") from None
        except jwt.PyJWTError:
            raise InvalidToken("The access token is invalid.") from None
        return _principal(claims)


def _key_id(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("The access token is malformed.") from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        raise InvalidToken("The access token must be RS256-signed and name its key (kid).")
    return kid


def _principal(claims: dict[str, Any]) -> Principal:
    subject, token_id, scope = claims.get("sub"), claims.get("jti"), claims.get("scope", "")
    if not isinstance(subject, str) or not subject or not isinstance(token_id, str):
        raise InvalidToken("The access token is invalid.")
    if not isinstance(scope, str):
        raise InvalidToken("The access token's scope must be a space-separated string.")
    return Principal(
        subject=subject,
        scopes=frozenset(scope.split()),
        token_id=token_id,
        expires_at=int(claims["exp"]),
    )
