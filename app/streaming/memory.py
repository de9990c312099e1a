"""The in-process broker: one gevent worker, events kept in lists, readers woken by events.

Selected when no `REDIS_URL` is set; the Redis broker also keeps the events of the streams its
own process produces in one (app/streaming/redis/broker.py).
"""

from __future__ import annotations

import time
from array import array
from collections import Counter, deque
from itertools import accumulate
from typing import Any

import gevent
from gevent.event import Event as Wakeup

from app.streaming.broker import ApprovalHandler, CancelHandler, LostHandler, StreamInfo
from app.streaming.sse import Event, encode

# A reader's wait of at least CLOCK_MIN_WAIT seconds (the keep-alive interval) ends on the
# broker's clock, which looks every CLOCK_TICK, rather than on a timer of its own: a gevent
# timeout per wait, started and cancelled at every event, was 4% of the worker (bench/).
CLOCK_TICK = 0.25
CLOCK_MIN_WAIT = 1.0


class _Replay:
    """A finished stream's events, packed: names, one string of payloads, and their ends.

    A finished stream is kept for SSE_REPLAY_TTL (ten minutes by default) so that a client can
    resume it. As a list of `Event` objects a 200-chunk reply took about 30 KB; packed, a
    quarter of that (bench/). Readers get `Event` objects back, built as they ask.
    """

    __slots__ = ("names", "payloads", "ends")

    def __init__(self, events: _Live) -> None:
        self.names = tuple(events.names)
        self.payloads = "".join(events.payloads)
        self.ends = array("L", accumulate(len(payload) for payload in events.payloads))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: slice) -> list[Event]:
        events = []
        for i in range(*index.indices(len(self.ends))):
            begin = self.ends[i - 1] if i else 0
            events.append(Event(i + 1, self.names[i], self.payloads[begin : self.ends[i]]))
        return events


class _Live:
    """A running stream's events: their names and payloads, without an `Event` object each
    (about 60 bytes an event, a quarter of a content event's cost). Readers get `Event`
    objects back, built as they ask."""

    __slots__ = ("names", "payloads")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.payloads: list[str] = []

    def __len__(self) -> int:
        return len(self.payloads)

    def append(self, name: str, payload: str) -> int:
        self.names.append(name)
        self.payloads.append(payload)
        return len(self.payloads)

    def __getitem__(self, index: slice) -> list[Event]:
        start, stop, _ = index.indices(len(self.payloads))
        names, payloads = self.names, self.payloads
        return [Event(i + 1, names[i], payloads[i]) for i in range(start, stop)]


class _Stream:
    __slots__ = ("info", "events", "readers", "wakeup", "finished", "expires_at")

    def __init__(self, info: StreamInfo) -> None:
        self.info = info
        self.events: _Live | _Replay = _Live()
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
        # Kept up to date as streams come and go, so that no call scans every kept stream (a
        # scan per new reply grew with the replay TTL: bench/).
        self._active: Counter[str] = Counter()  # streams not yet done, per owner
        self._readers = 0  # readers attached, over every stream
        self._expiring: deque[tuple[float, str]] = deque()  # finished: in expiry order (one TTL)
        self._waits: dict[Wakeup, tuple[float, _Stream]] = {}  # readers' deadlines, per wakeup
        self._clock: gevent.Greenlet | None = None
        self._approval_handlers: list[ApprovalHandler] = []

    def _get(self, stream_id: str) -> _Stream | None:
        stream = self._streams.get(stream_id)
        if stream is not None and stream.expires_at <= time.monotonic():
            self._drop(stream_id)
            return None
        return stream

    def _drop(self, stream_id: str) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        self._readers -= stream.readers
        if not stream.finished:
            self._ended(stream.info.owner)

    def _ended(self, owner: str) -> None:
        self._active[owner] -= 1
        if self._active[owner] <= 0:
            del self._active[owner]

    def _sweep(self) -> None:
        """Drop the finished streams whose replay time is over: the oldest first, no scan."""
        now = time.monotonic()
        expiring = self._expiring
        while expiring and expiring[0][0] <= now:
            _, stream_id = expiring.popleft()
            stream = self._streams.get(stream_id)
            if stream is not None and stream.expires_at <= now:
                self._drop(stream_id)

    def create(self, info: StreamInfo) -> None:
        self._sweep()
        self._drop(info.stream_id)  # a stream id is new; if not, the old stream is replaced
        self._streams[info.stream_id] = _Stream(info)
        self._active[info.owner] += 1

    def publish(self, stream_id: str, name: str, data: dict[str, Any]) -> int:
        return self.append(stream_id, name, encode(data))

    def publish_encoded(self, stream_id: str, name: str, payload: str) -> int:
        return self.append(stream_id, name, payload)

    def append(self, stream_id: str, name: str, payload: str) -> int:
        """`publish` with the data already encoded; KeyError if the stream is not here."""
        stream = self._streams[stream_id]
        if len(stream.events) >= self.max_events and name != "done":
            raise OverflowError(f"stream {stream_id} exceeded {self.max_events} events")
        seq = stream.events.append(name, payload)  # live until `finish` packs it
        wakeup, stream.wakeup = stream.wakeup, Wakeup()
        wakeup.set()
        return seq

    def discard(self, stream_id: str) -> None:
        """Forget a stream at once, without a replay time."""
        self._drop(stream_id)

    def finish(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and not stream.finished:
            stream.finished = True
            self._ended(stream.info.owner)
            stream.expires_at = time.monotonic() + self.replay_ttl
            self._expiring.append((stream.expires_at, stream_id))
            stream.events = _Replay(stream.events)

    def read(self, stream_id: str, after: int, timeout: float) -> list[Event] | None:
        stream = self._get(stream_id)
        if stream is None:
            return None
        if len(stream.events) <= after and not stream.finished and timeout > 0:
            if timeout < CLOCK_MIN_WAIT:
                stream.wakeup.wait(timeout)
            else:
                self._wait(stream, timeout)
        return stream.events[after:]

    def _wait(self, stream: _Stream, timeout: float) -> None:
        """Until the stream's next event, or `timeout` has passed (within a clock tick)."""
        wakeup = stream.wakeup  # every reader of the stream waiting now is woken with it
        deadline = time.monotonic() + timeout
        earlier = self._waits.get(wakeup)
        if earlier is None or deadline < earlier[0]:
            self._waits[wakeup] = (deadline, stream)
        if self._clock is None:
            self._clock = gevent.spawn(self._run_clock)
        try:
            wakeup.wait()
        finally:
            self._waits.pop(wakeup, None)

    def _run_clock(self) -> None:
        """Wake the waits whose time is up, while there are any."""
        try:
            while self._waits:
                gevent.sleep(CLOCK_TICK)
                now = time.monotonic()
                due = [(w, s) for w, (deadline, s) in self._waits.items() if deadline <= now]
                for wakeup, stream in due:
                    del self._waits[wakeup]
                    if stream.wakeup is wakeup:
                        stream.wakeup = Wakeup()
                    wakeup.set()
        finally:
            self._clock = None

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
            self._readers += 1

    def detach(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and stream.readers > 0:
            stream.readers -= 1
            self._readers -= 1

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
        return self._active.get(owner, 0)

    def stats(self) -> dict[str, int]:
        self._sweep()
        return {"active_streams": self._active.total(), "connected_clients": self._readers}
