"""Helpers for MCP service tests: real servers on loopback, an issuer's keys, minted tokens.

`serve(app)` runs a WSGI app with werkzeug's threaded server in a background thread (the
services are synchronous Flask apps); `JwksServer` plays the main app's
`/.well-known/jwks.json` and counts how often it is asked; `SigningKey.mint` signs tokens the
way the main app does (RS256, `kid` header), with any claim overridable for the bad cases.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import WSGIRequestHandler, make_server

WsgiApp = Callable[..., Iterable[bytes]]


@contextmanager
def serve(build: Callable[[str], WsgiApp]) -> Iterator[str]:
    """Serve `build(base_url)` on a free loopback port for the block; yields the base URL.

    The app is built once the port is known, so it can name its own URL (a service's token
    audience is its MCP URL).
    """
    server = make_server("127.0.0.1", 0, _not_ready, threaded=True, request_handler=_QuietHandler)
    server.app = build(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, name="test-wsgi", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(WSGIRequestHandler):
    """No access log lines in the test output."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _not_ready(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("503 Service Unavailable", [])
    return [b""]


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    """An RSA key pair standing in for the main app's signing key."""

    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @property
    def jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }

    def mint(
        self,
        *,
        issuer: str,
        audience: str,
        scope: str,
        subject: str = "42",
        ttl: int = 300,
        **overrides: Any,
    ) -> str:
        """A token like the main app's per-service token; `overrides` replace claims, None drops."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            "scope": scope,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


class JwksServer:
    """A WSGI app publishing a JWKS that tests can change, counting the fetches."""

    def __init__(self, keys: Iterable[SigningKey] = ()) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self._lock = threading.Lock()

    def publish(self, *keys: SigningKey) -> None:
        with self._lock:
            self.keys = list(keys)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            self.fetches += 1
            body = json.dumps({"keys": [key.jwk for key in self.keys]}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


def rpc(method: str, params: dict[str, Any] | None = None, id: int | None = 1) -> dict[str, Any]:
    """A JSON-RPC body; `id=None` makes it a notification."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if id is not None:
        body["id"] = id
    if params is not None:
        body["params"] = params
    return body
