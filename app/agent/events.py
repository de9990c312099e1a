"""What the agent loop yields: plain data, no HTTP. The stream runner turns them into events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)  # one per chunk: not frozen, whose `__init__` costs three times as much
class ContentDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolStarted:
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolFinished:
    """A tool call ended; `error` is set when it failed. `result` is what the model is shown."""

    call_id: str
    name: str
    duration_ms: int
    summary: str = ""
    error: str | None = None
    result: str = ""
    structured: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    """A call that acts outside the app waits for the user's approval (app/agent/consent.py)."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    expires_in: int


@dataclass(frozen=True, slots=True)
class AgentError:
    """The reply cannot go on (upstream LLM failure and the like); the stream ends failed."""

    code: str
    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens the model reports having written in one step (its `usage`), for `done.metrics`."""

    completion_tokens: int


AgentEvent = ContentDelta | ToolStarted | ToolFinished | ApprovalRequested | AgentError | Usage


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """A tool call the provider asks for. `arguments` is None when its JSON did not parse."""

    call_id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str
