"""What an MCP service process shows to anyone who can reach it, before and after a token.

The app is built by the services' own factory (`create_service_app`), with a one-tool registry
and an issuer's keys served on loopback, and driven in-process: the metrics it exposes, how it
answers bodies nested too deep, and the protective headers on its responses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pydantic import BaseModel

from app.mcp.service import create_service_app
from app.mcp.tools import ToolRegistry
from tests.support.mcp_helpers import JwksServer, SigningKey, rpc, serve

ISSUER = "http://127.0.0.1:3000"
RESOURCE = "http://127.0.0.1:3001/mcp"
METRICS_TOKEN = "service-metrics-secret"
SCOPE = "demo:read"
DEEP = "[" * 50_000 + "]" * 50_000


class Echoed(BaseModel):
    text: str


registry = ToolRegistry()


@registry.tool(scope=SCOPE)
def echo(text: str) -> Echoed:
    """Say the text back."""
    return Echoed(text=text)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey()


@pytest.fixture(scope="module")
def jwks_url(key: SigningKey) -> Iterator[str]:
    with serve(lambda _base: JwksServer([key])) as base:
        yield f"{base}/.well-known/jwks.json"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, jwks_url: str) -> FlaskClient:
    tmp: Path = tmp_path_factory.mktemp("service")
    app = create_service_app(
        "listings",
        registry,
        lambda _engine: False,  # no dataset to load for this registry
        server_name="demo-service",
        instructions="A test service.",
        overrides={
            "INSTANCE_PATH": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'service.db'}",
            "MCP_RESOURCE_URL": RESOURCE,
            "MCP_ISSUER": ISSUER,
            "MCP_JWKS_URL": jwks_url,
            "METRICS_TOKEN": METRICS_TOKEN,
        },
    )
    return app.test_client()


@pytest.fixture(scope="module")
def token(key: SigningKey) -> str:
    return key.mint(issuer=ISSUER, audience=RESOURCE, scope=SCOPE)


def post(client: FlaskClient, body: Any, token: str | None = None) -> Any:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, str):
        return client.post("/mcp", data=body, headers=headers, content_type="application/json")
    return client.post("/mcp", json=body, headers=headers)


def mcp_series(client: FlaskClient) -> dict[str, float]:
    """Every `estate_mcp_requests_total` series of the exposition: labels -> value."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    found = re.findall(
        r"^estate_mcp_requests_total(\{[^}]*\}) (\S+)$", response.get_data(as_text=True), re.M
    )
    return {labels: float(value) for labels, value in found}


# Finding 7: metrics labels ------------------------------------------------------------------


def test_unauthenticated_requests_add_no_metric_series(service: FlaskClient) -> None:
    before = mcp_series(service)
    for number in range(200):
        response = post(service, rpc(f"made/up-{number}"))
        assert response.status_code == 401
    bad_token = post(service, rpc("made/up-with-a-bad-token"), "not-a-token")
    assert bad_token.status_code == 401

    assert mcp_series(service) == before


def test_authenticated_unknown_methods_are_counted_as_other(
    service: FlaskClient, token: str
) -> None:
    before = mcp_series(service)
    for number in range(50):
        assert post(service, rpc(f"junk/{number}"), token).status_code == 200  # -32601 error
    assert post(service, rpc("tools/list"), token).status_code == 200

    after = mcp_series(service)
    other = '{method="other",status="200"}'
    listed = '{method="tools/list",status="200"}'
    assert after[other] - before.get(other, 0) == 50
    assert after[listed] - before.get(listed, 0) == 1
    assert set(after) - set(before) <= {other, listed}
    assert not any("junk" in labels for labels in after)


# Finding 3: bodies nested too deep ------------------------------------------------------------


def test_deeply_nested_json_without_a_token_is_401_not_500(service: FlaskClient) -> None:
    response = post(service, DEEP)

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_deeply_nested_json_with_a_token_is_a_parse_error(service: FlaskClient, token: str) -> None:
    response = post(service, DEEP, token)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == -32700
    assert response.get_json()["id"] is None


def test_json_nested_deeper_than_accepted_is_a_parse_error(
    service: FlaskClient, token: str
) -> None:
    """Deep enough to be refused, shallow enough for `json.loads` to decode."""
    nested: Any = "bottom"
    for _ in range(200):
        nested = [nested]
    response = post(service, rpc("ping", {"_meta": {"deep": nested}}), token)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == -32700
    assert "nested deeper" in error["message"]
    assert post(service, rpc("ping", {"_meta": {"shallow": [[["ok"]]]}}), token).status_code == 200


# Finding 8: protective headers ----------------------------------------------------------------


def test_service_responses_say_nosniff(service: FlaskClient, token: str) -> None:
    responses = [
        service.get("/health"),
        post(service, rpc("tools/list"), token),
        post(service, rpc("tools/list")),  # 401
        service.get("/no-such-path"),  # 404
    ]
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.status
