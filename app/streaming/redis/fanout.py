"""The fan-out: one XREAD loop per process for every reader here of a stream produced elsewhere.

A reader of a stream produced in another process (a client that reconnected to another worker)
does not block in an XREAD of its own, which would hold a pooled connection while it waits: it
waits here, and one greenlet per process (`run_forever`) issues one XREAD BLOCK, on a connection
of its own, over every stream a reader here is waiting on, and hands each batch to the readers
of its stream.

- A reader first looks at the stream (`read`: one round trip on the shared pool, no blocking)
  unless the loop is already following it from the reader's offset: events it has not seen are
  returned at once, and so is the stream's end or absence. Only a reader with nothing to read
  yet waits here.
- The loop reads each stream from its `cursor`: the last seq it handed out, or lower if a reader
  came wanting earlier events. A reader whose stream is not in the XREAD in flight, or is there
  from a later seq, wakes the loop by adding an entry to this process's wake stream (its key
  `node:<process>:wake`, in every XREAD) rather than wait out the block.
- A stream stays in the XREAD for LINGER after its last reader stopped waiting, so a reader that
  comes back for the next events (the usual case) finds the loop reading from its offset.
- Every READ_SLICE, the streams whose readers got nothing are looked at in one pipeline: a
  stream done, or gone, answers its readers ([] or None), and a stream whose producer's lease
  expired before its `done` goes to `unleased`, which closes it.
- A Redis error ends every wait with BrokerError (the readers retry, app/streaming/reader.py);
  the loop tries again after RETRY_INTERVAL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gevent
import redis
from gevent.event import AsyncResult
from gevent.event import Event as Wakeup

from app.streaming.broker import BrokerError
from app.streaming.redis.keys import READ_SLICE, Keys, errors
from app.streaming.redis.log import READ_BATCH, entry_event
from app.streaming.sse import Event

log = logging.getLogger(__name__)

LINGER = READ_SLICE  # seconds a stream stays in the XREAD after its last reader stopped waiting
RETRY_INTERVAL = 0.5  # seconds between the loop's attempts while Redis fails
WAKE_MAXLEN = 16  # the wake stream's entries mean nothing but "look again": keep a few
WAKE_TTL = 60


@dataclass(eq=False)
class Waiter:
    """A reader waiting for the events after `after`."""

    after: int
    result: AsyncResult = field(default_factory=AsyncResult)

    def answer(self, value: list[Event] | None) -> None:
        if not self.result.ready():  # one answer: the reader comes back for the next
            self.result.set(value)


@dataclass(eq=False)
class Tail:
    """A stream the loop follows: from `cursor` on, for its `waiters`."""

    cursor: int
    waiters: list[Waiter] = field(default_factory=list)
    idle_since: float = 0.0  # when its last waiter left
    quiet: bool = True  # no events handed out since the loop last looked at the stream


class Fanout:
    def __init__(
        self,
        client: redis.Redis,
        loop_client: redis.Redis,
        keys: Keys,
        node: str,
        unleased: Callable[[str], None],
    ) -> None:
        self.redis = client  # the shared pool: readers' looks, wakes, the loop's checks
        self.loop_client = loop_client  # the loop's own connection, blocked in XREAD
        self.keys = keys
        self.unleased = unleased
        self.wake_key = keys.key("node", node, "wake")
        self._tails: dict[str, Tail] = {}
        self._wanted = Wakeup()  # some stream has a waiter: the loop has work
        self._serving: dict[str, int] | None = None  # the cursors of the XREAD in flight
        self._woken = "0-0"  # the last wake entry the loop saw
        self._closing: set[str] = set()

    # --- the readers' side -------------------------------------------------------------------
    def read(self, stream_id: str, after: int, timeout: float) -> list[Event] | None:
        """`Broker.read` for a stream in Redis: events after `after`, as soon as there are any;
        [] on timeout or if the stream is done; None if it is gone."""
        tail = self._tails.get(stream_id)
        if tail is None or after < tail.cursor or timeout <= 0:
            answer, final = self._look(stream_id, after)
            if final or timeout <= 0:
                return answer
        waiter = Waiter(after)
        try:
            self._wait_with(stream_id, waiter)
            waiter.result.wait(timeout)
            return waiter.result.get() if waiter.result.ready() else []  # get: raises its error
        finally:
            self._stop_waiting(stream_id, waiter)

    def _look(
        self, stream_id: str, after: int, closing: bool = True
    ) -> tuple[list[Event] | None, bool]:
        """What the stream has after `after` now, and whether that is the answer (False: nothing
        yet, wait). Closes the stream if its producer died, then looks again: if this process
        closed it, its last events are there."""
        meta = self.keys.meta(stream_id)
        with errors(), self.redis.pipeline(transaction=False) as pipe:
            pipe.xrange(self.keys.of(stream_id, "events"), f"{after + 1}-0", count=READ_BATCH)
            pipe.exists(meta)
            pipe.hget(meta, "done")
            pipe.exists(self.keys.of(stream_id, "lease"))
            entries, exists, done, leased = pipe.execute()
        if entries:
            return [entry_event(entry) for entry in entries], True
        if not exists:
            return None, True
        if done is not None:
            return [], True
        if not leased and closing:
            self.unleased(stream_id)
            return self._look(stream_id, after, closing=False)
        return [], False

    def _wait_with(self, stream_id: str, waiter: Waiter) -> None:
        """Put the waiter where the loop hands out its stream's events; wake the loop if the
        XREAD in flight would not see them."""
        tail = self._tails.get(stream_id)
        if tail is None:
            tail = self._tails[stream_id] = Tail(cursor=waiter.after)
        tail.cursor = min(tail.cursor, waiter.after)
        tail.waiters.append(waiter)
        self._wanted.set()
        serving = self._serving
        if serving is not None and serving.get(stream_id, tail.cursor + 1) > tail.cursor:
            self._wake()

    def _stop_waiting(self, stream_id: str, waiter: Waiter) -> None:
        tail = self._tails.get(stream_id)
        if tail is not None and waiter in tail.waiters:
            tail.waiters.remove(waiter)
            if not tail.waiters:
                tail.idle_since = time.monotonic()

    def _wake(self) -> None:
        with errors(), self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self.wake_key, {"w": "1"}, maxlen=WAKE_MAXLEN, approximate=True)
            pipe.expire(self.wake_key, WAKE_TTL)
            pipe.execute()

    # --- the loop ----------------------------------------------------------------------------
    def run_forever(self) -> None:
        last_look = time.monotonic()
        while True:
            self._forget_idle()
            if not self._tails:
                self._wanted.clear()
                self._wanted.wait()
                continue
            try:
                self._read_all()
                if time.monotonic() - last_look >= READ_SLICE:
                    last_look = time.monotonic()
                    self._look_at_quiet()
            except Exception as error:
                if isinstance(error, redis.RedisError):
                    log.warning("redis broker fan-out reconnecting: %s", error)
                else:  # a bug must not leave readers waiting for what never comes
                    log.exception("redis broker fan-out failed")
                self._fail(BrokerError(f"redis: {error}"))
                gevent.sleep(RETRY_INTERVAL)
            # The readers just answered come back before the next XREAD, which finds them
            # there. A timer rather than sleep(0), as in cancel.py.
            gevent.sleep(0.001)

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for stream_id, tail in list(self._tails.items()):
            if not tail.waiters and now - tail.idle_since >= LINGER:
                del self._tails[stream_id]

    def _read_all(self) -> None:
        """One XREAD BLOCK over every followed stream and the wake stream; hand out the batches."""
        cursors = {stream_id: tail.cursor for stream_id, tail in self._tails.items()}
        streams = {self.keys.of(s, "events"): f"{cursor}-0" for s, cursor in cursors.items()}
        streams[self.wake_key] = self._woken
        self._serving = cursors
        try:
            found = self.loop_client.xread(streams, count=READ_BATCH, block=int(READ_SLICE * 1000))
        finally:
            self._serving = None
        stream_of = {self.keys.of(s, "events"): s for s in cursors}
        for key, entries in found or []:
            if key == self.wake_key:
                self._woken = entries[-1][0]
                continue
            tail = self._tails.get(stream_of[key])
            if tail is None or not entries:
                continue
            events = [entry_event(entry) for entry in entries]
            read_from = cursors[stream_of[key]]
            if tail.cursor == read_from:  # not lowered by a waiter meanwhile
                tail.cursor = events[-1].seq
            tail.quiet = False
            for waiter in tail.waiters:
                unseen = [event for event in events if event.seq > waiter.after]
                if unseen and waiter.after >= read_from:  # else it waits for the next XREAD
                    waiter.answer(unseen)

    def _look_at_quiet(self) -> None:
        """The streams whose waiters got nothing since the last look, in one pipeline: answer
        the waiters of those done or gone, and close those whose producer died."""
        quiet = [s for s, tail in self._tails.items() if tail.waiters and tail.quiet]
        for tail in self._tails.values():
            tail.quiet = True
        if not quiet:
            return
        with self.redis.pipeline(transaction=False) as pipe:
            for stream_id in quiet:
                meta = self.keys.meta(stream_id)
                pipe.exists(meta)
                pipe.hget(meta, "done")
                pipe.exists(self.keys.of(stream_id, "lease"))
            replies = pipe.execute()
        for n, stream_id in enumerate(quiet):
            exists, done, leased = replies[3 * n : 3 * n + 3]
            tail = self._tails.get(stream_id)
            waiters = tail.waiters if tail is not None else []
            if not exists:
                for waiter in waiters:
                    waiter.answer(None)
            elif done is not None:
                for waiter in waiters:
                    if waiter.after >= int(done):  # the others' events are on their way
                        waiter.answer([])
            elif not leased:
                self._close(stream_id)

    def _close(self, stream_id: str) -> None:
        """Close a stream whose producer died, in a greenlet of its own (the loop goes on)."""
        if stream_id in self._closing:
            return
        self._closing.add(stream_id)

        def close() -> None:
            try:
                self.unleased(stream_id)
            except BrokerError as error:
                log.warning("could not close the lost stream %s: %s", stream_id, error)
            finally:
                self._closing.discard(stream_id)

        gevent.spawn(close)

    def _fail(self, error: BrokerError) -> None:
        for tail in self._tails.values():
            for waiter in tail.waiters:
                if not waiter.result.ready():
                    waiter.result.set_exception(error)
