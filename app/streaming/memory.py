"""The in-process broker: one gevent worker, events kept in lists, readers woken by events.

Selected when no `REDIS_URL` is set; the Redis broker also keeps the events of the streams its
own process produces in one (app/streaming/redis/broker.py).
"""

from __future__ import annotations

import time
from array import array
from itertools import accumulate
from typing import Any

from gevent.event import Event as Wakeup

from app.streaming.broker import ApprovalHandler, CancelHandler, LostHandler, StreamInfo
from app.streaming.sse import Event, encode


class _Replay:
    """A finished stream's events, packed: names, one string of payloads, and their ends.

    A finished stream is kept for SSE_REPLAY_TTL (ten minutes by default) so that a client can
    resume it. As a list of `Event` objects a 200-chunk reply took about 30 KB; packed, a
    quarter of that (bench/). Readers get `Event` objects back, built as they ask.
    """

    __slots__ = ("names", "payloads", "ends")

    def __init__(self, events: list[Event]) -> None:
        self.names = tuple(event.name for event in events)
        self.payloads = "".join(event.payload for event in events)
        self.ends = array("L", accumulate(len(event.payload) for event in events))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: slice) -> list[Event]:
        events = []
        for i in range(*index.indices(len(self.ends))):
            begin = self.ends[i - 1] if i else 0
            events.append(Event(i + 1, self.names[i], self.payloads[begin : self.ends[i]]))
        return events


class _Stream:
    __slots__ = ("info", "events", "readers", "wakeup", "finished", "expires_at")

    def __init__(self, info: StreamInfo) -> None:
        self.info = info
        self.events: list[Event] | _Replay = []
        self.readers = 0
        self.wakeup = Wakeup()
        self.finished = False
        self.expires_at = float("inf")


class MemoryBroker:
    """The in-process broker: one gevent worker, events kept in lists, readers woken by events."""

    kind = "memory"

    def __init__(self, replay_ttl: float, max_events: int = 20_000) -> None:
        self.replay_ttl = replay_ttl
        self.max_events = max_events
        self._streams: dict[str, _Stream] = {}
        self._cancel_handlers: list[CancelHandler] = []
        self._approval_handlers: list[ApprovalHandler] = []

    def _get(self, stream_id: str) -> _Stream | None:
        stream = self._streams.get(stream_id)
        if stream is not None and stream.expires_at <= time.monotonic():
            del self._streams[stream_id]
            return None
        return stream

    def _sweep(self) -> None:
        now = time.monotonic()
        for stream_id in [key for key, s in self._streams.items() if s.expires_at <= now]:
            del self._streams[stream_id]

    def create(self, info: StreamInfo) -> None:
        self._sweep()
        self._streams[info.stream_id] = _Stream(info)

    def publish(self, stream_id: str, name: str, data: dict[str, Any]) -> int:
        return self.append(stream_id, name, encode(data))

    def append(self, stream_id: str, name: str, payload: str) -> int:
        """`publish` with the data already encoded; KeyError if the stream is not here."""
        stream = self._streams[stream_id]
        if len(stream.events) >= self.max_events and name != "done":
            raise OverflowError(f"stream {stream_id} exceeded {self.max_events} events")
        event = Event(len(stream.events) + 1, name, payload)
        stream.events.append(event)  # a list until `finish` packs it
        wakeup, stream.wakeup = stream.wakeup, Wakeup()
        wakeup.set()
        return event.seq

    def discard(self, stream_id: str) -> None:
        """Forget a stream at once, without a replay time."""
        self._streams.pop(stream_id, None)

    def finish(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.finished = True
            stream.expires_at = time.monotonic() + self.replay_ttl
            stream.events = _Replay(stream.events)

    def read(self, stream_id: str, after: int, timeout: float) -> list[Event] | None:
        stream = self._get(stream_id)
        if stream is None:
            return None
        if len(stream.events) <= after and not stream.finished and timeout > 0:
            stream.wakeup.wait(timeout)
        return stream.events[after:]

    def info(self, stream_id: str) -> StreamInfo | None:
        stream = self._get(stream_id)
        return stream.info if stream else None

    def progress(self, stream_id: str) -> tuple[int, bool] | None:
        stream = self._get(stream_id)
        return (len(stream.events), stream.finished) if stream else None

    def attach(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.readers += 1

    def detach(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.readers = max(stream.readers - 1, 0)

    def watch(self, stream_ids: list[str]) -> dict[str, int]:
        """Reader counts; there is no lease to renew: a producer here dies only with its readers."""
        found = {stream_id: self._streams.get(stream_id) for stream_id in stream_ids}
        return {stream_id: s.readers for stream_id, s in found.items() if s is not None}

    def request_cancel(self, stream_id: str) -> None:
        for handler in self._cancel_handlers:
            handler(stream_id)

    def on_cancel(self, handler: CancelHandler) -> None:
        self._cancel_handlers.append(handler)

    def request_approval(self, stream_id: str, call_id: str, approve: bool) -> None:
        for handler in self._approval_handlers:
            handler(stream_id, call_id, approve)

    def on_approval(self, handler: ApprovalHandler) -> None:
        self._approval_handlers.append(handler)

    def on_lost(self, handler: LostHandler) -> None:
        """Never called: see `watch`."""

    def sweep_lost(self) -> None:
        """Nothing to do: the streams of a dead process died with it. Their replies are closed
        from the database leases (app/chat/runner.py)."""

    def active_for(self, owner: str) -> int:
        self._sweep()
        return sum(1 for s in self._streams.values() if not s.finished and s.info.owner == owner)

    def stats(self) -> dict[str, int]:
        self._sweep()
        streams = self._streams.values()
        return {
            "active_streams": sum(1 for s in streams if not s.finished),
            "connected_clients": sum(s.readers for s in streams),
        }
