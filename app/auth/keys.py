"""The app's signing key pair: it signs every token the app issues; its public half is the JWKS.

The private key lives in a PEM file (`JWT_PRIVATE_KEY_PATH`, by default under `instance/`),
generated on first use. Public keys of retired keys can be kept published during a rotation
by placing them, as PEM files, in `instance/jwks-retired/` (see the README's production notes):
tokens they signed keep verifying until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from jwt.algorithms import RSAAlgorithm

ALGORITHM = "RS256"

# What each MCP service lets a token do; a per-call token carries all of its service's scopes.
SERVICE_SCOPES: dict[str, tuple[str, ...]] = {
    "listings": ("listings:read", "listings:report"),
    "analytics": ("analytics:read",),
}


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """The RFC 7517 JWK of a public key (PyJWT's), with its RFC 7638 thumbprint as `kid`."""
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    members = {name: jwk[name] for name in ("e", "kty", "n")}  # the thumbprint's members
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**members, "kid": kid, "use": "sig", "alg": ALGORITHM}


def _load_or_create_private_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: two workers starting at once agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return key


@dataclass(frozen=True)
class SigningKeys:
    """The current private key, its id, and every public key the JWKS publishes."""

    private_key: rsa.RSAPrivateKey
    kid: str
    jwks: dict[str, list[dict[str, str]]]
    public_keys: dict[str, rsa.RSAPublicKey]  # by kid: the current key and the retired ones

    def verification_key(self, kid: str | None) -> rsa.RSAPublicKey:
        """The public key a token names; the current one if it names none we publish."""
        return self.public_keys.get(kid or "", self.private_key.public_key())

    def sign(
        self,
        *,
        issuer: str,
        audience: str,
        subject: str,
        expires_in: timedelta,
        jti: str | None = None,
        **claims: Any,
    ) -> str:
        """The one signer: every token the app issues (user API tokens and the per-service
        tokens) is an RS256 JWT made here, naming the current key as `kid`."""
        now = datetime.now(UTC)
        payload = {
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": jti or uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def load_signing_keys(private_key_path: str) -> SigningKeys:
    path = Path(private_key_path)
    private_key = _load_or_create_private_key(path)
    public_keys = [private_key.public_key()]
    retired_dir = path.parent / "jwks-retired"
    if retired_dir.is_dir():
        for pem in sorted(retired_dir.glob("*.pem")):
            public_key = serialization.load_pem_public_key(pem.read_bytes())
            if isinstance(public_key, rsa.RSAPublicKey):
                public_keys.append(public_key)
    jwks = [public_jwk(key) for key in public_keys]
    return SigningKeys(
        private_key=private_key,
        kid=jwks[0]["kid"],
        jwks={"keys": jwks},
        public_keys={jwk["kid"]: key for jwk, key in zip(jwks, public_keys, strict=True)},
    )


def signing_keys() -> SigningKeys:
    return current_app.extensions["signing_keys"]


@dataclass(frozen=True)
class ServiceTokens:
    """Mints the short-lived per-service tokens that carry a user's identity (`sub`).

    Bound once to the keys and settings, so it works in any greenlet, with or without an app
    context. The agent mints one per tool call; the user's own token never leaves the main app.
    """

    keys: SigningKeys
    issuer: str
    audiences: dict[str, str]  # service name -> its MCP URL, which is its resource identifier
    ttl_seconds: int

    def mint(self, user_id: str, service: str, ttl_seconds: int | None = None) -> str:
        if service not in SERVICE_SCOPES:
            raise ValueError(f"unknown service {service!r}")
        return self.keys.sign(
            issuer=self.issuer,
            audience=self.audiences[service],
            subject=user_id,
            expires_in=timedelta(seconds=ttl_seconds or self.ttl_seconds),
            scope=" ".join(SERVICE_SCOPES[service]),
        )


def service_tokens() -> ServiceTokens:
    return current_app.extensions["service_tokens"]
