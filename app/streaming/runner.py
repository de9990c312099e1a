"""The generation runner: one greenlet per reply, publishing numbered events to the broker.

A generation runs independently of any HTTP connection, in one greenlet that runs the agent
loop, stores the reply and publishes `done`. One watcher greenlet per process looks after all
of them every half second: it stops a generation at the overall `SSE_TIMEOUT`, or when nobody
has been reading it for `SSE_DETACH_GRACE` seconds, and renews their leases in the broker. A
cancel request stops its generation at once. Stopping throws `GenerationStopped` into the agent
loop, which closes the upstream LLM response on its way out; whatever way it ends, the assistant
message is stored (partial text and tool calls included), then `done` is published.

(A supervisor and a lease greenlet per reply did the same work at three greenlets a reply; the
greenlets' stacks were the largest part of a stream's memory, see bench/.)

A lease says "this process is still at work on the stream". If the process dies, the lease
expires and a reader elsewhere has the broker call `Runner.close_lost` there: the reply is
rebuilt from the events published so far, stored as failed, and the stream ends with a
`generation_lost` error. If the broker itself fails (Redis down or restarted), the generation
stops with a `stream_unavailable` error and its reply is stored all the same.

The broker's leases die with the broker: the in-process one with the process, and Redis may
lose its keys. So the reply's message in the database holds a lease of its own (`Leases`,
app/chat/replies.py), and one housekeeper greenlet per process, running while the app serves,
renews the leases of this process's replies (one UPDATE a round, however many run here) and
closes the replies of processes that died: first through the broker, which still has their
events and so their partial text (Redis), then, for a reply no broker holds open, in the
database alone, as failed with `generation_lost`. A reader that comes back after its worker
died is answered from the database the same way (app/chat/api.py). Storing is conditional on
the message still being `streaming`, so whichever closer comes first wins.

A graceful stop (SIGTERM, gunicorn_worker.py) calls `Runner.shutdown`: every reply running
here ends with a `shutting_down` error (retryable) and `done` `failed`, is stored as failed,
and its events are written out before the worker exits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import gevent
from flask import Flask
from gevent import Greenlet, GreenletExit

from app.agent.events import AgentError, AgentEvent, ContentDelta, ToolFinished, ToolStarted
from app.agent.loop import tool_call_record
from app.streaming.broker import Broker, BrokerError, StreamInfo
from app.streaming.sse import Event

log = logging.getLogger(__name__)

# How often the watcher renews the leases (the Redis broker's last 5 s), and looks at the clock
# and the reader counts.
SUPERVISE_INTERVAL = 0.5
# How often the housekeeper renews the database leases of this process's replies (they last
# 10 s) and looks for replies whose process died.
HOUSEKEEPING_INTERVAL = 3.0

AgentRun = Callable[[], Any]  # an iterator of AgentEvent, built in the app context
StoreReply = Callable[["Outcome"], None]


STREAM_UNAVAILABLE = AgentError(
    "stream_unavailable",
    "The reply was stopped: the streaming service became unavailable. Please try again.",
    True,
)
GENERATION_LOST = AgentError(
    "generation_lost",
    "The server writing this reply stopped. The text so far is kept; please try again.",
    True,
)
INTERNAL_ERROR = AgentError("internal_error", "Something went wrong while answering.", True)
SHUTTING_DOWN = AgentError(
    "shutting_down",
    "The server is restarting and stopped this reply. The text so far is kept; please try again.",
    True,
)


class Leases(Protocol):
    """The database's record of the replies being written and until when their writer lived."""

    def renew(self, message_ids: list[str]) -> None:
        """Extend the leases of these replies, all written in this process."""

    def expired(self) -> list[tuple[StreamInfo, float]]:
        """Replies still being written whose lease ran out, with their age in seconds."""


