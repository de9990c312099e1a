"""Bearer tokens at an MCP service: who may call, and with which scopes.

The main app is the only issuer. It signs with RS256 and publishes its public keys as a JWKS;
a service fetches that document with PyJWT's `PyJWKClient` (with a timeout), keeps the keys in
memory, and fetches again when a token names a key id it has not seen (the issuer rotated its
key) or when its copy is old. A burst of tokens with unknown key ids costs at most one fetch per
`min_refetch_interval`, so forged `kid`s cannot turn the service into a JWKS flooder. While the
keys cannot be fetched, no token can be checked: the service answers 503, not 401.

A token is accepted only if it is RS256-signed by a published key, issued by the main app,
meant for this service (`aud` = the service's own MCP URL, so the user's API token and tokens
for the other service are refused), unexpired, and carries `sub` and `jti`. The token itself is
never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError

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


def jwks_client(
    url: str, *, timeout: float = 5.0, max_age: float = 900.0, min_refetch_interval: float = 5.0
) -> PyJWKClient:
    """PyJWT's JWKS client: the key set cached for `max_age` seconds, fetched again for an
    unknown `kid` at most once per `min_refetch_interval` seconds."""
    return PyJWKClient(
        url, lifespan=max_age, timeout=timeout, cooldown_duration=min_refetch_interval
    )


class TokenVerifier:
    """Checks bearer tokens meant for one service (one audience)."""

    def __init__(self, keys: PyJWKClient, *, issuer: str, audience: str, leeway: float = 10.0):
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    def verify(self, token: str) -> Principal:
        """The token's principal; `InvalidToken` or `KeysUnavailable` if it cannot be accepted."""
        key = self._key(_key_id(token))
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

    def _key(self, kid: str) -> PyJWK:
        try:
            return self.keys.get_signing_key(kid)
        except PyJWKClientConnectionError as error:
            log.warning("could not fetch the JWKS from %s: %s", self.keys.uri, error)
            raise KeysUnavailable("the token issuer's keys are unavailable") from None
        except ValueError as error:  # the issuer answered something that is not JSON
            log.warning("the JWKS at %s is not JSON: %s", self.keys.uri, error)
            raise KeysUnavailable("the token issuer's keys are unavailable") from None
        except (PyJWKClientError, PyJWKSetError):  # no such kid (or no usable key at all)
            raise InvalidToken("The access token was signed by an unknown key.") from None


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
