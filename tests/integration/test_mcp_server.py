"""The shared MCP server machinery, served for real on loopback and driven by real clients.

A small demo registry stands in for a service. The official SDK client (`mcp.Client`) lists
and calls its tools in each connect mode; raw HTTP with `requests` pins the edges the SDK
would never send: bad bodies, bad headers, bad tokens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import anyio
import httpx2
import jwt
import pytest
import requests
from flask import Flask, g
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, Field

from app.mcp.auth import InvalidToken, TokenVerifier, jwks_client
from app.mcp.server import create_mcp_blueprint
from app.mcp.tools import ToolError, ToolRegistry
from tests.support.mcp_helpers import JwksServer, SigningKey, rpc, serve

ISSUER = "http://127.0.0.1:3000"
READ, WRITE = "demo:read", "demo:write"
MODERN = "2026-07-28"
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"


# The demo service ---------------------------------------------------------------------------


class Repeated(BaseModel):
    text: str
    times: int
    note: str | None = None


class Caller(BaseModel):
    subject: str


demo = ToolRegistry()


@demo.tool(scope=READ)
def repeat(
    text: Annotated[str, Field(min_length=1, description="The text to repeat.")],
    times: Annotated[int, Field(ge=1, le=50, description="How many times.")] = 1,
) -> Repeated:
    """Repeat a text a few times.

    This second paragraph is not part of the description.
    """
    return Repeated(text=text * times, times=times)


@demo.tool(scope=READ)
def whoami() -> Caller:
    """Say who the token says is calling."""
    return Caller(subject=g.mcp_subject)


@demo.tool(scope=WRITE)
def fail(how: Literal["expected", "unexpected"]) -> Repeated:
    """Fail on purpose, in one of two ways."""
    if how == "expected":
        raise ToolError("failed as asked")
    raise RuntimeError("secret internal detail")


def service_app(base_url: str, jwks_url: str, **config: Any) -> Flask:
    app = Flask("demo_service")
    app.config.update(
        MCP_RESOURCE_URL=f"{base_url}/mcp",
        MCP_ISSUER=ISSUER,
        MCP_JWKS_URL=jwks_url,
        **config,
    )
    app.register_blueprint(create_mcp_blueprint(demo, server_name="demo-service"))
    return app


# Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey()


@pytest.fixture(scope="module")
def jwks(key: SigningKey) -> Iterator[tuple[JwksServer, str]]:
    published = JwksServer([key])
    with serve(lambda _base: published) as base:
        yield published, f"{base}/.well-known/jwks.json"


@pytest.fixture(scope="module")
def base(jwks: tuple[JwksServer, str]) -> Iterator[str]:
    with serve(lambda url: service_app(url, jwks[1])) as url:
        yield url


@pytest.fixture(scope="module")
def url(base: str) -> str:
    return f"{base}/mcp"


@pytest.fixture(scope="module")
def token(key: SigningKey, url: str) -> str:
    return key.mint(issuer=ISSUER, audience=url, scope=f"{READ} {WRITE}", subject="user-7")


def post(
    url: str, body: Any, token: str | None = None, headers: dict[str, str] | None = None
) -> requests.Response:
    sent = {"Accept": "application/json, text/event-stream", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if not isinstance(body, dict | list):  # bytes, text, or an iterator (sent chunked)
        sent.setdefault("Content-Type", "application/json")
        return requests.post(url, data=body, headers=sent, timeout=10)
    return requests.post(url, json=body, headers=sent, timeout=10)


def modern(method: str, params: dict[str, Any] | None = None, name: str | None = None):
    """A 2026-07-28 request: the `_meta` envelope plus the routing headers."""
    meta = {META_VERSION: MODERN, META_CAPABILITIES: {}}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if name is not None:
        headers["Mcp-Name"] = name
    return rpc(method, {**(params or {}), "_meta": meta}), headers


# The official SDK client --------------------------------------------------------------------

MODES = [("legacy", "2025-11-25"), ("auto", MODERN), (MODERN, MODERN)]


def with_client(url: str, token: str, mode: str, work):
    """Run `work(client)` inside an SDK client session; returns its result."""

    async def main():
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, mode=mode) as client:
                return client.protocol_version, await work(client)

    return anyio.run(main)


@pytest.mark.parametrize(("mode", "version"), MODES)
def test_sdk_client_lists_and_calls_tools_in_every_mode(url, token, mode, version):
    async def work(client):
        listed = await client.list_tools()
        called = await client.call_tool("repeat", {"text": "ab", "times": 2})
        caller = await client.call_tool("whoami", {})
        return listed, called, caller

    negotiated, (listed, called, caller) = with_client(url, token, mode, work)

    assert negotiated == version
    assert [tool.name for tool in listed.tools] == ["repeat", "whoami", "fail"]
    assert listed.tools[0].description == "Repeat a text a few times."
    assert listed.tools[0].output_schema["properties"]["times"]["type"] == "integer"
    assert not called.is_error
    assert called.structured_content == {"text": "abab", "times": 2, "note": None}
    assert called.content[0].text == '{"text": "abab", "times": 2, "note": null}'
    assert caller.structured_content == {"subject": "user-7"}


@pytest.mark.parametrize(("mode", "version"), MODES)
def test_sdk_client_gets_error_results_for_bad_arguments_and_failing_tools(
    url, token, mode, version
):
    async def work(client):
        return [
            await client.call_tool("repeat", {"text": "ab", "times": 51}),
            await client.call_tool("fail", {"how": "expected"}),
            await client.call_tool("fail", {"how": "unexpected"}),
        ]

    _, (bad_arguments, expected, unexpected) = with_client(url, token, mode, work)

    assert bad_arguments.is_error
    assert bad_arguments.content[0].text == "times: Input should be less than or equal to 50"
    assert expected.is_error and expected.content[0].text == "failed as asked"
    assert unexpected.is_error and "secret" not in unexpected.content[0].text


@pytest.mark.parametrize(("mode", "version"), MODES)
def test_sdk_client_gets_invalid_params_for_an_unknown_tool(url, token, mode, version):
    async def work(client):
        with pytest.raises(MCPError) as raised:
            await client.call_tool("no_such_tool", {})
        return raised.value

    _, error = with_client(url, token, mode, work)

    assert error.error.code == -32602
    assert "no_such_tool" in error.error.message


# The handshake era over raw HTTP ------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "answered"),
    [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ],
)
def test_initialize_answers_the_clients_version_or_our_latest(url, token, asked, answered):
    params = {
        "protocolVersion": asked,
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }

    response = post(url, rpc("initialize", params), token)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert "Mcp-Session-Id" not in response.headers
    result = response.json()["result"]
    assert result["protocolVersion"] == answered
    assert result["serverInfo"]["name"] == "demo-service"
    assert "tools" in result["capabilities"]


def test_notifications_are_accepted_with_202_and_no_body(url, token):
    response = post(url, rpc("notifications/initialized", id=None), token)

    assert response.status_code == 202
    assert response.content == b""


def test_ping_answers_an_empty_result(url, token):
    response = post(url, rpc("ping", id="p-1"), token, {"MCP-Protocol-Version": "2025-11-25"})

    assert response.json() == {"jsonrpc": "2.0", "id": "p-1", "result": {}}


def test_unknown_method_is_method_not_found(url, token):
    response = post(url, rpc("prompts/list"), token)

    assert response.json()["error"]["code"] == -32601


def test_unknown_tool_is_invalid_params(url, token):
    response = post(url, rpc("tools/call", {"name": "nope", "arguments": {}}), token)

    assert response.json()["error"] == {"code": -32602, "message": "Unknown tool: nope"}


def test_bad_arguments_give_an_error_result_naming_each_field(url, token):
    arguments = {"times": 0, "colour": "red"}

    response = post(url, rpc("tools/call", {"name": "repeat", "arguments": arguments}), token)

    result = response.json()["result"]
    assert result["isError"] is True
    message = result["content"][0]["text"]
    assert "text: Field required" in message
    assert "times: Input should be greater than or equal to 1" in message
    assert "colour: Extra inputs are not permitted" in message


def test_a_tool_crash_is_logged_and_reported_generically(url, token, caplog):
    with caplog.at_level(logging.ERROR, logger="app.mcp.tools"):
        response = post(
            url, rpc("tools/call", {"name": "fail", "arguments": {"how": "unexpected"}}), token
        )

    result = response.json()["result"]
    assert result["isError"] is True
    assert "secret" not in result["content"][0]["text"]
    assert any("fail" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b"[]", -32600),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', -32600),
        (b"42", -32600),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "result": {}}', -32600),
        (b'{"jsonrpc": "2.0", "id": null, "method": "ping"}', -32600),
    ],
)
def test_bodies_that_are_not_one_jsonrpc_message_are_400(url, token, body, code):
    response = post(url, body, token)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["id"] is None


def test_an_unsupported_protocol_version_header_is_400(url, token):
    response = post(url, rpc("tools/list"), token, {"MCP-Protocol-Version": "2024-11-05"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert error["data"]["requested"] == "2024-11-05"
    assert "2025-11-25" in error["data"]["supported"]


def test_get_and_delete_are_405(url, token):
    headers = {"Authorization": f"Bearer {token}"}
    for method in ("GET", "DELETE"):
        response = requests.request(method, url, headers=headers, timeout=10)

        assert response.status_code == 405
        assert response.headers["Allow"] == "POST"
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_body_over_the_limit_is_413(url, token):
    response = post(url, b'{"pad": "' + b"x" * (1024 * 1024) + b'"}', token)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_over_the_limit_is_413_too(url, token):
    """No Content-Length: werkzeug stops reading at the limit, which once became a -32700."""

    def chunks():
        yield b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": "'
        for _ in range(16):
            yield b"x" * (128 * 1024)
        yield b'"}'

    response = post(url, chunks(), token)

    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_body_that_is_not_json_is_415(url, token):
    response = post(url, b"ping", token, {"Content-Type": "text/plain"})

    assert response.status_code == 415


def test_a_foreign_origin_is_403_and_a_loopback_one_is_served(url, token):
    foreign = post(url, rpc("ping"), token, {"Origin": "https://evil.example"})
    local = post(url, rpc("ping"), token, {"Origin": "http://localhost:3000"})

    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "forbidden_origin"
    assert local.status_code == 200


# The stateless revision over raw HTTP -------------------------------------------------------


def test_server_discover_names_the_modern_revision_and_capabilities(url, token):
    body, headers = modern("server/discover")

    response = post(url, body, token, headers)

    assert response.status_code == 200
    result = response.json()["result"]
    assert result["supportedVersions"] == [MODERN]
    assert "tools" in result["capabilities"]
    assert result["resultType"] == "complete"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "demo-service"


def test_modern_tool_call_needs_matching_method_and_name_headers(url, token):
    body, headers = modern("tools/call", {"name": "repeat", "arguments": {"text": "x"}}, "other")

    response = post(url, body, token, headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020
    assert response.json()["id"] == 1


def test_modern_request_without_the_meta_envelope_is_invalid_params(url, token):
    response = post(
        url, rpc("tools/list"), token, {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


def test_modern_revision_has_no_ping_or_initialize(url, token):
    body, headers = modern("ping")

    response = post(url, body, token, headers)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32601


# Tokens -------------------------------------------------------------------------------------


def test_a_request_without_a_token_is_401_pointing_at_the_metadata(base, url):
    response = post(url, rpc("tools/list"))

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    metadata = f"{base}/.well-known/oauth-protected-resource"
    assert challenge == f'Bearer resource_metadata="{metadata}"'
    assert response.json()["error"]["code"] == "unauthorized"


def _tampered(token: str) -> str:
    """The same token with its subject changed and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    forged = json.dumps({**claims, "sub": "admin"}).encode()
    return ".".join([header, jwt.utils.base64url_encode(forged).decode(), signature])


