"""MCP's JSON-RPC messages at a stateless service: parse, route by protocol era, answer.

Free of Flask and of HTTP status policy beyond the message itself: `parse_message` reads the
raw body (a body that is not JSON, or is nested deeper than `MAX_JSON_DEPTH`, is a parse error),
and `McpProtocol.respond` takes the parsed message and the request headers and returns a `Reply`
(HTTP status and JSON body). Every
message is read and written with the SDK's own models (`mcp_types`), per protocol version
(`mcp_types.methods`), so what is accepted and what is sent is exactly what the spec's schema
for that version allows.

Two protocol eras share the one endpoint:

- the initialize handshake (2025-11-25, 2025-06-18, 2025-03-26): the client says `initialize`,
  we answer with its version if we speak it, else our latest; later requests name the version in
  the `MCP-Protocol-Version` header (absent means 2025-03-26, as the spec says). We are stateless:
  no `Mcp-Session-Id`, every request stands alone, so `initialize` is a courtesy, not a gate.
- the per-request revision 2026-07-28: no handshake; every request carries its version, client
  info and capabilities in `params._meta`, and the `MCP-Protocol-Version`, `Mcp-Method` and
  `Mcp-Name` headers must agree with the body. That check is the SDK's own ladder
  (`mcp.shared.inbound`), so client and server read the same rules. `server/discover` says
  which revisions and capabilities we offer.

The era is chosen by the `MCP-Protocol-Version` header, as the SDK's server does. JSON-RPC
errors go out with the HTTP status the SDK's table gives them in the 2026 era (400 for bad
params, 404 for an unknown method) and with 200 in the handshake era, where the error is a
normal response; a body that is not one JSON-RPC request or notification is always a 400.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_PROTOCOL_VERSION_HEADER,
    InboundLadderRejection,
    classify_inbound_request,
    validate_mcp_param_headers,
)
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    SERVER_INFO_META_KEY,
    UNSUPPORTED_PROTOCOL_VERSION,
    CallToolRequest,
    DiscoverResult,
    EmptyResult,
    ErrorData,
    Implementation,
    InitializeResult,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    ListToolsResult,
    Request,
    RequestId,
    Result,
    ServerCapabilities,
    ToolsCapability,
    UnsupportedProtocolVersionErrorData,
)
from mcp_types import methods as wire
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from app.mcp.auth import Principal
from app.mcp.tools import ToolRegistry, describe_validation_error

log = logging.getLogger(__name__)

HANDSHAKE_VERSIONS: tuple[str, ...] = ("2025-11-25", "2025-06-18", "2025-03-26")
"""Handshake-era revisions we speak, newest first; the first is the counter-offer."""
MODERN_VERSIONS: tuple[str, ...] = tuple(MODERN_PROTOCOL_VERSIONS)
SUPPORTED_VERSIONS: tuple[str, ...] = (*MODERN_VERSIONS, *HANDSHAKE_VERSIONS)
VERSION_WITHOUT_HEADER = "2025-03-26"
"""What a request without `MCP-Protocol-Version` speaks (streamable HTTP, 2025-06-18)."""
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in a body; MCP messages need about 8."""
REQUEST_METHODS: tuple[str, ...] = (
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
)
"""The requests `McpProtocol` answers; any other method is -32601."""
KNOWN_METHODS = frozenset(
    {*REQUEST_METHODS, "notifications/initialized", "notifications/cancelled"}
)
"""The method names a metric label may carry; everything else is counted as "other"."""


class RpcError(Exception):
    """A JSON-RPC error answer to the request being handled."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class InsufficientScope(Exception):
    """The token is valid but lacks the scope this request needs (an HTTP 403, not JSON-RPC)."""

    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


@dataclass(frozen=True)
class Reply:
    """What to send back: an HTTP status and a JSON body (None for 202 Accepted)."""

    status: int
    body: dict[str, Any] | None


@dataclass(frozen=True)
class ServerIdentity:
    name: str
    version: str
    instructions: str | None = None


@dataclass(frozen=True)
class Exchange:
    """One request being answered: its era's version and who is asking."""

    version: str
    principal: Principal

    @property
    def modern(self) -> bool:
        return self.version in MODERN_VERSIONS


