"""The broker: where a generation publishes its numbered events and readers follow them.

Producer and readers share nothing but the broker, which is what makes resume, re-attach,
cancel, the detach grace and the health counts work without special cases. `MemoryBroker`
serves one process; `RedisBroker` (app/streaming/redis_broker.py, same interface) serves several
workers and hosts.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Protocol

from gevent.event import Event as Wakeup

from app.streaming.sse import Event, encode

CancelHandler = Callable[[str], None]


class BrokerError(Exception):
    """The broker cannot serve this stream now: Redis is unreachable, or the stream was closed
    or wiped under its producer (declared lost, or gone with a Redis restart)."""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """Who a stream belongs to, fixed when the stream is created.

    `owner` is the user id (streams are counted per owner); `meta` is whatever the producer's
    side needs to know of the stream later, opaque to the broker.
    """

    stream_id: str
    owner: str
    meta: dict[str, str] = field(default_factory=dict)


# Called, in one process only, when a stream's producer died: (info, events so far, age in s).
LostHandler = Callable[[StreamInfo, list[Event], float], None]


class Broker(Protocol):
    kind: str

    def create(self, info: StreamInfo) -> None:
        """Register a new stream before its first event."""

    def publish(self, stream_id: str, name: str, data: dict[str, Any]) -> int:
        """Append an event (only the stream's producer calls this); returns its seq.

        BrokerError if the stream was closed or wiped under its producer, or the broker is
        unreachable; the Redis broker, which writes in the background, may tell only at the
        next `publish` or at `finish`.
        """

    def finish(self, stream_id: str) -> None:
        """The stream has published `done`: keep it replayable for the replay TTL, then drop it.

        BrokerError if some of its events could not be delivered.
        """

    def read(self, stream_id: str, after: int, timeout: float) -> list[Event] | None:
        """Events after seq `after`, waiting up to `timeout` for one; None if the stream is gone.

        A finished stream with nothing after `after` answers [] without waiting out `timeout`.
        """

    def info(self, stream_id: str) -> StreamInfo | None:
        """The stream's owner and ids, or None if it never existed or has expired."""

    def progress(self, stream_id: str) -> tuple[int, bool] | None:
        """(seq of the last event published, whether the stream is done), None if unknown."""

    def attach(self, stream_id: str) -> None:
        """A reader connected (counted for the detach grace and /sse/health)."""

    def detach(self, stream_id: str) -> None:
        """A reader went away."""

    def watch(self, stream_ids: list[str]) -> dict[str, int]:
        """For the producers' watcher, twice a second: renew the leases of these streams, all
        produced in this process, and count their readers in every process. A stream left out
        of the answer was closed or wiped under its producer, which must stop."""

    def on_lost(self, handler: LostHandler) -> None:
        """Register the handler that closes a stream whose producer died (its lease expired)."""

    def sweep_lost(self) -> None:
        """Close the streams whose producer died while nobody was reading them (the producers'
        housekeeper, app/chat/runner.py, calls this every few seconds in every process)."""

    def active_for(self, owner: str) -> int:
        """Streams of this owner still being produced, in every process."""

    def request_cancel(self, stream_id: str) -> None:
        """Ask the stream's producer, wherever it runs, to stop."""

    def on_cancel(self, handler: CancelHandler) -> None:
        """Register this process's handler for cancel requests (called with the stream id)."""

    def stats(self) -> dict[str, int]:
        """`active_streams` (not yet done) and `connected_clients`, across every process."""


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
