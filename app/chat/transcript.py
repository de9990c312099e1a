"""What a reply is made of while it is written, and how it ended: text, tool calls, metrics.

`ReplyInfo` names a reply (its stream, user, conversation and message). A `Transcript` collects
the reply as the agent loop produces it, or as rebuilt from the events a dead process had
published; `Transcript.outcome` is what is stored (app/chat/replies.py) and announced in `done`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from app.agent.display import display_for
from app.agent.events import AgentError, ToolFinished, ToolStarted
from app.chat.events import Tool
from app.streaming.broker import StreamInfo
from app.streaming.sse import Event


@dataclass(frozen=True, slots=True)
class ReplyInfo:
    """Who a reply belongs to and what it answers; its stream carries the ids as `meta`."""

    stream_id: str
    user_id: str
    conversation_id: str
    message_id: str

    def stream(self) -> StreamInfo:
        meta = {"conversation_id": self.conversation_id, "message_id": self.message_id}
        return StreamInfo(self.stream_id, self.user_id, meta)

    @classmethod
    def of(cls, stream: StreamInfo) -> ReplyInfo:
        meta = stream.meta
        return cls(stream.stream_id, stream.owner, meta["conversation_id"], meta["message_id"])


@dataclass
class Outcome:
    """How a reply ended, everything that is stored and announced in `done`."""

    info: ReplyInfo
    status: str  # completed, cancelled, failed, timeout, interrupted
    text: str
    tool_calls: list[dict[str, Any]]
    metrics: dict[str, Any]
    error: AgentError | None = None

    @property
    def done_status(self) -> str:
        # "interrupted" is how the message is stored; on the wire the stream was cancelled.
        return "cancelled" if self.status == "interrupted" else self.status


@dataclass
class Transcript:
    """The reply so far, and the figures of `done`'s `metrics`."""

    started: float = field(default_factory=time.monotonic)
    first_content: float | None = None  # None also when not known (rebuilt from events)
    text: str = ""  # one string, not a list keeping every chunk alive
    chunks: int = 0
    tool_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: int | None = None  # as the model reported them; None: estimated from the text

    def count_tokens(self, completion_tokens: int) -> None:
        self.tokens = (self.tokens or 0) + completion_tokens

    def content(self, text: str) -> None:
        if self.first_content is None:
            self.first_content = time.monotonic()
        self.text += text
        self.chunks += 1

    def tool_started(self, event: ToolStarted) -> Tool:
        record = {"call_id": event.call_id, "name": event.name, "arguments": event.arguments}
        self.tool_calls[event.call_id] = {**record, "status": "started"}
        return Tool(event.call_id, event.name, "started", arguments=event.arguments)

    def tool_finished(self, event: ToolFinished) -> Tool:
        """Record how the call ended, as it is stored with the message; returns its event."""
        arguments = self.tool_calls.get(event.call_id, {}).get("arguments", {})
        status = "failed" if event.error else "completed"
        record: dict[str, Any] = {
            "call_id": event.call_id,
            "name": event.name,
            "arguments": arguments,
            "status": status,
            "duration_ms": event.duration_ms,
        }
        display = None if event.error else display_for(event.name, event.structured)
        if event.error:
            record["error"] = event.error
        else:
            record["summary"] = event.summary
        if display is not None:
            record["display"] = display
        self.tool_calls[event.call_id] = record
        summary = None if event.error else event.summary
        return Tool(
            event.call_id,
            event.name,
            status,
            None,
            event.duration_ms,
            summary,
            event.error,
            display,
        )

    @classmethod
    def replay(cls, events: list[Event], age_s: float) -> Transcript:
        """The reply as far as these published events tell, begun `age_s` seconds ago."""
        transcript = cls(started=time.monotonic() - age_s)
        for event in events:
            if event.name == "content":
                transcript.text += event.data["chunk"]
                transcript.chunks += 1
            elif event.name == "tool":
                call = event.data
                previous = transcript.tool_calls.get(call["call_id"], {})
                transcript.tool_calls[call["call_id"]] = {**previous, **call}
        return transcript

    def outcome(self, info: ReplyInfo, status: str, error: AgentError | None) -> Outcome:
        """How the reply ended; tool calls still running when it stopped count as cancelled."""
        for call in self.tool_calls.values():
            if call["status"] == "started":
                call["status"] = "cancelled"
        calls = list(self.tool_calls.values())
        return Outcome(info, status, self.text, calls, self.metrics(), error)

    def metrics(self) -> dict[str, Any]:
        now = time.monotonic()
        ttft = round((self.first_content - self.started) * 1000) if self.first_content else None
        tokens = self.tokens if self.tokens is not None else estimate_tokens(self.text)
        writing_s = now - (self.first_content or self.started)
        return {
            "ttft_ms": ttft,
            "duration_ms": round((now - self.started) * 1000),
            "chunks": self.chunks,
            "tool_calls": len(self.tool_calls),
            "tokens": tokens,
            "tokens_per_s": round(tokens / max(writing_s, MIN_RATE_SECONDS), 1),
        }


MIN_RATE_SECONDS = 0.1  # a rate over less time says nothing (CONTRACT 6.5)


def estimate_tokens(text: str) -> int:
    """Tokens of an English text when the model did not say: about four characters each."""
    return (len(text) + 3) // 4