class McpProtocol:
    """Answers one POSTed JSON-RPC message for the tools of one registry."""

    def __init__(self, registry: ToolRegistry, identity: ServerIdentity) -> None:
        self.registry = registry
        self.identity = identity
        self._handlers: dict[str, Callable[[Any, Exchange], Result]] = {
            "initialize": self._initialize,
            "ping": lambda _request, _exchange: EmptyResult(),
            "server/discover": self._discover,
            "tools/list": self._list_tools,
            "tools/call": self._call_tool,
        }
        assert set(self._handlers) == set(REQUEST_METHODS)

    def respond(
        self,
        decoded: Any,
        message: JSONRPCRequest | JSONRPCNotification,
        headers: Mapping[str, str],
        principal: Principal,
    ) -> Reply:
        """The reply to one message from `parse_message`.

        Raises `InsufficientScope` for the HTTP layer.
        """
        headers = {name.lower(): value for name, value in headers.items()}
        request_id = message.id if isinstance(message, JSONRPCRequest) else None
        header_version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
        if header_version is not None and header_version not in SUPPORTED_VERSIONS:
            return error_reply(request_id, unsupported_version(header_version), status=400)
        if isinstance(message, JSONRPCNotification):
            return Reply(202, None)
        if header_version in MODERN_VERSIONS:
            rejection = modern_envelope_rejection(decoded, headers, self.registry)
            if rejection is not None:
                error = RpcError(rejection.code, rejection.message, rejection.data)
                return error_reply(request_id, error, status=_modern_status(error.code))
        exchange = Exchange(_request_version(message, header_version), principal)
        return self._answer(message, exchange)

    def _answer(self, message: JSONRPCRequest, exchange: Exchange) -> Reply:
        try:
            result = self._dispatch(message.method, message.params, exchange)
            wire_result = self._wire_result(message.method, exchange.version, result)
        except RpcError as error:
            status = _modern_status(error.code) if exchange.modern else 200
            if error.code == INTERNAL_ERROR:
                status = 500
            return error_reply(message.id, error, status=status)
        response = JSONRPCResponse(jsonrpc="2.0", id=message.id, result=wire_result)
        return Reply(200, response.model_dump(by_alias=True, mode="json", exclude_none=True))

    def _dispatch(self, method: str, params: dict[str, Any] | None, exchange: Exchange) -> Result:
        try:
            request = wire.parse_client_request(method, exchange.version, params)
        except KeyError:
            raise RpcError(METHOD_NOT_FOUND, "Method not found", method) from None
        except pydantic.ValidationError as error:
            detail = describe_validation_error(error)
            raise RpcError(INVALID_PARAMS, f"Invalid params: {detail}") from None
        handler = self._handlers.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, "Method not found", method)
        return handler(request, exchange)

    def _wire_result(self, method: str, version: str, result: Result) -> dict[str, Any]:
        """The result shaped by the spec's schema for `version` (other eras' fields dropped)."""
        dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        try:
            dumped = wire.serialize_server_result(method, version, dumped)
        except pydantic.ValidationError:
            log.exception("the %s result does not fit the %s schema", method, version)
            raise RpcError(INTERNAL_ERROR, "Internal error") from None
        if version in MODERN_VERSIONS:
            dumped.setdefault("resultType", "complete")
            meta = dumped.get("_meta") or {}
            server_info = self._implementation().model_dump(mode="json", exclude_none=True)
            dumped["_meta"] = {**meta, SERVER_INFO_META_KEY: server_info}
        return dumped

    # Methods ----------------------------------------------------------------------------------

    def _implementation(self) -> Implementation:
        return Implementation(name=self.identity.name, version=self.identity.version)

    def _capabilities(self) -> ServerCapabilities:
        return ServerCapabilities(tools=ToolsCapability(list_changed=False))

    def _initialize(self, request: Request, exchange: Exchange) -> InitializeResult:
        return InitializeResult(
            protocol_version=exchange.version,
            capabilities=self._capabilities(),
            server_info=self._implementation(),
            instructions=self.identity.instructions,
        )

    def _discover(self, request: Request, exchange: Exchange) -> DiscoverResult:
        return DiscoverResult(
            supported_versions=list(MODERN_VERSIONS),
            capabilities=self._capabilities(),
            instructions=self.identity.instructions,
        )

    def _list_tools(self, request: Request, exchange: Exchange) -> ListToolsResult:
        """Every tool, whatever the token's scopes: calling one is where its scope is checked."""
        return ListToolsResult(tools=[tool.definition() for tool in self.registry])

    def _call_tool(self, request: CallToolRequest, exchange: Exchange) -> Result:
        name = request.params.name
        tool = self.registry.get(name)
        if tool is None:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
        if not exchange.principal.has_scope(tool.scope):
            raise InsufficientScope(tool.scope)
        started = time.perf_counter()
        result = tool.call(request.params.arguments)
        log.info(
            "tool %s for %s: %s in %.1f ms",
            name,
            exchange.principal.subject,
            "error" if result.is_error else "ok",
            (time.perf_counter() - started) * 1000,
        )
        return result


