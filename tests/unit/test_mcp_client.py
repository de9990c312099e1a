"""The main app's MCP client against tiny in-process JSON-RPC services (werkzeug's server in
a thread): discovery, calls, the per-service token, and every failure as a tool error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from app.agent.mcp_client import McpClient, ToolResult
from app.agent.toolbox import Toolbox
from tests.conftest import free_port

SEARCH = {"name": "search_listings", "description": "Search", "inputSchema": {"type": "object"}}


class Service:
    """A stateless MCP service answering from `answers` (method -> result, or a Response)."""

    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.seen: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.answers: dict[str, Any] = {
            "initialize": {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "test", "version": "1"},
            },
            "tools/list": {"tools": tools},
        }
        self.sse = False

    @Request.application
    def __call__(self, request: Request) -> Response:
        message = request.get_json()
        self.seen.append((message["method"], message["params"], dict(request.headers)))
        answer = self.answers.get(message["method"])
        if isinstance(answer, Response):
            return answer
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": answer})
        if self.sse:
            return Response(f"event: message\ndata: {body}\n\n", mimetype="text/event-stream")
        return Response(body, mimetype="application/json")


@pytest.fixture
def listings() -> Iterator[tuple[Service, str]]:
    service = Service([SEARCH])
    server = make_server("127.0.0.1", free_port(), service, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service, f"http://127.0.0.1:{server.port}/mcp"
    server.shutdown()
    thread.join()


def client(services: dict[str, str]) -> McpClient:
    return McpClient(services, mint_token=lambda user, service: f"{user}@{service}", timeout=2)


def test_tools_are_discovered_with_a_token_for_each_service_and_the_user(
    listings: tuple[Service, str],
) -> None:
    service, url = listings
    tools = client({"listings": url}).tools("u1")
    assert [t.openai_spec() for t in tools] == [
        {
            "type": "function",
            "function": {
                "name": "search_listings",
                "description": "Search",
                "parameters": {"type": "object"},
            },
        }
    ]
    assert [method for method, _, _ in service.seen] == ["initialize", "tools/list"]
    assert {headers["Authorization"] for _, _, headers in service.seen} == {"Bearer u1@listings"}


def test_a_call_returns_the_text_and_structured_result(listings: tuple[Service, str]) -> None:
    service, url = listings
    service.answers["tools/call"] = {
        "content": [{"type": "text", "text": "3 found"}],
        "structuredContent": {"total": 3},
        "isError": False,
    }
    service.sse = True  # one SSE event is read like a JSON answer
    result = client({"listings": url}).call("u1", "search_listings", {"city": "Austin"}, "r-1")
    assert result == ToolResult(True, "3 found", {"total": 3})
    method, params, headers = service.seen[-1]
    assert (method, params) == (
        "tools/call",
        {"name": "search_listings", "arguments": {"city": "Austin"}},
    )
    assert headers["X-Request-Id"] == "r-1"


def test_a_tool_error_and_a_json_rpc_error_come_back_as_failed_results(
    listings: tuple[Service, str],
) -> None:
    service, url = listings
    mcp = client({"listings": url})
    service.answers["tools/call"] = {
        "content": [{"type": "text", "text": "bad city"}],
        "isError": True,
    }
    assert mcp.call("u1", "search_listings", {}) == ToolResult(False, "bad city")
    error = {"jsonrpc": "2.0", "id": 9, "error": {"code": -32602, "message": "Invalid params"}}
    service.answers["tools/call"] = Response(json.dumps(error), mimetype="application/json")
    assert mcp.call("u1", "search_listings", {}) == ToolResult(False, "Invalid params")


def test_a_refused_token_and_a_malformed_answer_are_tool_errors(
    listings: tuple[Service, str],
) -> None:
    service, url = listings
    mcp = client({"listings": url})
    mcp.tools("u1")
    service.answers["tools/call"] = Response(status=401)
    refused = mcp.call("u1", "search_listings", {})
    assert refused == ToolResult(False, "the listings service refused the request (401)")
    service.answers["tools/call"] = Response("<html>oops</html>", mimetype="text/html")
    assert not mcp.call("u1", "search_listings", {}).ok


def test_a_service_that_is_down_leaves_the_others_tools_usable(
    listings: tuple[Service, str],
) -> None:
    _, url = listings
    mcp = client({"listings": url, "analytics": f"http://127.0.0.1:{free_port()}/mcp"})
    assert [t.name for t in mcp.tools("u1")] == ["search_listings"]
    assert mcp.call("u1", "get_market_analysis", {}) == ToolResult(
        False, "tool get_market_analysis is unavailable right now"
    )


def test_only_tools_annotated_read_only_count_as_read_only(
    listings: tuple[Service, str],
) -> None:
    service, url = listings
    service.answers["tools/list"] = {
        "tools": [
            {**SEARCH, "annotations": {"readOnlyHint": True}},
            {
                "name": "send_listing_report",
                "inputSchema": {"type": "object"},
                "annotations": {"readOnlyHint": False, "openWorldHint": True},
            },
            {"name": "unannotated", "inputSchema": {"type": "object"}},
        ]
    }
    toolbox = Toolbox(client({"listings": url}), "u1")
    assert toolbox.is_read_only("search_listings")  # discovers the tools on first use
    assert not toolbox.is_read_only("send_listing_report")
    assert not toolbox.is_read_only("unannotated")  # saying nothing is not saying read-only
    assert not toolbox.is_read_only("no_such_tool")