BAD_TOKENS = {
    "wrong audience": lambda key, url: key.mint(
        issuer=ISSUER, audience="http://127.0.0.1:3002/mcp", scope=READ
    ),
    "the user's own API token": lambda key, url: key.mint(
        issuer=ISSUER, audience=ISSUER, scope=READ
    ),
    "wrong issuer": lambda key, url: key.mint(issuer="http://evil", audience=url, scope=READ),
    "expired": lambda key, url: key.mint(issuer=ISSUER, audience=url, scope=READ, ttl=-120),
    "tampered": lambda key, url: _tampered(key.mint(issuer=ISSUER, audience=url, scope=READ)),
    "no jti": lambda key, url: key.mint(issuer=ISSUER, audience=url, scope=READ, jti=None),
    "no sub": lambda key, url: key.mint(issuer=ISSUER, audience=url, scope=READ, sub=None),
    "unknown key": lambda key, url: SigningKey().mint(issuer=ISSUER, audience=url, scope=READ),
    "HS256-signed": lambda key, url: jwt.encode(
        {"iss": ISSUER, "aud": url, "sub": "1", "jti": "j", "exp": 2**32, "scope": READ},
        "a-shared-secret-that-no-service-should-accept",
        algorithm="HS256",
        headers={"kid": key.kid},
    ),
    "not a JWT": lambda key, url: "not-a-jwt",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_bad_tokens_are_401_invalid_token(key, base, url, case):
    bad = BAD_TOKENS[case](key, url)

    response = post(url, rpc("tools/list"), bad)

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="invalid_token"')
    assert f'resource_metadata="{base}/.well-known/oauth-protected-resource"' in challenge
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_token_without_the_tools_scope_is_403_insufficient_scope(key, url):
    read_only = key.mint(issuer=ISSUER, audience=url, scope=READ)

    listed = post(url, rpc("tools/list"), read_only)
    refused = post(url, rpc("tools/call", {"name": "fail", "arguments": {"how": "x"}}), read_only)

    assert listed.status_code == 200
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"].startswith(
        f'Bearer error="insufficient_scope", scope="{WRITE}"'
    )
    assert refused.json()["error"]["code"] == "insufficient_scope"


