"""The OpenAPI 3.1 document of the JSON API (CONTRACT.md 6.6), built from the app itself.

Request bodies are the pydantic models the views validate with (`parse_body(SignupBody)` and
the like), imported here, never restated; responses are the models below, which schemathesis
holds to what the views really answer (tests/integration/test_schemathesis.py). The SSE
events are the wire dataclasses of app/chat/events.py. Paths come from the app's own URL map:
an operation is documented when its route exists, and tests/test_openapi.py fails when a route
has no operation here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel, Field, TypeAdapter
from pydantic.json_schema import models_json_schema

from app.auth.views import LoginBody, McpTokenBody, SignupBody, TokenBody
from app.chat.actions import RegenerateBody
from app.chat.api import RenameBody
from app.chat.events import WireEvent
from app.chat.replies import ChatBody
from app.validation import ApprovalBody

REF = "#/components/schemas/{model}"
EVENT_NAMES = ("start", "thinking", "tool", "approval", "content", "error", "done")


# Responses: what the views answer (their `to_dict`s and literals).
class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: invalid_request, not_found, …")
    message: str = Field(description="For people.")
    fields: dict[str, str] | None = Field(
        default=None, description="Only for validation errors: one message per bad field."
    )


class Error(BaseModel):
    """The one error shape of every JSON endpoint."""

    error: ErrorDetail
    status: str | None = Field(
        default=None, description="`stream_finished` only: how the stream ended."
    )


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    created_at: str


class Me(BaseModel):
    user: UserOut


class LoginAnswer(BaseModel):
    user: UserOut
    access_token: str
    token_type: str = Field(description="Always `Bearer`.")
    expires_in: int = Field(description="Seconds.")


class TokenInfo(BaseModel):
    id: str
    name: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None


class CreatedToken(BaseModel):
    id: str
    name: str
    token: str = Field(description="Shown this once.")
    created_at: str
    expires_at: str | None


class TokenList(BaseModel):
    tokens: list[TokenInfo]


class McpToken(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    mcp_url: str


class Jwks(BaseModel):
    keys: list[dict[str, str]]


class StreamStarted(BaseModel):
    stream_id: str
    conversation_id: str
    message_id: str
    stream_url: str = Field(description="Open it with EventSource (GET).")


class Cancelling(BaseModel):
    stream_id: str
    status: str = Field(description="Always `cancelling`.")


class ApprovalAnswer(BaseModel):
    """The approval was taken; the stream goes on with the call run or declined."""

    model_config = {"extra": "allow"}


class ConversationOut(BaseModel):
    id: str
    title: str
    created_at: str
    updated_at: str


class ConversationList(BaseModel):
    conversations: list[ConversationOut]


class OneConversation(BaseModel):
    conversation: ConversationOut


class MessageOut(BaseModel):
    id: str
    role: str = Field(description="`user` or `assistant`.")
    content: str
    tool_calls: list[dict[str, Any]]
    status: str = Field(
        description="streaming, completed, cancelled, failed, timeout, interrupted, superseded"
    )
    stream_id: str | None
    metrics: dict[str, Any] | None
    error: str | None
    created_at: str


class ConversationDetail(BaseModel):
    conversation: ConversationOut
    messages: list[MessageOut]


class SseHealth(BaseModel):
    status: str
    active_streams: int
    connected_clients: int
    broker: str
    keepalive_s: float
    timeout_s: float
    retry_ms: int


class Health(BaseModel):
    status: str = Field(description="`ok`, or `degraded` when a dependency is down.")
    service: str
    database: str
    mcp_services: dict[str, str]
    llm_mode: str


@dataclass(frozen=True)
class Op:
    """One operation: its route (as Flask writes it), what it takes and what it answers."""

    method: str
    rule: str
    summary: str
    tag: str
    ok: dict[int, type[BaseModel] | str | None]  # a model, a media type, or no body
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    body_optional: bool = False
    auth: bool = True
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""


SSE = "text/event-stream"
BODY_ERRORS = (400, 413, 415)
CHAT_START_ERRORS = (*BODY_ERRORS, 401, 403, 404, 429, 503)
FORMAT_TEXT = {"format": {"type": "string", "enum": ["text"], "description": "Plain text."}}
STREAM_DESCRIPTION = (
    "Server-Sent Events: `retry: <ms>`, then events named "
    + ", ".join(f"`{name}`" for name in EVENT_NAMES)
    + " (their `data` schemas are the `*Event` components), each with the id "
    "`<stream_id>:<seq>`, and `: keep-alive` comments. Exactly one `done` ends the stream. "
    "With `?format=text` or `Accept: text/plain`: the text, then `[done: <status>]`."
)

OPERATIONS: tuple[Op, ...] = (
    Op("POST", "/auth/signup", "Create an account; returns a one-hour token", "auth",
       {201: LoginAnswer}, (*BODY_ERRORS, 409, 429), SignupBody, auth=False),
    Op("POST", "/auth/login", "Log in; returns a one-hour token", "auth",
       {200: LoginAnswer}, (*BODY_ERRORS, 401, 429), LoginBody, auth=False),
    Op("POST", "/auth/logout", "Revoke this Bearer token (or end the browser session)", "auth",
       {204: None, 302: None}, (401, 403)),
    Op("GET", "/auth/me", "Who the credentials belong to", "auth", {200: Me}, (401,)),
    Op("POST", "/auth/tokens", "Create a named API token (shown once)", "tokens",
       {201: CreatedToken}, (*BODY_ERRORS, 401, 403), TokenBody),
    Op("GET", "/auth/tokens", "List API tokens (no token values)", "tokens",
       {200: TokenList}, (401,)),
    Op("DELETE", "/auth/tokens/<id:token_id>", "Revoke an API token", "tokens",
       {204: None}, (401, 403, 404)),
    Op("POST", "/auth/mcp-token", "A short-lived token for one MCP service", "tokens",
       {201: McpToken}, (*BODY_ERRORS, 401, 403), McpTokenBody),
    Op("GET", "/.well-known/jwks.json", "The public keys that verify every token", "auth",
       {200: Jwks}, (), auth=False),
    Op("POST", "/agents/chat-stream", "Start a reply and stream it", "streams",
       {200: SSE}, CHAT_START_ERRORS, ChatBody, query=FORMAT_TEXT,
       description=STREAM_DESCRIPTION),
    Op("POST", "/agents/streams", "Start a reply; follow it at `stream_url`", "streams",
       {202: StreamStarted}, CHAT_START_ERRORS, ChatBody),
    Op("GET", "/agents/streams/<id:stream_id>", "Replay after Last-Event-ID, then follow",
       "streams", {200: SSE, 204: None}, (401, 404, 503),
       query={**FORMAT_TEXT, "last_event_id": {"type": "string"}},
       headers={"Last-Event-ID": {"type": "string", "description": "`<stream_id>:<seq>`"}},
       description=STREAM_DESCRIPTION + " 204 when nothing is left to read."),
    Op("POST", "/agents/streams/<id:stream_id>/cancel", "Stop a running reply", "streams",
       {202: Cancelling}, (401, 403, 404, 409, 503),
       description="409 `stream_finished` (with `status`) once the reply has ended."),
    Op("POST", "/agents/streams/<id:stream_id>/approvals/<call_id>",
       "Approve or decline a tool call that acts outside the app", "streams",
       {200: ApprovalAnswer}, (*BODY_ERRORS, 401, 403, 404, 409), ApprovalBody),
    Op("GET", "/sse/health", "Streams and readers across every worker", "health",
       {200: SseHealth}, (503,), auth=False),
    Op("GET", "/agents/conversations", "Conversations, newest first", "conversations",
       {200: ConversationList}, (400, 401),
       query={"q": {"type": "string", "maxLength": 200,
                    "description": "Keep those whose title or messages contain it."}}),
    Op("GET", "/agents/conversations/<id:conversation_id>", "A conversation and its messages",
       "conversations", {200: ConversationDetail}, (401, 404),
       query={"format": {"type": "string", "enum": ["markdown"],
                         "description": "Download as a Markdown file (text/markdown)."}}),
    Op("PATCH", "/agents/conversations/<id:conversation_id>", "Rename a conversation",
       "conversations", {200: OneConversation}, (*BODY_ERRORS, 401, 403, 404), RenameBody),
    Op("DELETE", "/agents/conversations/<id:conversation_id>", "Delete a conversation",
       "conversations", {204: None}, (401, 403, 404)),
    Op("POST", "/agents/conversations/<id:conversation_id>/regenerate",
       "Redo the last reply (optionally editing the last message)", "conversations",
       {202: StreamStarted}, (*CHAT_START_ERRORS, 409), RegenerateBody, body_optional=True,
       description="The replaced reply stays in history with status `superseded`; 409 "
       "`reply_running` while a reply to that message is still being written."),
    Op("GET", "/health", "Is the app up, and its dependencies", "health",
       {200: Health, 503: Health}, (), auth=False),
    Op("GET", "/metrics", "Prometheus metrics (with METRICS_TOKEN; else 404)", "health",
       {200: "text/plain"}, (401, 404), auth=False),
    Op("GET", "/openapi.json", "This document", "health", {200: "application/json"}, (),
       auth=False),
)  # fmt: skip

ID_PATTERN = "^[0-9a-f]{32}$"  # the `id` converter (app/validation.py)
RULE_PART = re.compile(r"<(?:(\w+):)?(\w+)>")


def routes(app: Flask) -> dict[tuple[str, str], str]:
    """Every (method, OpenAPI path) the app serves, HEAD and OPTIONS aside, with its rule."""
    return {
        (method, _path_of(rule.rule)[0]): rule.rule
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def build_document(app: Flask) -> dict[str, Any]:
    """The whole document, for the operations whose routes this app has.

    An operation matches its route by method and path whatever converters the route uses
    (`<call_id>` or `<string:call_id>`); the parameters are described from the app's rule.
    """
    served = routes(app)
    matched = [(op, served.get((op.method, _path_of(op.rule)[0]))) for op in OPERATIONS]
    operations = [(op, rule) for op, rule in matched if rule is not None]
    models = {Error}
    for op, _ in operations:
        models.update(m for m in (op.body, *op.ok.values()) if isinstance(m, type))
    keyed, top = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF,
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    refs = {model: keyed[(model, "validation")] for model in models}
    for event in _wire_events():
        schemas[_event_schema_name(event)] = TypeAdapter(event).json_schema(ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op, rule in operations:
        path, parameters = _path_of(rule)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op, parameters, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Estate Assistant API",
            "version": "2",
            "description": (
                'Every error body is `{"error": {"code", "message", "fields"?}}` (the '
                "`Error` component). Send a Bearer token (`POST /auth/login`, or an API token "
                "from `POST /auth/tokens`), or the browser's session cookie with its CSRF token "
                "in `X-CSRFToken` on every state-changing request."
            ),
        },
        "servers": [{"url": app.config["APP_URL"]}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": app.config.get("SESSION_COOKIE_NAME", "session"),
                },
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": 'The page\'s `<meta name="csrf-token">`, with the session.',
                },
            },
        },
    }


def _wire_events() -> list[type[WireEvent]]:
    order = {name: index for index, name in enumerate(EVENT_NAMES)}
    return sorted(WireEvent.__subclasses__(), key=lambda event: order.get(event.event, 99))


def _event_schema_name(event: type[WireEvent]) -> str:
    return f"{event.event.capitalize()}Event"


def _event_schema() -> dict[str, Any]:
    """One event of the stream (`event`, `id`, and `data`: JSON of that event's component)."""
    one_of = [
        {
            "properties": {
                "event": {"enum": [event.event]},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": REF.format(model=_event_schema_name(event))},
                },
            }
        }
        for event in _wire_events()
    ]
    return {
        "type": "object",
        "required": ["event", "id", "data"],
        "properties": {
            "event": {"enum": list(EVENT_NAMES)},
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}:[1-9][0-9]*$"},
            "data": {"type": "string"},
        },
        "anyOf": one_of,  # one per event name (the `event` of each branch tells which)
    }