def parse_message(body: bytes) -> tuple[Any, JSONRPCRequest | JSONRPCNotification]:
    """The decoded JSON and its envelope; one request or notification, nothing else.

    JSON nested deeper than `MAX_JSON_DEPTH` is refused as a parse error, whether `json.loads`
    gives up on it (`RecursionError`) or the nesting is found after decoding: nothing later
    (schema checks, pydantic, the tools) has to walk a structure deep enough to exhaust the
    stack.
    """
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        raise RpcError(PARSE_ERROR, "Parse error") from None
    if nesting_exceeds(decoded, MAX_JSON_DEPTH):
        message = f"Parse error: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        raise RpcError(PARSE_ERROR, message) from None
    # JSON-RPC 2.0: a notification is a request object without an "id" member.
    is_notification = isinstance(decoded, dict) and "id" not in decoded
    envelope = JSONRPCNotification if is_notification else JSONRPCRequest
    try:
        return decoded, envelope.model_validate(decoded)
    except pydantic.ValidationError:
        message = "Body must be a single JSON-RPC request or notification object"
        raise RpcError(INVALID_REQUEST, message) from None


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether decoded JSON has arrays or objects nested more than `limit` deep (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def method_label(method: str | None) -> str:
    """A metric label for a JSON-RPC method: known names as they are, else "other" ("none"
    when there was no message), so callers cannot add label values."""
    if method is None:
        return "none"
    return method if method in KNOWN_METHODS else "other"


def modern_envelope_rejection(
    decoded: dict[str, Any], headers: Mapping[str, str], registry: ToolRegistry
) -> InboundLadderRejection | None:
    """The SDK's 2026-07-28 ladder: `_meta` envelope, routing headers, `Mcp-Param-*` headers.

    (A header sent twice reaches a WSGI app already joined with a comma, so it can never
    match the body: it is refused as a mismatch, or as an unsupported version.)
    """
    verdict = classify_inbound_request(decoded, headers=headers)
    if isinstance(verdict, InboundLadderRejection):
        return verdict
    params = decoded.get("params") or {}
    name, arguments = params.get("name"), params.get("arguments")
    if decoded.get("method") != "tools/call" or not isinstance(name, str):
        return None
    tool = registry.get(name)
    if tool is None or not isinstance(arguments, dict):
        return None
    return validate_mcp_param_headers(tool.definition().input_schema, arguments, headers)


def _request_version(message: JSONRPCRequest, header_version: str | None) -> str:
    """The version a request is read and answered at."""
    if message.method == "initialize" and header_version not in MODERN_VERSIONS:
        requested = (message.params or {}).get("protocolVersion")
        return requested if requested in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[0]
    return header_version or VERSION_WITHOUT_HEADER


def unsupported_version(requested: str) -> RpcError:
    data = UnsupportedProtocolVersionErrorData(
        supported=list(SUPPORTED_VERSIONS), requested=requested
    ).model_dump(mode="json")
    return RpcError(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", data)


def _modern_status(code: int) -> int:
    return ERROR_CODE_HTTP_STATUS.get(code, 200)


def error_reply(request_id: RequestId | None, error: RpcError, *, status: int) -> Reply:
    message = JSONRPCError(
        jsonrpc="2.0",
        id=request_id,
        error=ErrorData(code=error.code, message=error.message, data=error.data),
    )
    body = message.model_dump(by_alias=True, mode="json", exclude_none=True)
    body["id"] = request_id  # JSON-RPC wants `"id": null` when the id is unknown
    return Reply(status, body)
