"""One reply being written: the greenlet that runs the agent loop, and when it must stop.

A `Generation` turns the agent loop's events into the stream's events (app/chat/events.py) and
its `Transcript`, and stops the loop when told: cancelled, timed out (`check`, the overall
`SSE_TIMEOUT`), unread for `SSE_DETACH_GRACE` seconds (`check`, from the reader counts), the
broker unable to take its events, or the server shutting down. Stopping throws
`GenerationStopped` into the agent loop, which closes the upstream LLM response on its way out.
The runner (app/chat/runner.py) starts generations, watches them, and stores and closes each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import gevent
from gevent import Greenlet, GreenletExit

from app.agent.events import (
    AgentError,
    AgentEvent,
    ApprovalRequested,
    ContentDelta,
    ToolFinished,
    ToolStarted,
    Usage,
)
from app.chat.events import Approval, Content, ContentBuffer, Flusher, WireEvent
from app.chat.transcript import Outcome, ReplyInfo, Transcript
from app.streaming.broker import Broker, BrokerError

log = logging.getLogger(__name__)

AgentRun = Callable[[], Iterator[AgentEvent]]  # the agent loop, built in the app context

STREAM_UNAVAILABLE = AgentError(
    "stream_unavailable",
    "The reply was stopped: the streaming service became unavailable. Please try again.",
    True,
)
INTERNAL_ERROR = AgentError("internal_error", "Something went wrong while answering.", True)
TIMEOUT = AgentError("timeout", "The reply took too long and was stopped.", True)
SHUTTING_DOWN = AgentError(
    "shutting_down",
    "The server is restarting and stopped this reply. The text so far is kept; please try again.",
    True,
)


class GenerationStopped(GreenletExit):
    """Thrown into the agent loop to stop it; a GreenletExit, so nothing logs it as a crash."""


@dataclass
class Generation:
    info: ReplyInfo
    broker: Broker
    timeout: float
    detach_grace: float
    transcript: Transcript = field(default_factory=Transcript)
    error: AgentError | None = None
    stop_reason: str | None = None
    greenlet: Greenlet | None = None  # the one that runs the agent loop, stores and closes
    working: bool = False  # the agent loop is running: stopping it means interrupting it
    closing: bool = False  # `done` is being published: the lease needs no more renewing
    unread_since: float | None = None
    # Coalescing (SSE_COALESCE_MS): content held here, sent by the process's flusher.
    buffer: ContentBuffer | None = None
    flusher: Flusher | None = None

    def publish(self, event: WireEvent) -> None:
        if self.stop_reason == "undeliverable":
            return
        if self.buffer is not None and self.buffer.held is not None and event.event != "content":
            self.send_held()  # held content goes before whatever follows it
        try:
            self.broker.publish_encoded(self.info.stream_id, event.event, event.payload())
        except BrokerError as error:
            self.undeliverable(error)

    def undeliverable(self, error: BrokerError) -> None:
        """The broker cannot take our events any more: stop, and keep what we have."""
        log.warning("generation %s stops: %s", self.info.stream_id, error)
        self.error = STREAM_UNAVAILABLE
        self.stop("undeliverable")

    def emit(self, event: AgentEvent) -> None:
        """Record an agent event and publish it."""
        if isinstance(event, ContentDelta):
            self.transcript.content(event.text)
            self.coalesce(event.text)
        elif isinstance(event, Usage):
            self.transcript.count_tokens(event.completion_tokens)
        elif isinstance(event, ToolStarted):
            self.publish(self.transcript.tool_started(event))
        elif isinstance(event, ToolFinished):
            self.publish(self.transcript.tool_finished(event))
        elif isinstance(event, ApprovalRequested):
            self.publish(Approval(event.call_id, event.name, event.arguments, event.expires_in))
        elif isinstance(event, AgentError):
            self.error = event

    def coalesce(self, text: str) -> None:
        """Publish content now, or hold it for the rest of the coalescing window."""
        buffer, flusher = self.buffer, self.flusher
        if buffer is None or flusher is None:
            self.publish(Content(text))
            return
        was_holding = buffer.held is not None
        now_text = buffer.add(text, time.monotonic())
        if now_text is not None:
            self.publish(Content(now_text))
        elif not was_holding:
            flusher.at(buffer.deadline, self.send_held)

    def send_held(self) -> None:
        """Publish the content held so far, if any (the flusher's call, or before an event)."""
        if self.buffer is not None:
            text = self.buffer.take(time.monotonic())
            if text is not None:
                self.publish(Content(text))

    def produce(self, agent_run: AgentRun) -> str:
        """Run the agent loop until it ends or is stopped; returns the reply's status."""
        if self.stop_reason is None:  # not cancelled before it began
            self.working = True
            try:
                for event in agent_run():
                    self.emit(event)
                    if self.error is not None or self.stop_reason is not None:
                        break
                else:
                    return "failed" if self.error else "completed"
            except GenerationStopped:
                pass
            except Exception:
                log.exception("generation %s crashed", self.info.stream_id)
                self.error = INTERNAL_ERROR
            finally:
                self.working = False
        if self.stop_reason in (None, "undeliverable"):
            return "failed"
        return self.stop_reason

    def stop(self, reason: str) -> None:
        """Stop the agent loop; the first reason given is the one that counts."""
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        if self.working and self.greenlet is not gevent.getcurrent():
            gevent.get_hub().loop.run_callback(self._interrupt)
        # else: the loop checks `stop_reason` after each event, or has not begun

    def _interrupt(self) -> None:
        # Runs in the hub, like Greenlet.kill, but checks first: if the loop has ended since
        # stop(), the greenlet is storing the reply, which must not be cut short.
        if self.working and self.greenlet is not None:
            self.greenlet.throw(GenerationStopped(self.stop_reason))

    def check(self, now: float, readers: int | None) -> None:
        """The watcher's look: the overall timeout, the detach grace, the lease (renewed by
        `Broker.watch`, which gave `readers`: None if the stream was closed under us)."""
        if self.closing:  # it published `done` while the broker was being asked
            return
        if readers is None:
            self.undeliverable(BrokerError("the stream was closed or lost in the broker"))
            return
        if self.working and now >= self.transcript.started + self.timeout:
            self.stop("timeout")
        if readers:
            self.unread_since = None
        elif self.working:
            if self.unread_since is None:
                self.unread_since = now
            if now - self.unread_since >= self.detach_grace:
                self.stop("interrupted")

    def outcome(self, status: str) -> Outcome:
        """How it ended, from the status `produce` returned."""
        if status == "timeout":
            self.error = TIMEOUT
        elif status == "shutting_down":
            self.error, status = SHUTTING_DOWN, "failed"
        return self.transcript.outcome(self.info, status, self.error)