class GenerationStopped(GreenletExit):
    """Thrown into the agent loop to stop it; a GreenletExit, so nothing logs it as a crash."""


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
    text: str = ""  # the reply so far: one string, not a list keeping every chunk alive
    chunks: int = 0
    tool_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: AgentError | None = None
    stop_reason: str | None = None
    greenlet: Greenlet | None = None  # the one that runs the agent loop, stores and closes
    working: bool = False  # the agent loop is running: stopping it means interrupting it
    closing: bool = False  # `done` is being published: the lease needs no more renewing
    unread_since: float | None = None

    def publish(self, name: str, data: dict[str, Any]) -> None:
        if self.stop_reason == "undeliverable":
            return
        try:
            self.broker.publish(self.info.stream_id, name, data)
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
            if self.first_content is None:
                self.first_content = time.monotonic()
            self.text += event.text
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
        if self.working and now >= self.started + self.timeout:
            self.stop("timeout")
        if readers:
            self.unread_since = None
        elif self.working:
            if self.unread_since is None:
                self.unread_since = now
            if now - self.unread_since >= self.detach_grace:
                self.stop("interrupted")

    def outcome(self, status: str) -> Outcome:
        """How the reply ended; tool calls still running when it stopped count as cancelled."""
        for call in self.tool_calls.values():
            if call["status"] == "started":
                call["status"] = "cancelled"
        return Outcome(
            info=self.info,
            status=status,
            text=self.text,
            tool_calls=list(self.tool_calls.values()),
            metrics=self.metrics(),
            error=self.error,
        )

    def metrics(self) -> dict[str, Any]:
        now = time.monotonic()
        ttft = round((self.first_content - self.started) * 1000) if self.first_content else None
        return {
            "ttft_ms": ttft,
            "duration_ms": round((now - self.started) * 1000),
            "chunks": self.chunks,
            "tool_calls": len(self.tool_calls),
        }


