"""The events of a reply's stream, as the client sees them (CONTRACT.md), in one place.

A reply's stream is `start`, `thinking`, any number of `tool` and `content`, an `error` if it
failed, and `done`. The generation (app/chat/generation.py) publishes them; `closing` is the one
way a stream is ended, whoever ends it: the generation, a process closing the reply of a dead
one (app/chat/runner.py), a reader whose broker failed, or a reader answered from the database
(app/chat/api.py). `as_text` turns them into plain text for terminals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from app.agent.consent import DECLINED, text_mode_hint
from app.agent.events import AgentError
from app.streaming.reader import READER_GAVE_UP, STREAM_VANISHED, Batches
from app.streaming.sse import Event, encode


class WireEvent:
    """An event's payload; `event` is its name on the wire. Fields left None are not sent."""

    __slots__ = ()
    event: ClassVar[str]

    def data(self) -> dict[str, Any]:
        values = ((f.name, getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]
        return {name: value for name, value in values if value is not None}


@dataclass(frozen=True, slots=True)
class Start(WireEvent):
    event: ClassVar[str] = "start"
    stream_id: str
    conversation_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Thinking(WireEvent):
    event: ClassVar[str] = "thinking"
    status: str = "processing"
    message: str = "Analyzing your request..."


@dataclass(frozen=True, slots=True)
class Tool(WireEvent):
    """A tool call started (with its `arguments`) or ended (with `duration_ms`, and `summary`
    or `error`)."""

    event: ClassVar[str] = "tool"
    call_id: str
    name: str
    status: str
    arguments: dict[str, Any] | None = None
    duration_ms: int | None = None
    summary: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Approval(WireEvent):
    """A tool call that acts outside the app waits for the user's answer (CONTRACT.md 6.3)."""

    event: ClassVar[str] = "approval"
    call_id: str
    name: str
    arguments: dict[str, Any]
    expires_in: int


@dataclass(frozen=True, slots=True)
class Content(WireEvent):
    event: ClassVar[str] = "content"
    chunk: str


@dataclass(frozen=True, slots=True)
class Error(WireEvent):
    event: ClassVar[str] = "error"
    code: str
    message: str
    retryable: bool = True

    @classmethod
    def of(cls, error: AgentError) -> Error:
        return cls(error.code, error.message, error.retryable)


@dataclass(frozen=True, slots=True)
class Done(WireEvent):
    """The last event; `metrics` only when the reply's writer knows them."""

    event: ClassVar[str] = "done"
    status: str
    conversation_id: str
    message_id: str
    metrics: dict[str, Any] | None = None


def closing(
    conversation_id: str,
    message_id: str,
    status: str,
    error: Error | None = None,
    metrics: dict[str, Any] | None = None,
) -> list[WireEvent]:
    """The events that end a reply's stream: its `error`, if any, then `done`."""
    done = Done(status, conversation_id, message_id, metrics)
    return [done] if error is None else [error, done]


def numbered(events: list[WireEvent], after: int) -> list[Event]:
    """Events written by a reader itself rather than read from the broker, numbered on from the
    client's `after`."""
    return [Event(after + i, e.event, encode(e.data())) for i, e in enumerate(events, start=1)]


# The `error` of a stream its reader has to end (app/streaming/reader.py's reasons).
READER_ENDINGS = {
    READER_GAVE_UP: "The streaming service is unavailable; "
    "the reply so far is kept in the conversation.",
    STREAM_VANISHED: "This reply's stream was lost; the reply so far is kept in the conversation.",
}


def as_text(batches: Batches) -> Iterator[str]:
    """Plain text for terminals: the reply's text, an `[error: …]` line if any, `[done: …]`."""
    for batch in batches:
        if batch is None:
            continue
        out: list[str] = []
        for event in batch:
            if event.name == "content":
                out.append(event.data["chunk"])
            elif event.name == "error":
                out.append(f"\n[error: {event.data['message']}]")
            elif event.name == "tool" and event.data.get("error") == DECLINED:
                out.append(f"\n[declined: {text_mode_hint(event.data['name'])}]\n")
            elif event.name == "done":
                out.append(f"\n[done: {event.data['status']}]\n")
        if out:
            yield "".join(out)
