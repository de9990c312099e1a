"""The Redis broker: the same interface as `MemoryBroker`, shared by every worker and host.

Selected when `REDIS_URL` is set. Every key starts with `REDIS_KEY_PREFIX` (default `estate:`):

    s:<id>            hash: owner, meta (JSON), `seq` (last seq given), `done` (its seq), `created`
    s:<id>:events     Redis Stream of the events; entry id `<seq>-0`, fields n (name), d (JSON)
    s:<id>:lease      the producer's lease: renewed every second or so, expires after LEASE_TTL
    s:<id>:readers    hash: process id -> readers of this stream in that process
    s:<id>:lost       set (NX) by the one reader that closes a stream whose producer died
    active            set of the stream ids not done yet
    u:<owner>:active  the same, per owner (the per-user cap)
    node:<process>    a process's own lease, renewed by its heartbeat: readers of a killed
                      process stop counting when it expires
    clients           hash: process id -> readers in that process (/sse/health)
    cancel            pub/sub channel of cancel requests (data: the stream id)

The events of a stream produced in this process are kept in this process's memory until its
`done`: readers here (usually its only reader, the POST that started the reply) follow them
there rather than each with its own XREAD. They reach Redis through one writer greenlet per
process, which sends whatever was published in the last WRITE_INTERVAL in one pipeline: a round
trip per event cost the worker about 170 µs of CPU, a pipelined event about 35 µs (bench/).
A producer learns that Redis refused its events (stream closed or wiped, Redis down) at its
next `publish`, and `finish` waits until the stream's events are written.

Readers elsewhere block in XREAD for at most READ_SLICE at a time; between slices they look at the
producer's lease, and the first reader to find it expired on a stream that is not done closes
the stream through the `on_lost` handler. Streams nobody reads are closed the same way by
`sweep_lost`, which the producers' housekeeper (app/chat/runner.py) calls every few seconds in
every process.

Every Redis call goes through redis-py's sockets, which gevent's monkey-patching makes
cooperative: a blocked XREAD, or a slow Redis, suspends only its own greenlet. Each following
reader holds one pooled connection while it blocks, so a process needs about as many Redis
connections as it has open streams: the pool holds up to `REDIS_MAX_CONNECTIONS` (2500, above
gunicorn's 2000 connections per worker), and Redis's `maxclients` (10000 by default) bounds the
total over every process.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import redis
from gevent.event import Event as Wakeup
from gevent.lock import Semaphore
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from app.streaming.broker import (
    BrokerError,
    CancelHandler,
    LostHandler,
    MemoryBroker,
    StreamInfo,
)
from app.streaming.sse import Event, encode

log = logging.getLogger(__name__)

LEASE_TTL = 5  # seconds a producer's or a process's lease lasts without renewal
HEARTBEAT_INTERVAL = 1.0  # how often a process renews its own lease
READ_SLICE = 1.0  # longest single XREAD BLOCK: how soon a quiet reader notices a dead producer
READ_BATCH = 500  # events per XREAD
WRITE_INTERVAL = 0.01  # seconds the writer gathers events before a pipeline (readers here
# follow from memory; readers in other processes get the events up to this much later)
LOST_CLAIM_TTL = 30  # if the process closing a lost stream dies too, another tries after this
ORPHAN_TTL = 24 * 3600  # bound on the life of keys of a stream that never finished

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

# Renew the producer's lease unless its stream is gone (-1) or already done (-2).
_RENEW = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'done') == 1 then return -2 end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
"""