def _path_of(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """`/a/<id:x>` as `/a/{x}`, with its path parameters (ids match the `id` converter)."""
    parameters = []
    for converter, name in RULE_PART.findall(rule):
        schema: dict[str, Any] = {"type": "string"}
        if converter == "id":
            schema["pattern"] = ID_PATTERN
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return RULE_PART.sub(lambda match: "{" + match.group(2) + "}", rule), parameters


def _operation(
    op: Op, parameters: list[dict[str, Any]], refs: dict[type[BaseModel], Any]
) -> dict[str, Any]:
    parameters = list(parameters)
    parameters += [{"name": n, "in": "query", "schema": s} for n, s in op.query.items()]
    parameters += [{"name": n, "in": "header", "schema": s} for n, s in op.headers.items()]
    operation: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op.rule.lower())}",
        "responses": {},
    }
    if op.description:
        operation["description"] = op.description
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {
            "required": not op.body_optional,
            "content": {"application/json": {"schema": refs[op.body]}},
        }
    if op.auth:
        write = op.method != "GET"
        operation["security"] = [{"bearer": []}, {"session": [], **({"csrf": []} if write else {})}]
    else:
        operation["security"] = []
    for status, answer in op.ok.items():
        operation["responses"][str(status)] = _success(answer, refs, op)
    error = {"$ref": REF.format(model="Error")}
    for status in op.errors:
        operation["responses"][str(status)] = {
            "description": ERROR_MEANINGS[status],
            "content": {"application/json": {"schema": error}},
        }
    return operation


