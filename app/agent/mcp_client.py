"""The main app's MCP client: synchronous JSON-RPC over `requests`, made for gevent workers.

One pooled `requests.Session` per service; every call carries a fresh short-lived token for
that service (minted per call, carrying the user's id) and a timeout. Retries happen only on
connection errors and 502/503/504, never on 4xx. Tools are discovered from each service's
`tools/list` and cached; a service that is down leaves the other's tools usable, and a call to
one of its tools becomes a tool error the model can read, never an exception. Answers are read
with the MCP SDK's models (`mcp_types`): an answer that is not what the spec says is a failure
of that service, like any other.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
import requests
from mcp_types import (
    CallToolResult,
    JSONRPCError,
    JSONRPCResponse,
    ListToolsResult,
    TextContent,
)
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

PROTOCOL_VERSION = "2025-11-25"
TokenMinter = Callable[[str, str], str]  # (user_id, service) -> bearer token
_ANSWER: pydantic.TypeAdapter[JSONRPCResponse | JSONRPCError] = pydantic.TypeAdapter(
    JSONRPCResponse | JSONRPCError
)


class McpError(Exception):
    """A call that could not be completed: the message is safe to show to the model."""


@dataclass(frozen=True, slots=True)
class ToolDef:
    service: str
    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool = False  # only a tool whose annotations say `readOnlyHint: true` (6.3)

    def openai_spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.input_schema,
            },
        }


@dataclass(frozen=True, slots=True)
class ToolResult:
    ok: bool
    text: str
    structured: dict[str, Any] | None = None


def _session(pool_size: int) -> requests.Session:
    retry = Retry(
        total=3,
        connect=2,
        read=0,  # a read timeout means the tool may have run: do not run it twice
        status=2,
        status_forcelist=(502, 503, 504),
        allowed_methods=None,  # JSON-RPC is all POST
        backoff_factor=0.1,
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=pool_size))
    session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=pool_size))
    return session


class McpClient:
    def __init__(
        self,
        services: dict[str, str],
        *,
        mint_token: TokenMinter,
        timeout: float,
        cache_seconds: float = 300.0,
        pool_size: int = 64,
    ) -> None:
        self.services = services
        self.mint_token = mint_token
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self._sessions = {name: _session(pool_size) for name in services}
        self._ids = itertools.count(1)
        self._tools: dict[str, ToolDef] = {}
        self._specs: tuple[dict[str, Any], ...] | None = None  # of `_tools`, as the LLM sees them
        self._listed_at: dict[str, float] = {}

    # JSON-RPC -----------------------------------------------------------------------------

    def _rpc(
        self,
        service: str,
        user_id: str,
        method: str,
        params: dict[str, Any],
        request_id: str | None = None,
    ) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        headers = {
            "Authorization": f"Bearer {self.mint_token(user_id, service)}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": PROTOCOL_VERSION,
        }
        if request_id:
            headers["X-Request-Id"] = request_id  # follow one reply across the processes
        try:
            response = self._sessions[service].post(
                self.services[service], json=body, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise McpError(f"the {service} service did not answer in time") from None
        except requests.RequestException:
            raise McpError(f"the {service} service is unavailable") from None
        if response.status_code in (401, 403):
            raise McpError(f"the {service} service refused the request ({response.status_code})")
        if response.status_code >= 500:
            raise McpError(f"the {service} service failed ({response.status_code})")
        answer = _read_answer(response)
        if isinstance(answer, JSONRPCError):
            raise McpError(answer.error.message or "tool error")
        return answer.result

    # Tools ----------------------------------------------------------------------------------

    def _refresh(self, service: str, user_id: str) -> None:
        """(Re)discover one service's tools; on failure keep what was known before."""
        try:
            self._rpc(
                service,
                user_id,
                "initialize",
                {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "estate-assistant", "version": "1"},
                },
            )
            result = ListToolsResult.model_validate(self._rpc(service, user_id, "tools/list", {}))
        except (McpError, pydantic.ValidationError) as error:
            log.warning("tool discovery failed for %s: %s", service, error)
            self._listed_at[service] = 0.0
            return
        for tool in result.tools:
            self._tools[tool.name] = ToolDef(
                service=service,
                name=tool.name,
                description=tool.description or "",
                input_schema=tool.input_schema or {"type": "object"},
                read_only=bool(tool.annotations and tool.annotations.read_only_hint),
            )
        self._specs = None
        self._listed_at[service] = time.monotonic()

    def tools(self, user_id: str) -> list[ToolDef]:
        """Every tool of every reachable service, from a cache refreshed when stale."""
        now = time.monotonic()
        for service in self.services:
            if now - self._listed_at.get(service, 0.0) > self.cache_seconds:
                self._refresh(service, user_id)
        return list(self._tools.values())

    def openai_specs(self, user_id: str) -> tuple[dict[str, Any], ...]:
        """`tools` in the LLM's function format: the same tuple until the tools change, so
        that the provider encodes them once (app/agent/openai_provider.py)."""
        tools = self.tools(user_id)
        if self._specs is None:
            self._specs = tuple(tool.openai_spec() for tool in tools)
        return self._specs

    def service_of(self, name: str) -> str | None:
        tool = self._tools.get(name)
        return tool.service if tool else None

    def is_read_only(self, name: str) -> bool:
        """Whether the tool's annotations say it only reads; unknown tools do not."""
        tool = self._tools.get(name)
        return tool.read_only if tool else False

    def call(
        self, user_id: str, name: str, arguments: dict[str, Any], request_id: str | None = None
    ) -> ToolResult:
        """Call a tool; every failure comes back as a ToolResult with ok=False."""
        service = self.service_of(name)
        if service is None:
            self.tools(user_id)
            service = self.service_of(name)
        if service is None:
            return ToolResult(False, f"tool {name} is unavailable right now")
        try:
            params = {"name": name, "arguments": arguments}
            answer = self._rpc(service, user_id, "tools/call", params, request_id)
            result = CallToolResult.model_validate(answer)
        except McpError as error:
            self._listed_at[service] = 0.0  # rediscover on the next call
            return ToolResult(False, str(error))
        except pydantic.ValidationError:
            return ToolResult(False, f"the {service} service sent an invalid tool result")
        text = "\n".join(part.text for part in result.content if isinstance(part, TextContent))
        structured = result.structured_content
        if result.is_error:
            return ToolResult(False, text or "the tool failed")
        return ToolResult(True, text or json.dumps(structured), structured)


def _read_answer(response: requests.Response) -> JSONRPCResponse | JSONRPCError:
    """The JSON-RPC answer of a response, whether sent as JSON or as one SSE event."""
    body = response.text
    if response.headers.get("Content-Type", "").startswith("text/event-stream"):
        data = [line[5:] for line in body.splitlines() if line.startswith("data:")]
        if not data:
            raise McpError("the service sent no message")
        body = data[0]
    try:
        return _ANSWER.validate_json(body)
    except pydantic.ValidationError:
        raise McpError(f"the service answered {response.status_code} with no JSON-RPC") from None