def test_a_token_with_none_of_the_services_scopes_is_403(key, url):
    other = key.mint(issuer=ISSUER, audience=url, scope="analytics:read")

    response = post(url, rpc("tools/list"), other)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
)
def test_the_protected_resource_metadata_document(base, url, path):
    response = requests.get(base + path, timeout=10)

    assert response.status_code == 200
    assert response.json() == {
        "resource": url,
        "authorization_servers": [ISSUER],
        "scopes_supported": [READ, WRITE],
        "bearer_methods_supported": ["header"],
        "resource_name": "demo-service",
    }


def test_an_unknown_kid_refetches_the_jwks_once_so_rotation_works():
    old, new, stranger = SigningKey(), SigningKey(), SigningKey()
    published = JwksServer([old])
    with (
        serve(lambda _base: published) as jwks_base,
        serve(
            lambda base: service_app(base, f"{jwks_base}/jwks.json", MCP_JWKS_MIN_REFETCH_SECONDS=0)
        ) as base,
    ):
        url = f"{base}/mcp"
        assert post(url, rpc("ping"), old.mint(issuer=ISSUER, audience=url, scope=READ)).ok
        assert published.fetches == 1

        published.publish(old, new)
        rotated = post(url, rpc("ping"), new.mint(issuer=ISSUER, audience=url, scope=READ))
        assert rotated.status_code == 200
        assert published.fetches == 2

        assert post(url, rpc("ping"), new.mint(issuer=ISSUER, audience=url, scope=READ)).ok
        assert published.fetches == 2  # a known kid is served from the cache

        forged = post(url, rpc("ping"), stranger.mint(issuer=ISSUER, audience=url, scope=READ))
        assert forged.status_code == 401
        assert published.fetches == 3


