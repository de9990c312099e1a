"""The writer: one greenlet per process sending the events published here to Redis in batches.

It sends whatever was published in the last WRITE_INTERVAL in one script call: a round trip per
event cost the worker about 170 µs of CPU, a pipelined call per event about 35 µs, and one call
for the whole batch less again (bench/). A producer learns that Redis refused its events
(stream closed or wiped, Redis down) at its next `publish` (`check`), and `drain` writes a
stream's events out at once.
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

WRITE_INTERVAL = 0.01  # seconds the writer gathers events before a call (readers here
# follow from memory; readers in other processes get the events up to this much later)

# Append events unless their stream is gone (-1), already done (-2) or full (-3), one result
# per event. KEYS: each stream's meta and events keys, in pairs; ARGV: the most events a stream
# may have, the orphan TTL, then for each stream its number of events and their names and data.
# One call for a whole batch: per event, a call of its own cost the writer twice the CPU (bench/).
_PUBLISH = """
local max, ttl = tonumber(ARGV[1]), ARGV[2]
local results, a = {}, 3
for k = 1, #KEYS, 2 do
  local meta, events = KEYS[k], KEYS[k + 1]
  local count = tonumber(ARGV[a])
  a = a + 1
  for i = 1, count do
    local name, data = ARGV[a], ARGV[a + 1]
    a = a + 2
    local result
    if redis.call('EXISTS', meta) == 0 then
      result = -1
    elseif redis.call('HEXISTS', meta, 'done') == 1 then
      result = -2
    else
      result = redis.call('HINCRBY', meta, 'seq', 1)
      if result > max and name ~= 'done' then
        redis.call('HINCRBY', meta, 'seq', -1)
        result = -3
      else
        redis.call('XADD', events, 'MAXLEN', max + 1, result .. '-0', 'n', name, 'd', data)
        if result == 1 then redis.call('EXPIRE', events, ttl) end
        if name == 'done' then redis.call('HSET', meta, 'done', result) end
      end
    end
    results[#results + 1] = result
  end
end
return results
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
            (seq,) = self._append([(stream_id, name, payload, 0)])
        if seq == -3:
            raise OverflowError(f"stream {stream_id} exceeded {self.max_events} events")
        if seq < 0:
            raise BrokerError(f"stream {stream_id} {CLOSED[seq]}")
        return seq

    def _append(self, batch: list[Entry]) -> list[Any]:
        """Run the publish script once for `batch`; the result of each entry, in its order."""
        by_stream: dict[str, list[int]] = {}  # the indices of each stream's entries
        for index, entry in enumerate(batch):
            by_stream.setdefault(entry[0], []).append(index)
        keys: list[str] = []
        args: list[Any] = [self.max_events, ORPHAN_TTL]
        for stream_id, indices in by_stream.items():
            keys += [self.keys.meta(stream_id), self.keys.of(stream_id, "events")]
            args.append(len(indices))
            for index in indices:
                _, name, payload, _ = batch[index]
                args += [name, payload]
        results: list[Any] = [None] * len(batch)
        indices = (index for stream_indices in by_stream.values() for index in stream_indices)
        for index, result in zip(indices, self._script(keys, args), strict=True):
            results[index] = result
        return results

    def run_forever(self) -> None:
        """Every WRITE_INTERVAL at most, send what was published meanwhile."""
        while True:
            self._outbox_ready.wait()
            gevent.sleep(WRITE_INTERVAL)  # what else is published meanwhile goes in this call
            self.flush()

    def flush(self) -> None:
        """Send every queued event in one call, one call at a time: the order holds."""
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
            results = self._append(batch)
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
