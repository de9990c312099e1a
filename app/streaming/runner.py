"""The generation runner: one greenlet per reply, publishing numbered events to the broker.

A generation runs independently of any HTTP connection. Its supervisor waits for the worker
(the agent loop) to finish, or for a reason to stop it: a cancel request, the overall
`SSE_TIMEOUT`, or nobody reading for `SSE_DETACH_GRACE` seconds. Stopping kills the worker
greenlet, which closes the upstream LLM response on its way out. Whatever way it ends, the
assistant message is stored (partial text and tool calls included), then `done` is published.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
from flask import Flask
from gevent import Greenlet, GreenletExit
from gevent.event import Event as Signal

from app.agent.events import AgentError, AgentEvent, ContentDelta, ToolFinished, ToolStarted
from app.agent.loop import tool_call_record
from app.streaming.broker import Broker, StreamInfo

log = logging.getLogger(__name__)

# How often the supervisor looks at the clock and the reader count.
SUPERVISE_INTERVAL = 0.5

AgentRun = Callable[[], Any]  # an iterator of AgentEvent, built in the app context
StoreReply = Callable[["Outcome"], None]


class GenerationStopped(GreenletExit):
    """Raised inside the worker to stop it; a GreenletExit, so nothing logs it as a crash."""


@dataclass
class Outcome:
    """How a reply ended, everything that is stored and announced in `done`."""

    info: StreamInfo
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
class Generation:
    info: StreamInfo
    broker: Broker
    timeout: float
    detach_grace: float
    started: float = field(default_factory=time.monotonic)
    first_content: float | None = None
    text: list[str] = field(default_factory=list)
    chunks: int = 0
    tool_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: AgentError | None = None
    stop_reason: str | None = None
    stop_signal: Signal = field(default_factory=Signal)

    def publish(self, name: str, data: dict[str, Any]) -> None:
        self.broker.publish(self.info.stream_id, name, data)

    def emit(self, event: AgentEvent) -> None:
        """Record an agent event and publish it."""
        if isinstance(event, ContentDelta):
            if self.first_content is None:
                self.first_content = time.monotonic()
            self.text.append(event.text)
            self.chunks += 1
            self.publish("content", {"chunk": event.text})
        elif isinstance(event, ToolStarted):
            self.tool_calls[event.call_id] = {
                "call_id": event.call_id,
                "name": event.name,
                "arguments": event.arguments,
                "status": "started",
            }
            self.publish(
                "tool",
                {
                    "call_id": event.call_id,
                    "name": event.name,
                    "status": "started",
                    "arguments": event.arguments,
                },
            )
        elif isinstance(event, ToolFinished):
            started = self.tool_calls.get(event.call_id, {})
            record = tool_call_record(event, started.get("arguments", {}))
            self.tool_calls[event.call_id] = record
            self.publish("tool", {k: v for k, v in record.items() if k != "arguments"})
        elif isinstance(event, AgentError):
            self.error = event

    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            self.stop_signal.set()

    def metrics(self) -> dict[str, Any]:
        now = time.monotonic()
        ttft = round((self.first_content - self.started) * 1000) if self.first_content else None
        return {
            "ttft_ms": ttft,
            "duration_ms": round((now - self.started) * 1000),
            "chunks": self.chunks,
            "tool_calls": len(self.tool_calls),
        }

    def supervise(self, worker: Greenlet) -> str:
        """Wait for the worker to end or for a reason to stop it; returns the final status."""
        deadline = self.started + self.timeout
        unread_since: float | None = None
        while not worker.dead:
            gevent.wait([worker, self.stop_signal], timeout=SUPERVISE_INTERVAL, count=1)
            now = time.monotonic()
            if worker.dead:
                break
            if now >= deadline:
                self.stop("timeout")
            if self.broker.readers(self.info.stream_id) == 0:
                unread_since = unread_since or now
                if now - unread_since >= self.detach_grace:
                    self.stop("interrupted")
            else:
                unread_since = None
            if self.stop_reason is not None:
                worker.kill(GenerationStopped(self.stop_reason))
                return self.stop_reason
        if worker.exception is not None:
            log.error("generation %s crashed", self.info.stream_id, exc_info=worker.exc_info)
            self.error = AgentError("internal_error", "Something went wrong while answering.", True)
        return "failed" if self.error else "completed"


class Runner:
    """Starts generations and routes cancel requests to the ones running in this process."""

    def __init__(self, app: Flask, broker: Broker) -> None:
        self.app = app
        self.broker = broker
        self.local: dict[str, Generation] = {}
        broker.on_cancel(self._cancel_local)

    def _cancel_local(self, stream_id: str) -> None:
        generation = self.local.get(stream_id)
        if generation is not None:
            generation.stop("cancelled")

    def cancel(self, stream_id: str) -> None:
        self.broker.request_cancel(stream_id)

    def active_for(self, user_id: str) -> int:
        return sum(1 for g in self.local.values() if g.info.user_id == user_id)

    def start(self, info: StreamInfo, agent_run: AgentRun, store: StoreReply) -> None:
        """Register the stream and run it in its own greenlet; returns at once."""
        config = self.app.config
        generation = Generation(
            info=info,
            broker=self.broker,
            timeout=config["SSE_TIMEOUT"],
            detach_grace=config["SSE_DETACH_GRACE"],
        )
        self.broker.create(info)
        self.local[info.stream_id] = generation
        gevent.spawn(self._run, generation, agent_run, store)

    def _run(self, generation: Generation, agent_run: AgentRun, store: StoreReply) -> None:
        info = generation.info
        try:
            with self.app.app_context():
                generation.publish(
                    "start",
                    {
                        "stream_id": info.stream_id,
                        "conversation_id": info.conversation_id,
                        "message_id": info.message_id,
                    },
                )
                generation.publish(
                    "thinking", {"status": "processing", "message": "Analyzing your request..."}
                )
                worker = gevent.spawn(self._produce, generation, agent_run)
                status = generation.supervise(worker)
                self._finish(generation, status, store)
        finally:
            self.local.pop(info.stream_id, None)

    def _produce(self, generation: Generation, agent_run: AgentRun) -> None:
        with self.app.app_context():
            for event in agent_run():
                generation.emit(event)
                if generation.error is not None:
                    return

    def _finish(self, generation: Generation, status: str, store: StoreReply) -> None:
        error = generation.error
        for call in generation.tool_calls.values():
            if call["status"] == "started":  # stopped while the tool ran
                call["status"] = "cancelled"
        if status == "timeout":
            error = AgentError("timeout", "The reply took too long and was stopped.", True)
        outcome = Outcome(
            info=generation.info,
            status=status,
            text="".join(generation.text),
            tool_calls=list(generation.tool_calls.values()),
            metrics=generation.metrics(),
            error=error,
        )
        try:
            store(outcome)
        except Exception:
            log.exception("could not store the reply of stream %s", generation.info.stream_id)
        if error is not None:
            generation.publish(
                "error",
                {"code": error.code, "message": error.message, "retryable": error.retryable},
            )
        generation.publish(
            "done",
            {
                "status": outcome.done_status,
                "conversation_id": generation.info.conversation_id,
                "message_id": generation.info.message_id,
                "metrics": outcome.metrics,
            },
        )
        self.broker.finish(generation.info.stream_id)