def test_unknown_kids_refetch_at_most_once_per_interval():
    old, new = SigningKey(), SigningKey()
    published = JwksServer([old])
    with serve(lambda _base: published) as jwks_base:
        keys = jwks_client(f"{jwks_base}/jwks.json", min_refetch_interval=3600)
        verifier = TokenVerifier(keys, issuer=ISSUER, audience="aud")
        verifier.verify(old.mint(issuer=ISSUER, audience="aud", scope=READ))
        published.publish(old, new)
        for _ in range(3):
            with pytest.raises(InvalidToken):
                verifier.verify(SigningKey().mint(issuer=ISSUER, audience="aud", scope=READ))
        with pytest.raises(InvalidToken):  # a real rotation waits for the interval too
            verifier.verify(new.mint(issuer=ISSUER, audience="aud", scope=READ))

        assert published.fetches == 1


def test_unreachable_jwks_is_503_not_401(key):
    with serve(lambda base: service_app(base, "http://127.0.0.1:9/jwks.json")) as base:
        url = f"{base}/mcp"
        response = post(url, rpc("ping"), key.mint(issuer=ISSUER, audience=url, scope=READ))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


# Tool declarations --------------------------------------------------------------------------


def test_tool_definitions_come_from_the_signature_and_docstring():
    tool = demo.get("repeat")
    definition = tool.definition()

    assert definition.description == "Repeat a text a few times."
    schema = definition.input_schema
    assert schema["required"] == ["text"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["times"] == {
        "default": 1,
        "description": "How many times.",
        "maximum": 50,
        "minimum": 1,
        "title": "Times",
        "type": "integer",
    }
    assert tool.scope == READ
    assert demo.scopes == [READ, WRITE]


def test_a_tool_must_declare_a_model_return_type_and_typed_parameters():
    registry = ToolRegistry()

    with pytest.raises(TypeError):

        @registry.tool(scope=READ)
        def untyped_result(text: str) -> dict:
            """No model."""
            return {}

    with pytest.raises(TypeError):

        @registry.tool(scope=READ)
        def untyped_parameter(text) -> Caller:
            """No hint."""
            return Caller(subject=text)

    assert len(registry) == 0


def test_two_tools_cannot_share_a_name():
    registry = ToolRegistry()
    registry.tool(scope=READ, name="same")(whoami)

    with pytest.raises(ValueError):
        registry.tool(scope=READ, name="same")(repeat)
