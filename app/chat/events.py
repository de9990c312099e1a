"""The events of a reply's stream, as the client sees them, in one place.

A reply's stream is `start`, `thinking`, any number of `tool` and `content`, an `error` if it
failed, and `done`. The generation (app/chat/generation.py) publishes them; `closing` is the one
way a stream is ended, whoever ends it: the generation, a process closing the reply of a dead
one (app/chat/runner.py), a reader whose broker failed, or a reader answered from the database
(app/chat/api.py). `as_text` turns them into plain text for terminals. `ContentBuffer` and
`Flusher` coalesce content (SSE_COALESCE_MS).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import gevent
from gevent.event import Event as Wakeup

from app.agent.consent import DECLINED, text_mode_hint
from app.agent.events import AgentError
from app.streaming.reader import READER_GAVE_UP, STREAM_VANISHED, Batches
from app.streaming.sse import Event, encode, encode_string

log = logging.getLogger(__name__)


class WireEvent:
    """An event's payload; `event` is its name on the wire. Fields left None are not sent."""

    __slots__ = ()
    event: ClassVar[str]

    def data(self) -> dict[str, Any]:
        values = ((f.name, getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]
        return {name: value for name, value in values if value is not None}

    def payload(self) -> str:
        """The data as JSON, as the broker keeps it and the wire carries it."""
        return encode(self.data())


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
    or `error`); a completed one may carry `display`, the page's view of its result (6.2)."""

    event: ClassVar[str] = "tool"
    call_id: str
    name: str
    status: str
    arguments: dict[str, Any] | None = None
    duration_ms: int | None = None
    summary: str | None = None
    error: str | None = None
    display: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Approval(WireEvent):
    """A tool call that acts outside the app waits for the user's answer (CONTRACT.md 6.3)."""

    event: ClassVar[str] = "approval"
    call_id: str
    name: str
    arguments: dict[str, Any]
    expires_in: int


@dataclass(slots=True)  # one per chunk: not frozen, whose `__init__` costs three times as much
class Content(WireEvent):
    event: ClassVar[str] = "content"
    chunk: str

    def payload(self) -> str:  # the most frequent event: a string literal, no dict walk
        return '{"chunk": ' + encode_string(self.chunk) + "}"


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


class ContentBuffer:
    """One reply's content on its way out, coalesced over a window (SSE_COALESCE_MS).

    A chunk goes out at once when nothing was sent for a window (so the first chunk of a reply
    is never held); otherwise it is held, with whatever else arrives, until the window since the
    last `content` event ends: no chunk waits longer than the window, and a fast model's many
    small chunks become few larger events (fewer writes, less CPU per chunk, bench/). Seq
    numbers are given when an event is published, so resume ids stay exact.
    """

    __slots__ = ("window", "held", "last_sent", "deadline")

    def __init__(self, window_s: float) -> None:
        self.window = window_s
        self.held: str | None = None
        self.last_sent = float("-inf")
        self.deadline = float("inf")  # when the held content is due, if any is held

    def add(self, text: str, now: float) -> str | None:
        """The text to send now, or None if it is held (newly held: `deadline` was set)."""
        if self.held is not None:
            self.held += text
            return None
        if now - self.last_sent >= self.window:
            self.last_sent = now
            return text
        self.held, self.deadline = text, self.last_sent + self.window
        return None

    def take(self, now: float) -> str | None:
        """The held text (the window ended, or another event must follow it), if any."""
        text, self.held = self.held, None
        if text is not None:
            self.last_sent, self.deadline = now, float("inf")
        return text


class Flusher:
    """Sends held content when its window ends: one greenlet per process for every reply."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []  # a heap by deadline
        self._order = itertools.count()
        self._wakeup = Wakeup()
        self._greenlet: gevent.Greenlet | None = None

    def at(self, deadline: float, flush: Callable[[], None]) -> None:
        """Call `flush` at `deadline` (monotonic time)."""
        heapq.heappush(self._due, (deadline, next(self._order), flush))
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)
        elif self._due[0][0] == deadline:  # earlier than what the greenlet waits for
            self._wakeup.set()

    def _run(self) -> None:
        try:
            while self._due:
                delay = self._due[0][0] - time.monotonic()
                if delay > 0:
                    self._wakeup.clear()
                    self._wakeup.wait(delay)
                    continue
                _, _, flush = heapq.heappop(self._due)
                try:
                    flush()
                except Exception:
                    log.exception("could not send held content")
        finally:
            self._greenlet = None