class Runner:
    """Starts generations and routes cancel requests to the ones running in this process."""

    def __init__(
        self, app: Flask, broker: Broker, store: StoreReply, leases: Leases | None = None
    ) -> None:
        self.app = app
        self.broker = broker
        self.store = store
        self.leases = leases
        self.local: dict[str, Generation] = {}
        self.watcher: Greenlet | None = None
        self.housekeeper: Greenlet | None = None
        self.stopping = False
        broker.on_cancel(self._cancel_local)
        broker.on_lost(self.close_lost)

    def _cancel_local(self, stream_id: str) -> None:
        generation = self.local.get(stream_id)
        if generation is not None:
            generation.stop("cancelled")

    def cancel(self, stream_id: str) -> None:
        self.broker.request_cancel(stream_id)

    def start(self, info: StreamInfo, agent_run: AgentRun) -> None:
        """Register the stream and run it in its own greenlet; returns at once.

        Raises BrokerError if the broker is unreachable; the reply is then stored as failed.
        """
        config = self.app.config
        generation = Generation(
            info=info,
            broker=self.broker,
            timeout=config["SSE_TIMEOUT"],
            detach_grace=config["SSE_DETACH_GRACE"],
        )
        if self.stopping:  # a request that came in just before the listener closed
            generation.stop("shutting_down")
        try:
            self.broker.create(info)  # which also takes the first lease
        except BrokerError:
            generation.error = STREAM_UNAVAILABLE
            self._store(generation.outcome("failed"))
            raise
        self.local[info.stream_id] = generation
        generation.greenlet = gevent.spawn(self._run, generation, agent_run)
        if self.watcher is None or self.watcher.dead:
            self.watcher = gevent.spawn(self._watch)
        self.serve()

    def serve(self) -> None:
        """Start the housekeeper, if it is not running: at worker start, and at the first reply
        (under a server that does not call this, such as the development server)."""
        if not self.stopping and (self.housekeeper is None or self.housekeeper.dead):
            self.housekeeper = gevent.spawn(self._keep_house)

    def _keep_house(self) -> None:
        """Every HOUSEKEEPING_INTERVAL: renew this process's leases, close lost replies."""
        while not self.stopping:
            try:
                self.housekeeping()
            except Exception:  # the database or Redis away for a moment: next round
                log.exception("housekeeping of replies failed")
            gevent.sleep(HOUSEKEEPING_INTERVAL)

    def housekeeping(self) -> None:
        """One round: renew, then close the replies of dead processes (broker first: it keeps
        their text), leaving alone any reply a broker still holds open."""
        if self.leases is None:
            return
        with self.app.app_context():
            producing = [generation.info.message_id for generation in self.local.values()]
            if producing:
                self.leases.renew(producing)
        try:
            self.broker.sweep_lost()
        except BrokerError as error:  # Redis away: what it holds waits for it to come back
            log.warning("could not look for lost streams: %s", error)
        with self.app.app_context():
            expired = self.leases.expired()
        for info, age in expired:
            self.close_orphan(info, age)

    def close_orphan(self, info: StreamInfo, age_s: float) -> None:
        """Store as lost a reply whose lease ran out, unless a broker still holds its stream
        open (its producer alive, or its lost-stream close, with the text, under way)."""
        try:
            progress = self.broker.progress(info.stream_id)
        except BrokerError:
            return  # cannot tell now: the next round will
        if progress is not None and not progress[1]:
            return
        log.warning("the process writing the reply of stream %s is gone", info.stream_id)
        generation = Generation(info, self.broker, timeout=0, detach_grace=0)
        generation.started -= age_s
        generation.error = GENERATION_LOST
        outcome = generation.outcome("failed")
        outcome.metrics["ttft_ms"] = None  # not known here
        self._store(outcome)

    def shutdown(self, timeout: float) -> None:
        """Graceful stop: end every reply of this process with `shutting_down`, and wait (up
        to `timeout` seconds) until each is stored and its `done` written to the broker."""
        self.stopping = True
        for generation in list(self.local.values()):
            generation.stop("shutting_down")
        deadline = time.monotonic() + timeout
        while self.local and time.monotonic() < deadline:
            running = [g.greenlet for g in self.local.values() if g.greenlet is not None]
            if not running:
                break
            gevent.joinall(running, timeout=deadline - time.monotonic())
        if self.local:
            log.warning("%d replies were still running at shutdown", len(self.local))

    def _watch(self) -> None:
        """Look after every generation of this process, until none is left."""
        while self.local:
            gevent.sleep(SUPERVISE_INTERVAL)
            watched = [g for g in self.local.values() if not g.closing]
            try:
                readers = self.broker.watch([g.info.stream_id for g in watched])
            except BrokerError as error:
                for generation in watched:
                    generation.undeliverable(error)
                continue
            now = time.monotonic()
            for generation in watched:
                generation.check(now, readers.get(generation.info.stream_id))
        self.watcher = None

    def _run(self, generation: Generation, agent_run: AgentRun) -> None:
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
                self._finish(generation, generation.produce(agent_run))
        finally:
            self.local.pop(info.stream_id, None)

    def _finish(self, generation: Generation, status: str) -> None:
        if status == "timeout":
            generation.error = AgentError(
                "timeout", "The reply took too long and was stopped.", True
            )
        elif status == "shutting_down":
            generation.error = SHUTTING_DOWN
            status = "failed"
        outcome = generation.outcome(status)
        self._store(outcome)
        generation.closing = True
        self._close(outcome, generation.publish)

    def close_lost(self, info: StreamInfo, events: list[Event], age_s: float) -> None:
        """Close a stream whose producer died, from the events it had published (broker hook)."""
        generation = Generation(info, self.broker, timeout=0, detach_grace=0)
        generation.started -= age_s
        generation.error = GENERATION_LOST
        for event in events:
            if event.name == "content":
                generation.text += event.data["chunk"]
                generation.chunks += 1
            elif event.name == "tool":
                call = event.data
                previous = generation.tool_calls.get(call["call_id"], {})
                generation.tool_calls[call["call_id"]] = {**previous, **call}
        outcome = generation.outcome("failed")
        outcome.metrics["ttft_ms"] = None  # not known here
        self._store(outcome)
        self._close(outcome, generation.publish)

    def _store(self, outcome: Outcome) -> None:
        try:
            with self.app.app_context():
                self.store(outcome)
        except Exception:
            log.exception("could not store the reply of stream %s", outcome.info.stream_id)

    def _close(self, outcome: Outcome, publish: Callable[[str, dict[str, Any]], None]) -> None:
        """Publish the closing `error` (if any) and `done`, then let the broker expire it."""
        error, info = outcome.error, outcome.info
        if error is not None:
            publish(
                "error",
                {"code": error.code, "message": error.message, "retryable": error.retryable},
            )
        publish(
            "done",
            {
                "status": outcome.done_status,
                "conversation_id": info.conversation_id,
                "message_id": info.message_id,
                "metrics": outcome.metrics,
            },
        )
        try:
            self.broker.finish(info.stream_id)
        except BrokerError as error:
            log.warning("could not finish stream %s: %s", info.stream_id, error)