def _success(
    answer: type[BaseModel] | str | None, refs: dict[type[BaseModel], Any], op: Op
) -> dict[str, Any]:
    if answer is None:
        return {"description": "No content." if op.method != "POST" else "Done; no body."}
    if isinstance(answer, str):
        content: dict[str, Any] = {answer: {"schema": {"type": "string"}}}
        if answer == SSE:
            content = {
                SSE: {"schema": _event_schema()},
                "text/plain": {"schema": {"type": "string"}},
            }
            return {"description": "The reply's events.", "content": content}
        if op.rule == "/openapi.json":
            content = {answer: {"schema": {"type": "object"}}}
        return {"description": "OK.", "content": content}
    content = {"application/json": {"schema": refs[answer]}}
    if op.rule == "/agents/conversations/<id:conversation_id>" and op.method == "GET":
        content["text/markdown"] = {"schema": {"type": "string"}}
    return {"description": answer.__doc__ or "OK.", "content": content}


ERROR_MEANINGS = {
    400: "Malformed or invalid input (`fields` names the bad ones).",
    401: "Missing or bad credentials.",
    403: "Not allowed: `csrf_failed` for a session request without its CSRF token.",
    404: "No such resource (also another user's).",
    409: "Conflict.",
    413: "Body over MAX_BODY_BYTES.",
    415: "Not a JSON body.",
    429: "Rate limited; `Retry-After` says how long to wait.",
    503: "A dependency is unavailable; `Retry-After` says when to retry.",
}