_CLOSED = {-1: "is gone (Redis lost it)", -2: "was already closed"}


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
        self.replay_ttl = int(replay_ttl)
        self.prefix = prefix
        self.max_events = max_events
        self.lease_ttl = lease_ttl
        self.node = uuid.uuid4().hex  # this process
        # A few quick retries ride over a dropped connection; a Redis that stays down surfaces
        # as BrokerError within about a second instead of stalling the caller. The pool makes
        # callers wait for a free connection (cooperatively) rather than fail when it is full.
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=5,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=READ_SLICE + 5,
            health_check_interval=30,
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3),
        )
        self.redis = redis.Redis(connection_pool=pool)
        self._publish = self.redis.register_script(_PUBLISH)
        self._renew = self.redis.register_script(_RENEW)
        self._produced = MemoryBroker(replay_ttl=0, max_events=max_events)  # see above
        self._outbox: list[tuple[str, str, str, int]] = []  # (stream, name, payload, seq)
        self._outbox_ready = Wakeup()
        self._unwritten: Counter[str] = Counter()  # events per stream queued or being written
        self._write_lock = Semaphore()
        self._refused: dict[str, str] = {}  # why Redis would not take a stream's events
        self._cancel_handlers: list[CancelHandler] = []
        self._lost_handlers: list[LostHandler] = []
        self._local_readers: Counter[str] = Counter()
        self._started = False
        self._background: list[gevent.Greenlet] = []

    # --- keys --------------------------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _meta(self, stream_id: str) -> str:
        return self._key("s", stream_id)

    def _stream_key(self, stream_id: str, what: str) -> str:
        return self._key("s", stream_id, what)

    # --- background greenlets of this process ------------------------------------------------
    def _ensure_running(self) -> None:
        """Start the heartbeat and the cancel listener on first use (after gunicorn forked)."""
        if self._started:
            return
        self._started = True  # before any I/O: another greenlet may call in meanwhile
        try:
            with self._errors():
                self.redis.set(self._key("node", self.node), "1", ex=self.lease_ttl)
                pubsub = self._subscribe()  # before any stream of ours can be cancelled
        except BrokerError:
            self._started = False
            raise
        self._background = [
            gevent.spawn(self._heartbeat),
            gevent.spawn(self._listen, pubsub),
            gevent.spawn(self._write_forever),
        ]

    def _heartbeat(self) -> None:
        while True:
            gevent.sleep(HEARTBEAT_INTERVAL)
            try:
                self.redis.set(self._key("node", self.node), "1", ex=self.lease_ttl)
            except redis.RedisError as error:
                log.warning("redis broker heartbeat failed: %s", error)

    def sweep_lost(self) -> None:
        """Close streams whose producer died while nobody was reading them.

        Called by the runner's housekeeper, which every process runs from its start: after
        every process was killed, the restarted ones close the streams of the dead, with the
        text they had published, within a lease and a housekeeping interval.
        """
        with self._errors():
            stream_ids = list(self.redis.smembers(self._key("active")))
            if not stream_ids:
                return
            leases = self.redis.mget([self._stream_key(s, "lease") for s in stream_ids])
        for stream_id, lease in zip(stream_ids, leases, strict=True):
            if lease is None:
                self._close_lost(stream_id)

    def _subscribe(self) -> redis.client.PubSub:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self._key("cancel"))
        return pubsub

    def _resubscribe(self) -> redis.client.PubSub:
        while True:
            gevent.sleep(HEARTBEAT_INTERVAL)
            try:
                return self._subscribe()
            except redis.RedisError:
                continue

    def _listen(self, pubsub: redis.client.PubSub) -> None:
        """Call this process's cancel handlers for every cancel request, from any process."""
        while True:
            try:
                message = pubsub.get_message(timeout=READ_SLICE)
            except redis.RedisError as error:
                log.warning("redis broker cancel listener reconnecting: %s", error)
                pubsub.close()
                pubsub = self._resubscribe()
                continue
            if message is not None:
                for handler in self._cancel_handlers:
                    handler(message["data"])
            gevent.sleep(0)  # a burst of messages reads without blocking: let others run

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as error:
            raise BrokerError(f"redis: {error}") from error

    # --- producer side -----------------------------------------------------------------------
    def create(self, info: StreamInfo) -> None:
        self._ensure_running()
        meta = self._meta(info.stream_id)
        user_active = self._key("u", info.owner, "active")
        with self._errors(), self.redis.pipeline() as pipe:
            pipe.hset(
                meta,
                mapping={
                    "owner": info.owner,
                    "meta": json.dumps(info.meta),
                    "seq": 0,
                    "created": time.time(),
                    "node": self.node,
                },
            )
            pipe.expire(meta, ORPHAN_TTL)
            pipe.set(self._stream_key(info.stream_id, "lease"), self.node, ex=self.lease_ttl)
            pipe.sadd(self._key("active"), info.stream_id)
            pipe.sadd(user_active, info.stream_id)
            pipe.expire(user_active, ORPHAN_TTL)
            pipe.execute()
        self._produced.create(info)

    def publish(self, stream_id: str, name: str, data: dict[str, Any]) -> int:
        payload = encode(data)
        if self._produced.info(stream_id) is None:  # not produced here: a lost stream's closing
            return self._publish_now(stream_id, name, payload)
        if stream_id in self._refused:
            raise BrokerError(f"stream {stream_id} {self._refused[stream_id]}")
        seq = self._produced.append(stream_id, name, payload)  # OverflowError past max_events
        self._outbox.append((stream_id, name, payload, seq))
        self._unwritten[stream_id] += 1
        self._outbox_ready.set()
        return seq

    def _append(self, stream_id: str, name: str, payload: str, client: Any = None) -> Any:
        """The publish script for one event, run now or queued in a pipeline (`client`)."""
        keys = [self._meta(stream_id), self._stream_key(stream_id, "events")]
        return self._publish(keys, [name, payload, self.max_events, ORPHAN_TTL], client=client)

    def _publish_now(self, stream_id: str, name: str, payload: str) -> int:
        with self._errors():
            seq = self._append(stream_id, name, payload)
        if seq == -3:
            raise OverflowError(f"stream {stream_id} exceeded {self.max_events} events")
        if seq < 0:
            raise BrokerError(f"stream {stream_id} {_CLOSED[seq]}")
        return seq

    def _write_forever(self) -> None:
        """The writer: every WRITE_INTERVAL at most, sends what was published meanwhile."""
        while True:
            self._outbox_ready.wait()
            gevent.sleep(WRITE_INTERVAL)  # what else is published meanwhile goes in this pipeline
            self._flush()

    def _flush(self) -> None:
        """Send every queued event in one pipeline, one pipeline at a time: the order holds."""
        with self._write_lock:
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

    def _write(self, batch: list[tuple[str, str, str, int]]) -> None:
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
                self._refused[stream_id] = _CLOSED.get(result, "is out of step in Redis")

    def drain(self, stream_id: str) -> None:
        """Write the events published here so far now, without waiting for the writer's next
        round; BrokerError if Redis refused this stream's."""
        if self._unwritten[stream_id] > 0:
            self._flush()
        del self._unwritten[stream_id]
        if stream_id in self._refused:
            raise BrokerError(f"stream {stream_id} {self._refused[stream_id]}")

    def watch(self, stream_ids: list[str]) -> dict[str, int]:
        """Every lease renewed and every reader count read in one pipeline, then one MGET of
        the other processes' leases: two round trips a tick however many streams run here."""
        if not stream_ids:
            return {}
        with self._errors():
            with self.redis.pipeline(transaction=False) as pipe:
                for stream_id in stream_ids:
                    keys = [self._meta(stream_id), self._stream_key(stream_id, "lease")]
                    self._renew(keys, [self.node, self.lease_ttl], client=pipe)
                    pipe.hgetall(self._stream_key(stream_id, "readers"))
                replies = pipe.execute()
            states, counts = replies[0::2], replies[1::2]
            alive = self._alive_nodes({node for c in counts for node in c})
        return {
            stream_id: sum(int(n) for node, n in count.items() if node in alive)
            for stream_id, state, count in zip(stream_ids, states, counts, strict=True)
            if state > 0
        }

    def finish(self, stream_id: str) -> None:
        try:
            self.drain(stream_id)  # its last events, `done` among them; BrokerError if refused
        finally:
            self._produced.discard(stream_id)
            self._refused.pop(stream_id, None)
        meta = self._meta(stream_id)
        with self._errors():
            owner = self.redis.hget(meta, "owner")
            with self.redis.pipeline() as pipe:
                for key in (meta, *(self._stream_key(stream_id, k) for k in ("events", "readers"))):
                    pipe.expire(key, self.replay_ttl)
                pipe.delete(self._stream_key(stream_id, "lease"))
                pipe.srem(self._key("active"), stream_id)
                if owner is not None:
                    pipe.srem(self._key("u", owner, "active"), stream_id)
                pipe.execute()

    # --- reader side -------------------------------------------------------------------------
    def read(self, stream_id: str, after: int, timeout: float) -> list[Event] | None:
        events = self._produced.read(stream_id, after, timeout)  # None: not produced here
        if events:
            return events
        if events is not None:  # waited `timeout` in memory: now a look at Redis (lease, done)
            timeout = 0.0
        self._ensure_running()
        events_key = self._stream_key(stream_id, "events")
        deadline = time.monotonic() + timeout
        while True:
            block = min(max(deadline - time.monotonic(), 0.0), READ_SLICE)
            with self._errors():
                found = self.redis.xread(
                    {events_key: f"{after}-0"},
                    count=READ_BATCH,
                    block=int(block * 1000) or None,  # None: do not block at all
                )
                if found:
                    return [_event(entry) for entry in found[0][1]]
                meta = self._meta(stream_id)
                with self.redis.pipeline(transaction=False) as pipe:
                    pipe.exists(meta)
                    pipe.hexists(meta, "done")
                    pipe.exists(self._stream_key(stream_id, "lease"))
                    exists, done, leased = pipe.execute()
            if not exists:
                return None
            if done:
                return []
            if not leased:
                self._close_lost(stream_id)  # then the next XREAD sees `error` and `done`
            if time.monotonic() >= deadline:
                return []

    def _close_lost(self, stream_id: str) -> None:
        """Let exactly one process, the first to get here, close a stream whose producer died."""
        claim = self._stream_key(stream_id, "lost")
        with self._errors():
            if not self.redis.set(claim, self.node, nx=True, ex=LOST_CLAIM_TTL):
                return  # another process is closing it
            entries = self.redis.xrange(self._stream_key(stream_id, "events"))
            created = float(self.redis.hget(self._meta(stream_id), "created") or time.time())
        info = self.info(stream_id)
        if info is None:  # its keys expired long ago: only the set still named it
            with self._errors():
                self.redis.srem(self._key("active"), stream_id)
            return
        log.warning("the producer of stream %s is gone; closing the stream", stream_id)
        events = [_event(entry) for entry in entries]
        for handler in self._lost_handlers:
            try:
                handler(info, events, max(time.time() - created, 0.0))
            except Exception:
                log.exception("could not close the lost stream %s", stream_id)

    def info(self, stream_id: str) -> StreamInfo | None:
        with self._errors():
            owner, meta = self.redis.hmget(self._meta(stream_id), ["owner", "meta"])
        if owner is None:
            return None
        return StreamInfo(stream_id, owner, json.loads(meta or "{}"))

    def progress(self, stream_id: str) -> tuple[int, bool] | None:
        produced_here = self._produced.progress(stream_id)
        if produced_here is not None:
            return produced_here
        with self._errors():
            seq, done = self.redis.hmget(self._meta(stream_id), ["seq", "done"])
        if seq is None:
            return None
        return (int(done), True) if done else (int(seq), False)

    def attach(self, stream_id: str) -> None:
        self._ensure_running()
        self._count_reader(stream_id, 1)

    def detach(self, stream_id: str) -> None:
        self._count_reader(stream_id, -1)

    def _count_reader(self, stream_id: str, delta: int) -> None:
        self._local_readers[stream_id] += delta
        if self._local_readers[stream_id] <= 0:
            del self._local_readers[stream_id]
        readers, count = self._stream_key(stream_id, "readers"), self._local_readers[stream_id]
        total = self._local_readers.total()
        with self._errors(), self.redis.pipeline(transaction=False) as pipe:
            if count:
                pipe.hset(readers, self.node, count)
                pipe.expire(readers, ORPHAN_TTL, nx=True)
            else:
                pipe.hdel(readers, self.node)
            if total:
                pipe.hset(self._key("clients"), self.node, total)
            else:
                pipe.hdel(self._key("clients"), self.node)
            pipe.execute()

    def _alive_nodes(self, nodes: set[str]) -> set[str]:
        """Those of these processes whose own lease has not expired (this one always is)."""
        others = sorted(nodes - {self.node})
        alive = {self.node}
        if others:
            leases = self.redis.mget([self._key("node", node) for node in others])
            alive.update(node for node, lease in zip(others, leases, strict=True) if lease)
        return alive

    # --- cancel, limits, health --------------------------------------------------------------
    def request_cancel(self, stream_id: str) -> None:
        if self._produced.info(stream_id) is not None:  # produced here: no need for a round trip
            for handler in self._cancel_handlers:
                handler(stream_id)
            return
        with self._errors():
            self.redis.publish(self._key("cancel"), stream_id)

    def on_cancel(self, handler: CancelHandler) -> None:
        self._cancel_handlers.append(handler)

    def on_lost(self, handler: LostHandler) -> None:
        self._lost_handlers.append(handler)

    def _alive_streams(self, key: str) -> int:
        stream_ids = list(self.redis.smembers(key))
        if not stream_ids:
            return 0
        leases = self.redis.mget([self._stream_key(s, "lease") for s in stream_ids])
        return sum(1 for lease in leases if lease)

    def active_for(self, owner: str) -> int:
        with self._errors():
            return self._alive_streams(self._key("u", owner, "active"))

    def stats(self) -> dict[str, int]:
        with self._errors():
            counts = self.redis.hgetall(self._key("clients"))
            alive = self._alive_nodes(set(counts))
            clients = {node: int(n) for node, n in counts.items() if node in alive}
            dead = [node for node in counts if node not in alive]
            if dead:  # processes that were killed: forget their counts
                self.redis.hdel(self._key("clients"), *dead)
            return {
                "active_streams": self._alive_streams(self._key("active")),
                "connected_clients": sum(clients.values()),
            }


def _event(entry: tuple[str, dict[str, str]]) -> Event:
    entry_id, fields = entry
    return Event(int(entry_id.partition("-")[0]), fields["n"], fields["d"])
