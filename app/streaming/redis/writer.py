"""The writer: one greenlet per process sending the events published here to Redis in batches.

It sends whatever was published in the last WRITE_INTERVAL in one pipeline: a round trip per
event cost the worker about 170 µs of CPU, a pipelined event about 35 µs (bench/). A producer
learns that Redis refused its events (stream closed or wiped, Redis down) at its next `publish`
(`check`), and `drain` writes a stream's events out at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import gevent
import redis
from gevent.event import Event as Wakeup
from gevent.lock import Semaphore

from app.streaming.broker import BrokerError
from app.streaming.redis.keys import ORPHAN_TTL, Keys, errors

log = logging.getLogger(__name__)

WRITE_INTERVAL = 0.01  # seconds the writer gathers events before a pipeline (readers here
# follow from memory; readers in other processes get the events up to this much later)

# Append one event unless the stream is gone (-1), already done (-2) or full (-3).
_PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'done') == 1 then return -2 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local max = tonumber(ARGV[3])
if seq > max and ARGV[1] ~= 'done' then
  redis.call('HINCRBY', KEYS[1], 'seq', -1)
  return -3
end
redis.call('XADD', KEYS[2], 'MAXLEN', max + 1, seq .. '-0', 'n', ARGV[1], 'd', ARGV[2])
if seq == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
if ARGV[1] == 'done' then redis.call('HSET', KEYS[1], 'done', seq) end
return seq
"""

CLOSED = {-1: "is gone (Redis lost it)", -2: "was already closed"}

Entry = tuple[str, str, str, int]  # (stream id, event name, payload, seq)


class Writer:
    """Appends events to their streams in Redis, in the order they were published."""

    def __init__(self, client: redis.Redis, keys: Keys, max_events: int) -> None:
        self.redis = client
        self.keys = keys
        self.max_events = max_events
        self._script = client.register_script(_PUBLISH)
        self._outbox: list[Entry] = []
        self._outbox_ready = Wakeup()
        self._unwritten: Counter[str] = Counter()  # events per stream queued or being written
        self._lock = Semaphore()
        self._refused: dict[str, str] = {}  # why Redis would not take a stream's events

    def queue(self, stream_id: str, name: str, payload: str, seq: int) -> None:
        """Send this event in the next batch (`check` first that the stream's were not refused)."""
        self._outbox.append((stream_id, name, payload, seq))
        self._unwritten[stream_id] += 1
        self._outbox_ready.set()

    def check(self, stream_id: str) -> None:
        if stream_id in self._refused:
            raise BrokerError(f"stream {stream_id} {self._refused[stream_id]}")

    def forget(self, stream_id: str) -> None:
        self._refused.pop(stream_id, None)

    def append_now(self, stream_id: str, name: str, payload: str) -> int:
        """Append one event at once (a stream not produced here: a lost stream's closing)."""
        with errors():
            seq = self._append(stream_id, name, payload)
        if seq == -3:
            raise OverflowError(f"stream {stream_id} exceeded {self.max_events} events")
        if seq < 0:
            raise BrokerError(f"stream {stream_id} {CLOSED[seq]}")
        return seq

    def _append(self, stream_id: str, name: str, payload: str, client: Any = None) -> Any:
        """The publish script for one event, run now or queued in a pipeline (`client`)."""
        keys = [self.keys.meta(stream_id), self.keys.of(stream_id, "events")]
        return self._script(keys, [name, payload, self.max_events, ORPHAN_TTL], client=client)

    def run_forever(self) -> None:
        """Every WRITE_INTERVAL at most, send what was published meanwhile."""
        while True:
            self._outbox_ready.wait()
            gevent.sleep(WRITE_INTERVAL)  # what else is published meanwhile goes in this pipeline
            self.flush()

    def flush(self) -> None:
        """Send every queued event in one pipeline, one pipeline at a time: the order holds."""
        with self._lock:
            self._outbox_ready.clear()
            batch, self._outbox = self._outbox, []
            try:
                self._write(batch)
            except Exception:  # a bug must not leave a stream believed written
                log.exception("redis broker writer failed")
                for stream_id, *_ in batch:
                    self._refused.setdefault(stream_id, "could not be written")
            finally:
                self._unwritten.subtract(stream_id for stream_id, *_ in batch)

    def _write(self, batch: list[Entry]) -> None:
        batch = [entry for entry in batch if entry[0] not in self._refused]
        if not batch:
            return
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for stream_id, name, payload, _ in batch:
                    self._append(stream_id, name, payload, client=pipe)
                results: list[Any] = pipe.execute(raise_on_error=False)
        except redis.RedisError as error:
            log.warning("redis broker could not write %d events: %s", len(batch), error)
            results = [error] * len(batch)
        for (stream_id, _, _, seq), result in zip(batch, results, strict=True):
            if stream_id in self._refused or result == seq:
                continue
            if isinstance(result, Exception):
                self._refused[stream_id] = f"could not be written: {result}"
            else:  # closed, gone, or out of step with what its readers here were given
                self._refused[stream_id] = CLOSED.get(result, "is out of step in Redis")

    def drain(self, stream_id: str) -> None:
        """Write the events queued for this stream now; BrokerError if Redis refused them."""
        if self._unwritten[stream_id] > 0:
            self.flush()
        del self._unwritten[stream_id]
        self.check(stream_id)
