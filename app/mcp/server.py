"""The one MCP server blueprint both services mount: Streamable HTTP at `/mcp`, behind tokens.

    from app.mcp.server import create_mcp_blueprint
    app.config.update(MCP_RESOURCE_URL="http://127.0.0.1:3001/mcp", MCP_ISSUER=app_url)
    app.register_blueprint(create_mcp_blueprint(tools, server_name="estate-listings"))

The blueprint owns the HTTP side; `app.mcp.protocol` owns the messages. A POST to `/mcp` is
checked in this order: `Origin` (a browser page from elsewhere gets 403, against DNS
rebinding), bearer token (401, or 403 without any of the service's scopes), content type and
size (415, 413), then the JSON-RPC message itself (a body that is not JSON, or is nested too
deep, is -32700 with HTTP 400); `tools/call` also needs the tool's scope (403). Nothing reads
the body before the token is checked, so the JSON-RPC method is known (to logs and metrics)
only for authenticated requests. Requests are answered with `application/json`, one response
per POST; there is no session and no SSE stream, so GET and DELETE are 405, which the spec
allows. `/.well-known/oauth-protected-resource` is the RFC 9728 document that 401 answers point to.

Settings come from `app.config` when the blueprint is registered:

- `MCP_RESOURCE_URL` (required): this service's MCP URL; the token audience and `resource`.
- `MCP_ISSUER` (default `APP_URL`): the main app, the only accepted `iss`.
- `MCP_JWKS_URL` (default issuer + `/.well-known/jwks.json`).
- `MCP_ALLOWED_ORIGINS` (list or comma-separated string; default: loopback origins of ports
  3000-3002 and the origins of the issuer and the resource).
- `MCP_MAX_BODY_BYTES` (default 1 MiB), `MCP_JWKS_TIMEOUT` (5 s),
  `MCP_JWKS_MIN_REFETCH_SECONDS` (5 s), `MCP_JWKS_MAX_AGE` (900 s).

Scopes: every request needs a valid token carrying at least one of the service's scopes (so
`tools/list` shows the catalogue to anyone allowed to call some tool of it); `tools/call` needs
the scope of the tool called.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.bearer import bearer_token
from app.errors import json_error
from app.mcp.auth import (
    InvalidToken,
    KeysUnavailable,
    Principal,
    TokenVerifier,
    jwks_client,
)
from app.mcp.protocol import (
    InsufficientScope,
    McpProtocol,
    RpcError,
    ServerIdentity,
    error_reply,
    parse_message,
)
from app.mcp.tools import ToolRegistry

log = logging.getLogger(__name__)

EXTENSION_KEY = "mcp_service"
METADATA_PATH = "/.well-known/oauth-protected-resource"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_ISSUER = "http://127.0.0.1:3000"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_PORTS = (3000, 3001, 3002)


@dataclass(frozen=True)
class McpService:
    """Everything the views need, built once per app from its config."""

    registry: ToolRegistry
    protocol: McpProtocol
    verifier: TokenVerifier
    resource_url: str
    issuer: str
    allowed_origins: frozenset[str]
    max_body_bytes: int

    @property
    def base_url(self) -> str:
        """The service's root: the resource URL without its `/mcp` endpoint path."""
        return self.resource_url.rstrip("/").removesuffix("/mcp")

    @property
    def metadata_url(self) -> str:
        return self.base_url + METADATA_PATH


def create_mcp_blueprint(
    registry: ToolRegistry,
    *,
    server_name: str,
    server_version: str = "1.0.0",
    instructions: str | None = None,
) -> Blueprint:
    """A blueprint serving `registry` over MCP at `/mcp`, configured from `app.config`."""
    identity = ServerIdentity(server_name, server_version, instructions)
    bp = Blueprint("mcp", __name__)
    bp.record_once(lambda state: _install(state.app, registry, identity))
    bp.add_url_rule("/mcp", "endpoint", _post_message, methods=["POST"])
    bp.add_url_rule("/mcp", "no_stream", _no_stream, methods=["GET", "DELETE"])
    bp.add_url_rule(METADATA_PATH, "resource_metadata", _resource_metadata)
    bp.add_url_rule(METADATA_PATH + "/mcp", "resource_metadata_for_path", _resource_metadata)
    return bp


