"""The three real processes together: the official MCP SDK client against the services with
tokens the main app issues, and chat replies whose tool rounds run on the real services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import requests
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.live import ApiClient, SseEvent, Stack, start_stack
from tests.support.llm_server import ScriptedLLM, Turn

MODERN = "2026-07-28"
MODES = [("legacy", "2025-11-25"), ("auto", MODERN), (MODERN, MODERN)]

LISTINGS_TOOLS = {"search_listings", "get_listing", "send_listing_report"}
ANALYTICS_TOOLS = {
    "get_market_analysis",
    "get_price_trends",
    "compare_markets",
    "get_listing_metrics",
    "generate_performance_report",
    "estimate_mortgage",
    "estimate_affordability",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("stack"), llm)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def user(stack: Stack) -> ApiClient:
    return ApiClient(stack.app.url, email="stack@example.com")


def mcp_token(user: ApiClient, service: str) -> dict[str, Any]:
    response = user.post("/auth/mcp-token", json={"service": service})
    assert response.status_code == 201
    return response.json()


def with_client(url: str, token: str, mode: str, work: Any) -> Any:
    async def main() -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=20) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            return client.protocol_version, await work(client)

    return anyio.run(main)


@pytest.mark.parametrize(("mode", "version"), MODES)
def test_sdk_client_lists_and_calls_every_listings_tool(
    user: ApiClient, stack: Stack, mode: str, version: str, tmp_path: Path
) -> None:
    grant = mcp_token(user, "listings")

    async def work(client: Client) -> dict[str, Any]:
        listed = await client.list_tools()
        search = await client.call_tool(
            "search_listings", {"city": "Portland", "state": "OR", "max_price": 700_000, "limit": 3}
        )
        first = search.structured_content["listings"][0]["listing_id"]
        details = await client.call_tool("get_listing", {"listing_id": first})
        report = await client.call_tool(
            "send_listing_report", {"listing_ids": [first], "recipient_email": "jane@example.com"}
        )
        missing = await client.call_tool("get_listing", {"listing_id": "L000000"})
        return {
            "listed": listed,
            "search": search,
            "details": details,
            "report": report,
            "missing": missing,
        }

    negotiated, got = with_client(grant["mcp_url"], grant["access_token"], mode, work)
    assert negotiated == version
    assert {tool.name for tool in got["listed"].tools} == LISTINGS_TOOLS
    hints = {tool.name: tool.annotations for tool in got["listed"].tools}
    assert hints["search_listings"].read_only_hint is True
    assert hints["get_listing"].read_only_hint is True
    # Sending mail acts outside the app: the page asks before it runs (CONTRACT.md 6.3).
    assert hints["send_listing_report"].read_only_hint is False
    assert hints["send_listing_report"].open_world_hint is True
    search = got["search"].structured_content
    assert search["total"] > 0
    assert all(item["price"] <= 700_000 for item in search["listings"])
    assert all(item["address"]["city"] == "Portland" for item in search["listings"])
    assert got["details"].structured_content["listing_id"] == search["listings"][0]["listing_id"]
    assert got["report"].structured_content["delivered_via"] == "outbox"
    assert got["missing"].is_error and "not found" in got["missing"].content[0].text


@pytest.mark.parametrize(("mode", "version"), MODES)
def test_sdk_client_lists_and_calls_every_analytics_tool(
    user: ApiClient, mode: str, version: str
) -> None:
    grant = mcp_token(user, "analytics")

    async def work(client: Client) -> dict[str, Any]:
        results: dict[str, Any] = {"listed": await client.list_tools()}
        calls = {
            "get_market_analysis": {"city": "Seattle", "state": "WA"},
            "get_price_trends": {"city": "Denver", "months": 6},
            "compare_markets": {"cities": ["Portland, OR", "Boise", "Austin"]},
            "get_listing_metrics": {"listing_ids": ["L100001", "L100002"]},
            "generate_performance_report": {"listing_ids": ["L100001", "L100002", "L100003"]},
            "estimate_mortgage": {"price": 500_000, "down_payment_pct": 20, "annual_rate_pct": 6.5},
            "estimate_affordability": {"annual_income": 120_000, "monthly_debts": 400},
        }
        results["budget_only"] = await client.call_tool(
            "estimate_affordability", {"monthly_budget": 3_000}
        )
        results["no_income"] = await client.call_tool("estimate_affordability", {})
        for name, arguments in calls.items():
            results[name] = await client.call_tool(name, arguments)
        results["unknown_city"] = await client.call_tool(
            "get_market_analysis", {"city": "Atlantis"}
        )
        return results

    negotiated, got = with_client(grant["mcp_url"], grant["access_token"], mode, work)
    assert negotiated == version
    assert {tool.name for tool in got["listed"].tools} == ANALYTICS_TOOLS
    assert all(tool.annotations.read_only_hint for tool in got["listed"].tools)
    for name in ANALYTICS_TOOLS:
        assert not got[name].is_error, (name, got[name].content)
    assert got["get_market_analysis"].structured_content["city"] == "Seattle"
    assert len(got["get_price_trends"].structured_content["series"]) == 6
    markets = got["compare_markets"].structured_content["markets"]
    assert [m["city"] for m in markets] == ["Portland", "Boise", "Austin"]
    cheapest = min(markets, key=lambda m: m["median_price"])["city"]
    assert got["compare_markets"].structured_content["cheapest"] == cheapest
    afford = got["estimate_affordability"].structured_content
    assert 0 < afford["min_price"] < afford["max_price"] and afford["monthly_budget"] == 2800
    assert "28/36" in afford["rule"]
    budget_only = got["budget_only"].structured_content
    assert budget_only["min_price"] == budget_only["max_price"] > 0
    assert budget_only["monthly_budget"] == 3000 and budget_only["annual_income"] is None
    assert got["no_income"].is_error
    assert "annual_income or monthly_budget" in got["no_income"].content[0].text
    assert got["estimate_mortgage"].structured_content["monthly_payment"] == pytest.approx(2528.27)
    unknown = got["unknown_city"]
    assert unknown.is_error and "Portland" in unknown.content[0].text


def test_services_refuse_tokens_not_meant_for_them(user: ApiClient, stack: Stack) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    listings_token = mcp_token(user, "listings")["access_token"]
    api_token = user.http.headers["Authorization"].removeprefix("Bearer ")
    for token in (listings_token, api_token):
        response = requests.post(
            f"{stack.analytics.url}/mcp",
            json=body,
            headers={"Authorization": f"Bearer {token}", "MCP-Protocol-Version": "2025-11-25"},
            timeout=5,
        )
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert f"{stack.analytics.url}/.well-known/oauth-protected-resource" in challenge
    metadata = requests.get(
        f"{stack.analytics.url}/.well-known/oauth-protected-resource", timeout=5
    ).json()
    assert metadata["resource"] == f"{stack.analytics.url}/mcp"
    assert metadata["authorization_servers"] == [stack.app.url]


def test_every_process_reports_its_health(stack: Stack) -> None:
    for server, name in (
        (stack.app, "app"),
        (stack.listings, "mcp_listings"),
        (stack.analytics, "mcp_analytics"),
    ):
        health = requests.get(f"{server.url}/health", timeout=5).json()
        assert health["status"] == "ok" and health["service"] == name
        assert health["database"] == "ok"
    app_health = requests.get(f"{stack.app.url}/health", timeout=5).json()
    assert app_health["mcp_services"] == {"listings": "ok", "analytics": "ok"}
    assert app_health["llm_mode"] == "openai"


def tool_events(events: list[SseEvent]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.event == "tool"]


def test_reply_with_two_tool_rounds_on_the_real_services(user: ApiClient, llm: ScriptedLLM) -> None:
    llm.reset()
    llm.script(
        Turn.tool_calls(
            [
                ("search_listings", {"city": "Portland", "min_bedrooms": 3, "max_price": 700000}),
                ("get_market_analysis", {"city": "Portland", "state": "OR"}),
            ],
            split_into=4,
        ),
        Turn.tool_calls([("estimate_mortgage", {"price": 650000})], split_into=2),
        Turn.text("Here are some 3-bedroom homes in Portland and what they would cost monthly."),
    )
    events = user.chat("3-bedroom homes in Portland under $700k", headers=None).until_done()
    names = [e.event for e in events]
    assert names[:2] == ["start", "thinking"]
    assert names[-1] == "done" and events[-1].data["status"] == "completed"
    tools = tool_events(events)
    assert [(t["name"], t["status"]) for t in tools[:2]] == [
        ("search_listings", "started"),
        ("get_market_analysis", "started"),
    ]
    assert sorted(t["name"] for t in tools[2:4]) == ["get_market_analysis", "search_listings"]
    assert all(t["status"] == "completed" and t["duration_ms"] >= 0 for t in tools[2:4])
    assert [(t["name"], t["status"]) for t in tools[4:]] == [
        ("estimate_mortgage", "started"),
        ("estimate_mortgage", "completed"),
    ]
    search_done = next(
        t for t in tools if t["name"] == "search_listings" and t["status"] == "completed"
    )
    assert search_done["summary"].startswith("Found ")
    # The page's view of each result (CONTRACT.md 6.2) rides on the completed event.
    display = search_done["display"]
    assert display["kind"] == "listings" and display["total"] > 0
    assert all(item["beds"] >= 3 and item["price"] <= 700000 for item in display["items"])
    assert all(
        item["id"].startswith("L") and item["city"] == "Portland" for item in display["items"]
    )
    mortgage_done = tools[-1]
    assert mortgage_done["display"]["kind"] == "mortgage"
    assert mortgage_done["display"]["price"] == 650000
    assert all("display" not in t for t in tools if t["status"] == "started")
    # The model was offered the services' tools, as OpenAI function specs.
    offered = {t["function"]["name"]: t for t in llm.requests[0]["tools"]}
    assert {"search_listings", "get_market_analysis", "estimate_mortgage"} <= set(offered)
    assert offered["search_listings"]["type"] == "function"
    assert "city" in offered["search_listings"]["function"]["parameters"]["properties"]
    # The model saw real results as role "tool" messages, in the order it asked.
    second_request = llm.requests[1]["messages"]
    tool_messages = [m for m in second_request if m["role"] == "tool"]
    assert len(tool_messages) == 2
    search_result = json.loads(tool_messages[0]["content"])
    assert search_result["total"] > 0
    assert all(item["bedrooms"] >= 3 for item in search_result["listings"])
    assert events[-1].data["metrics"]["tool_calls"] == 3

    history = user.get(f"/agents/conversations/{events[0].data['conversation_id']}").json()
    stored = history["messages"][-1]["tool_calls"]
    assert [c["name"] for c in stored] == [
        "search_listings",
        "get_market_analysis",
        "estimate_mortgage",
    ]
    assert all(c["status"] == "completed" for c in stored)
    # History shows the same views as the stream did.
    assert stored[0]["display"] == display
    assert [c["display"]["kind"] for c in stored] == ["listings", "markets", "mortgage"]


def test_request_id_follows_a_tool_call_into_the_service_logs(
    user: ApiClient, llm: ScriptedLLM, stack: Stack
) -> None:
    llm.reset()
    llm.script(
        Turn.tool_calls([("get_price_trends", {"city": "Austin", "months": 3})]),
        Turn.text("Austin prices are up."),
    )
    user.chat("Austin trends", headers={"X-Request-Id": "trace-stack-42"}).until_done()

    def lines(server: Any) -> list[dict[str, Any]]:
        return [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]

    assert any(
        line.get("request_id") == "trace-stack-42" and line.get("path") == "/agents/chat-stream"
        for line in lines(stack.app)
    )
    assert any(
        line.get("request_id") == "trace-stack-42" and line.get("rpc_method") == "tools/call"
        for line in lines(stack.analytics)
    )
