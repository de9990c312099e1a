"""`RedisBroker`: the broker interface (app/streaming/broker.py) over the parts of this package.

The streams produced in this process are also kept in a `MemoryBroker` until their `done`:
readers here follow them from memory, and the writer sends them to Redis in batches. Readers
here of streams produced elsewhere share one XREAD loop (the fan-out).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import gevent

from app.streaming.broker import (
    ApprovalHandler,
    BrokerError,
    CancelHandler,
    LostHandler,
    StreamInfo,
)
from app.streaming.memory import MemoryBroker
from app.streaming.redis.cancel import CancelChannel
from app.streaming.redis.fanout import Fanout
from app.streaming.redis.keys import LEASE_TTL, Keys, connect, errors
from app.streaming.redis.log import StreamLog
from app.streaming.redis.presence import Presence
from app.streaming.redis.writer import Writer
from app.streaming.sse import Event, encode

log = logging.getLogger(__name__)


class RedisBroker:
    """Streams in Redis: any process can read, resume, cancel or count any stream."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        replay_ttl: float,
        *,
        prefix: str = "estate:",
        max_events: int = 20_000,
        lease_ttl: int = LEASE_TTL,
        max_connections: int = 2500,
    ) -> None:
        self.redis = connect(url, max_connections)
        self.node = uuid.uuid4().hex  # this process
        self.lease_ttl = lease_ttl
        keys = Keys(prefix)
        self.keys = keys
        self.log = StreamLog(self.redis, keys, int(replay_ttl))
        self.writer = Writer(self.redis, keys, max_events)
        self.presence = Presence(self.redis, keys, self.node, lease_ttl)
        self.cancels = CancelChannel(self.redis, keys)
        self.approvals = CancelChannel(self.redis, keys, "approval")
        self.fanout = Fanout(self.redis, connect(url, 1), keys, self.node, self._close_lost)
        self._produced = MemoryBroker(replay_ttl=0, max_events=max_events)  # see above
        self._lost_handlers: list[LostHandler] = []
        self._started = False
        self._background: list[gevent.Greenlet] = []

    def _ensure_running(self) -> None:
        """Start the heartbeat, the cancel listener, the writer and the fan-out on first use
        (after gunicorn forked)."""
        if self._started:
            return
        self._started = True  # before any I/O: another greenlet may call in meanwhile
        try:
            with errors():
                self.presence.announce()
                pubsub = self.cancels.subscribe()  # before any stream of ours can be cancelled
                approvals = self.approvals.subscribe()
        except BrokerError:
            self._started = False
            raise
        self._background = [
            gevent.spawn(self.presence.heartbeat),
            gevent.spawn(self.cancels.listen, pubsub),
            gevent.spawn(self.approvals.listen, approvals),
            gevent.spawn(self.writer.run_forever),
            gevent.spawn(self.fanout.run_forever),
        ]

    # --- producer side -----------------------------------------------------------------------
    def create(self, info: StreamInfo) -> None:
        self._ensure_running()
        self.log.create(info, self.node, self.lease_ttl)
        self._produced.create(info)

    def publish(self, stream_id: str, name: str, data: dict[str, Any]) -> int:
        return self.publish_encoded(stream_id, name, encode(data))

    def publish_encoded(self, stream_id: str, name: str, payload: str) -> int:
        if self._produced.info(stream_id) is None:  # not produced here: a lost stream's closing
            return self.writer.append_now(stream_id, name, payload)
        self.writer.check(stream_id)
        seq = self._produced.append(stream_id, name, payload)  # OverflowError past max_events
        self.writer.queue(stream_id, name, payload, seq)
        return seq

    def drain(self, stream_id: str) -> None:
        """Write the events published here so far now, without waiting for the writer's next
        round; BrokerError if Redis refused this stream's."""
        self.writer.drain(stream_id)

    def watch(self, stream_ids: list[str]) -> dict[str, int]:
        readers, requests = self.presence.watch(stream_ids)
        for stream_id, asked in requests.items():  # heard already, unless the listener was away
            for field, value in asked.items():
                if field == "cancel":
                    self.cancels.notify(stream_id)
                elif field.startswith("call:"):
                    call_id = field.removeprefix("call:")
                    self.approvals.notify(_approval(stream_id, call_id, value == "1"))
        return readers

    def finish(self, stream_id: str) -> None:
        try:
            self.writer.drain(stream_id)  # its last events, `done` among them
        finally:
            self._produced.discard(stream_id)
            self.writer.forget(stream_id)
        self.log.finish(stream_id)

    # --- reader side -------------------------------------------------------------------------
    def read(self, stream_id: str, after: int, timeout: float) -> list[Event] | None:
        events = self._produced.read(stream_id, after, timeout)  # None: not produced here
        if events:
            return events
        if events is not None:  # waited `timeout` in memory: now a look at Redis (lease, done)
            timeout = 0.0
        self._ensure_running()
        return self.fanout.read(stream_id, after, timeout)

    def info(self, stream_id: str) -> StreamInfo | None:
        return self.log.info(stream_id)

    def progress(self, stream_id: str) -> tuple[int, bool] | None:
        produced_here = self._produced.progress(stream_id)
        if produced_here is not None:
            return produced_here
        return self.log.progress(stream_id)

    def attach(self, stream_id: str) -> None:
        self._ensure_running()
        self.presence.count_reader(stream_id, 1)

    def detach(self, stream_id: str) -> None:
        self.presence.count_reader(stream_id, -1)

    # --- lost producers ----------------------------------------------------------------------
    def on_lost(self, handler: LostHandler) -> None:
        self._lost_handlers.append(handler)

    def sweep_lost(self) -> None:
        """Close streams whose producer died while nobody was reading them.

        Called by the producers' housekeeper, which every process runs from its start: after
        every process was killed, the restarted ones close the streams of the dead, with the
        text they had published, within a lease and a housekeeping interval.
        """
        with errors():
            unleased = self.presence.unleased(self.keys.key("active"))
        for stream_id in unleased:
            self._close_lost(stream_id)

    def _close_lost(self, stream_id: str) -> None:
        """Let exactly one process, the first to get here, close a stream whose producer died."""
        claimed = self.log.claim_lost(stream_id, self.node)
        if claimed is None:
            return
        info = self.log.info(stream_id)
        if info is None:  # its keys expired long ago: only the set still named it
            self.log.forget_active(stream_id)
            return
        log.warning("the producer of stream %s is gone; closing the stream", stream_id)
        events, age_s = claimed
        for handler in self._lost_handlers:
            try:
                handler(info, events, age_s)
            except Exception:
                log.exception("could not close the lost stream %s", stream_id)

    # --- cancel, limits, health --------------------------------------------------------------
    def request_cancel(self, stream_id: str) -> None:
        if self._produced.info(stream_id) is not None:  # produced here: no need for a round trip
            self.cancels.notify(stream_id)
        else:
            self.cancels.request(stream_id, stream_id, "cancel")

    def on_cancel(self, handler: CancelHandler) -> None:
        self.cancels.handlers.append(handler)

    def request_approval(self, stream_id: str, call_id: str, approve: bool) -> None:
        message = _approval(stream_id, call_id, approve)
        if self._produced.info(stream_id) is not None:  # produced here: no need for a round trip
            self.approvals.notify(message)
        else:
            self.approvals.request(stream_id, message, f"call:{call_id}", "1" if approve else "0")

    def on_approval(self, handler: ApprovalHandler) -> None:
        def decode(message: str) -> None:
            answer = json.loads(message)
            handler(answer["stream_id"], answer["call_id"], answer["approve"] is True)

        self.approvals.handlers.append(decode)

    def active_for(self, owner: str) -> int:
        with errors():
            return self.presence.alive_streams(self.keys.key("u", owner, "active"))

    def stats(self) -> dict[str, int]:
        return self.presence.stats()


def _approval(stream_id: str, call_id: str, approve: bool) -> str:
    """An approval answer as published (the same text however it comes: heard once)."""
    return json.dumps({"stream_id": stream_id, "call_id": call_id, "approve": approve})