def _install(app: Flask, registry: ToolRegistry, identity: ServerIdentity) -> None:
    config = app.config
    resource_url = config["MCP_RESOURCE_URL"]
    issuer = (config.get("MCP_ISSUER") or config.get("APP_URL") or DEFAULT_ISSUER).rstrip("/")
    keys = jwks_client(
        config.get("MCP_JWKS_URL") or f"{issuer}/.well-known/jwks.json",
        timeout=float(config.get("MCP_JWKS_TIMEOUT", 5.0)),
        max_age=float(config.get("MCP_JWKS_MAX_AGE", 900.0)),
        min_refetch_interval=float(config.get("MCP_JWKS_MIN_REFETCH_SECONDS", 5.0)),
    )
    app.extensions[EXTENSION_KEY] = McpService(
        registry=registry,
        protocol=McpProtocol(registry, identity),
        verifier=TokenVerifier(keys, issuer=issuer, audience=resource_url),
        resource_url=resource_url,
        issuer=issuer,
        allowed_origins=allowed_origins(config.get("MCP_ALLOWED_ORIGINS"), issuer, resource_url),
        max_body_bytes=int(config.get("MCP_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
    )


def allowed_origins(
    configured: str | Iterable[str] | None, issuer: str, resource_url: str
) -> frozenset[str]:
    """The configured origins, or by default loopback ones plus the issuer's and our own."""
    if isinstance(configured, str):
        configured = configured.split(",")
    if configured:
        return frozenset(_normalise_origin(origin) for origin in configured if origin.strip())
    loopback = {f"http://{host}:{port}" for host in LOOPBACK_HOSTS for port in DEFAULT_PORTS}
    return frozenset(loopback | {_origin_of(issuer), _origin_of(resource_url)})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return _normalise_origin(f"{parts.scheme}://{parts.netloc}")


def _normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _service() -> McpService:
    return current_app.extensions[EXTENSION_KEY]


# Views ----------------------------------------------------------------------------------------


def _post_message() -> Response:
    service = _service()
    refusal = _check_origin(service)
    if refusal is not None:
        return refusal
    principal = _authenticate(service)
    if isinstance(principal, Response):
        return principal
    g.mcp_subject = principal.subject
    g.mcp_principal = principal  # from here on, the request is logged and counted as the user's
    refusal = _check_media_types()
    if refusal is not None:
        return refusal
    body = _read_body(service.max_body_bytes)
    if isinstance(body, Response):
        return body
    try:
        decoded, message = parse_message(body)
    except RpcError as error:
        reply = error_reply(None, error, status=400)
    else:
        g.rpc_method = message.method[:64]  # for the access log; metrics use `method_label`
        try:
            reply = service.protocol.respond(decoded, message, request.headers, principal)
        except InsufficientScope as missing:
            return _insufficient_scope(service, missing.scope)
    if reply.body is None:
        return Response(status=reply.status)
    response = jsonify(reply.body)
    response.status_code = reply.status
    return response


def _no_stream() -> Response:
    """No server-to-client stream and no session to end: the spec lets us say 405."""
    refusal = _check_origin(_service())
    if refusal is not None:
        return refusal
    message = "This server answers POST requests only; it offers no event stream or session."
    return json_error(405, message, headers={"Allow": "POST"})


def _resource_metadata() -> Response:
    """RFC 9728 protected resource metadata: where tokens for this service come from."""
    service = _service()
    return jsonify(
        resource=service.resource_url,
        authorization_servers=[service.issuer],
        scopes_supported=service.registry.scopes,
        bearer_methods_supported=["header"],
        resource_name=service.protocol.identity.name,
    )


# Checks ---------------------------------------------------------------------------------------


def _check_origin(service: McpService) -> Response | None:
    origin = request.headers.get("Origin")
    if origin is None or _normalise_origin(origin) in service.allowed_origins:
        return None
    log.warning("refused a request from origin %r", origin[:200])
    return json_error(403, "Requests from this origin are not allowed.", code="forbidden_origin")


def _check_media_types() -> Response | None:
    if request.mimetype != "application/json":
        return json_error(415, "Send one JSON-RPC message as application/json.")
    if request.headers.get("Accept") and not request.accept_mimetypes.accept_json:
        return json_error(406, "Responses are application/json.", code="not_acceptable")
    return None


def _authenticate(service: McpService) -> Principal | Response:
    token = bearer_token()
    if token is None:
        return _unauthorized(service, "A bearer token is required.", token_given=False)
    try:
        principal = service.verifier.verify(token)
    except InvalidToken as error:
        return _unauthorized(service, str(error), token_given=True)
    except KeysUnavailable:
        return json_error(503, "Tokens cannot be checked right now.")
    if not principal.has_any_scope(set(service.registry.scopes)):
        return _insufficient_scope(service, " ".join(service.registry.scopes))
    return principal


def _read_body(limit: int) -> bytes | Response:
    request.max_content_length = limit
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:  # the announced length is over
        body = None
    # A chunked body is cut at the limit by werkzeug without a word: at the limit means over.
    if body is None or (request.content_length is None and len(body) >= limit):
        return json_error(413, f"The body is larger than {limit} bytes.")
    return body


# Responses ------------------------------------------------------------------------------------


def _unauthorized(service: McpService, message: str, *, token_given: bool) -> Response:
    params: dict[str, Any] = {"resource_metadata": service.metadata_url}
    if token_given:
        params = {"error": "invalid_token", "error_description": message, **params}
    headers = {"WWW-Authenticate": _bearer_challenge(params)}
    return json_error(401, message, headers=headers)


def _insufficient_scope(service: McpService, scope: str) -> Response:
    params = {
        "error": "insufficient_scope",
        "scope": scope,
        "resource_metadata": service.metadata_url,
    }
    wanted = f"one of the scopes {scope!r}" if " " in scope else f"the scope {scope!r}"
    message = f"This request needs {wanted}."
    headers = {"WWW-Authenticate": _bearer_challenge(params)}
    return json_error(403, message, code="insufficient_scope", headers=headers)


def _bearer_challenge(params: Mapping[str, str]) -> str:
    quoted = (f'{name}="{_quote(value)}"' for name, value in params.items())
    return "Bearer " + ", ".join(quoted)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
