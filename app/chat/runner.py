"""The runner: starts the replies of this process and looks after them until they are stored.

A generation (app/chat/generation.py) runs independently of any HTTP connection, in one
greenlet that runs the agent loop, stores the reply and publishes `done`. One watcher greenlet
per process looks after all of them every half second: it stops a generation at the overall
`SSE_TIMEOUT`, or when nobody has been reading it for `SSE_DETACH_GRACE` seconds, and renews
their leases in the broker. A cancel request stops its generation at once. Whatever way it
ends, the assistant message is stored (partial text and tool calls included), then `done` is
published.

(A supervisor and a lease greenlet per reply did the same work at three greenlets a reply; the
greenlets' stacks were the largest part of a stream's memory, see bench/.)

A lease says "this process is still at work on the stream". If the process dies, the lease
expires and a reader elsewhere has the broker call `Runner.close_lost` there (its `on_lost`
handler): the reply is rebuilt from the events published so far, stored as failed, and the
stream ends with a `generation_lost` error. If the broker itself fails (Redis down or
restarted), the generation stops with a `stream_unavailable` error and its reply is stored all
the same.

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
from typing import Protocol

import gevent
from flask import Flask
from gevent import Greenlet

from app.agent.consent import Consent
from app.agent.events import AgentError
from app.chat.events import ContentBuffer, Error, Flusher, Start, Thinking, WireEvent, closing
from app.chat.generation import STREAM_UNAVAILABLE, AgentRun, Generation
from app.chat.transcript import Outcome, ReplyInfo, Transcript
from app.streaming.broker import Broker, BrokerError, StreamInfo
from app.streaming.sse import Event

log = logging.getLogger(__name__)

# How often the watcher renews the leases (the Redis broker's last 5 s), and looks at the clock
# and the reader counts.
SUPERVISE_INTERVAL = 0.5
# How often the housekeeper renews the database leases of this process's replies (they last
# 10 s) and looks for replies whose process died.
HOUSEKEEPING_INTERVAL = 3.0

StoreReply = Callable[[Outcome], None]

GENERATION_LOST = AgentError(
    "generation_lost",
    "The server writing this reply stopped. The text so far is kept; please try again.",
    True,
)


class Leases(Protocol):
    """The database's record of the replies being written and until when their writer lived."""

    def renew(self, message_ids: list[str]) -> None:
        """Extend the leases of these replies, all written in this process."""

    def expired(self) -> list[tuple[ReplyInfo, float]]:
        """Replies still being written whose lease ran out, with their age in seconds."""


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
        self.consents: dict[str, Consent] = {}  # of the replies running here that may ask
        self.watcher: Greenlet | None = None
        self.housekeeper: Greenlet | None = None
        self.stopping = False
        self.flusher = Flusher()  # sends held content (SSE_COALESCE_MS) for every reply here
        broker.on_cancel(self._cancel_local)
        broker.on_approval(self._answer_local)
        broker.on_lost(self.close_lost)

    def _cancel_local(self, stream_id: str) -> None:
        generation = self.local.get(stream_id)
        if generation is not None:
            generation.stop("cancelled")

    def cancel(self, stream_id: str) -> None:
        self.broker.request_cancel(stream_id)

    def _answer_local(self, stream_id: str, call_id: str, approve: bool) -> None:
        consent = self.consents.get(stream_id)
        if consent is not None:
            consent.answer(call_id, approve)

    def answer(self, stream_id: str, call_id: str, approve: bool) -> None:
        """The user's approval answer, to the process running the reply (CONTRACT.md 6.3)."""
        self.broker.request_approval(stream_id, call_id, approve)

    def start(self, info: ReplyInfo, agent_run: AgentRun) -> None:
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
        coalesce_ms = config.get("SSE_COALESCE_MS", 0)
        if coalesce_ms > 0:
            generation.buffer, generation.flusher = ContentBuffer(coalesce_ms / 1000), self.flusher
        if self.stopping:  # a request that came in just before the listener closed
            generation.stop("shutting_down")
        try:
            self.broker.create(info.stream())  # which also takes the first lease
        except BrokerError:
            generation.error = STREAM_UNAVAILABLE
            self._store(generation.outcome("failed"))
            raise
        self.local[info.stream_id] = generation
        consent = getattr(agent_run, "consent", None)  # see app/chat/replies.py agent_run_for
        if consent is not None:
            self.consents[info.stream_id] = consent
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

    def close_orphan(self, info: ReplyInfo, age_s: float) -> None:
        """Store as lost a reply whose lease ran out, unless a broker still holds its stream
        open (its producer alive, or its lost-stream close, with the text, under way)."""
        try:
            progress = self.broker.progress(info.stream_id)
        except BrokerError:
            return  # cannot tell now: the next round will
        if progress is not None and not progress[1]:
            return
        log.warning("the process writing the reply of stream %s is gone", info.stream_id)
        self._store(Transcript.replay([], age_s).outcome(info, "failed", GENERATION_LOST))

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
                generation.publish(Start(info.stream_id, info.conversation_id, info.message_id))
                generation.publish(Thinking())
                outcome = generation.outcome(generation.produce(agent_run))
                self._store(outcome)
                generation.closing = True
                self._close(outcome, generation.publish)
        finally:
            self.local.pop(info.stream_id, None)
            self.consents.pop(info.stream_id, None)

    def close_lost(self, stream: StreamInfo, events: list[Event], age_s: float) -> None:
        """Close a stream whose producer died, from the events it had published (broker hook)."""
        info = ReplyInfo.of(stream)
        outcome = Transcript.replay(events, age_s).outcome(info, "failed", GENERATION_LOST)
        self._store(outcome)
        self._close(outcome, Generation(info, self.broker, timeout=0, detach_grace=0).publish)

    def _store(self, outcome: Outcome) -> None:
        try:
            with self.app.app_context():
                self.store(outcome)
        except Exception:
            log.exception("could not store the reply of stream %s", outcome.info.stream_id)

    def _close(self, outcome: Outcome, publish: Callable[[WireEvent], None]) -> None:
        """Publish the closing `error` (if any) and `done`, then let the broker expire it."""
        info = outcome.info
        error = None if outcome.error is None else Error.of(outcome.error)
        events = closing(
            info.conversation_id, info.message_id, outcome.done_status, error, outcome.metrics
        )
        for event in events:
            publish(event)
        try:
            self.broker.finish(info.stream_id)
        except BrokerError as error:
            log.warning("could not finish stream %s: %s", info.stream_id, error)
