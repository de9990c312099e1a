"""Who is alive and who is reading: process leases, stream leases, reader counts.

A process renews its own lease (`node:<process>`) every HEARTBEAT_INTERVAL; readers counted by a
killed process stop counting once it expires. A producer's lease on its stream (`s:<id>:lease`)
is renewed by `watch`, twice a second from the producers' watcher; a stream whose lease expired
before its `done` has lost its producer. `watch` also reads the requests recorded on the
streams (cancel.py).
"""

from __future__ import annotations

import logging
from collections import Counter

import gevent
import redis

from app.streaming.redis.keys import ORPHAN_TTL, Keys, errors

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 1.0  # how often a process renews its own lease

# Renew the producer's lease unless its stream is gone (-1) or already done (-2).
_RENEW = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'done') == 1 then return -2 end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
"""


class Presence:
    def __init__(self, client: redis.Redis, keys: Keys, node: str, lease_ttl: int) -> None:
        self.redis = client
        self.keys = keys
        self.node = node  # this process
        self.lease_ttl = lease_ttl
        self._renew = client.register_script(_RENEW)
        self._local_readers: Counter[str] = Counter()

    def announce(self) -> None:
        """Take this process's lease."""
        self.redis.set(self.keys.key("node", self.node), "1", ex=self.lease_ttl)

    def heartbeat(self) -> None:
        while True:
            gevent.sleep(HEARTBEAT_INTERVAL)
            try:
                self.announce()
            except redis.RedisError as error:
                log.warning("redis broker heartbeat failed: %s", error)

    def count_reader(self, stream_id: str, delta: int) -> None:
        """A reader of this process attached (+1) or detached (-1)."""
        self._local_readers[stream_id] += delta
        if self._local_readers[stream_id] <= 0:
            del self._local_readers[stream_id]
        readers, count = self.keys.of(stream_id, "readers"), self._local_readers[stream_id]
        total = self._local_readers.total()
        with errors(), self.redis.pipeline(transaction=False) as pipe:
            if count:
                pipe.hset(readers, self.node, count)
                pipe.expire(readers, ORPHAN_TTL, nx=True)
            else:
                pipe.hdel(readers, self.node)
            if total:
                pipe.hset(self.keys.key("clients"), self.node, total)
            else:
                pipe.hdel(self.keys.key("clients"), self.node)
            pipe.execute()

    def watch(self, stream_ids: list[str]) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
        """Every lease renewed, every reader count and every recorded request (cancel.py) read
        in one pipeline, then one MGET of the other processes' leases: two round trips a tick
        however many streams run here. Answers the reader counts of the streams still open, and
        the requests recorded on those that have any."""
        if not stream_ids:
            return {}, {}
        with errors():
            with self.redis.pipeline(transaction=False) as pipe:
                for stream_id in stream_ids:
                    keys = [self.keys.meta(stream_id), self.keys.of(stream_id, "lease")]
                    self._renew(keys, [self.node, self.lease_ttl], client=pipe)
                    pipe.hgetall(self.keys.of(stream_id, "readers"))
                    pipe.hgetall(self.keys.of(stream_id, "requests"))
                replies = pipe.execute()
            states, counts, requests = replies[0::3], replies[1::3], replies[2::3]
            alive = self._alive_nodes({node for c in counts for node in c})
        open_streams = [
            (stream_id, count, asked)
            for stream_id, state, count, asked in zip(
                stream_ids, states, counts, requests, strict=True
            )
            if state > 0
        ]
        readers = {
            stream_id: sum(int(n) for node, n in count.items() if node in alive)
            for stream_id, count, _ in open_streams
        }
        return readers, {stream_id: asked for stream_id, _, asked in open_streams if asked}

    def _alive_nodes(self, nodes: set[str]) -> set[str]:
        """Those of these processes whose own lease has not expired (this one always is)."""
        others = sorted(nodes - {self.node})
        alive = {self.node}
        if others:
            leases = self.redis.mget([self.keys.key("node", node) for node in others])
            alive.update(node for node, lease in zip(others, leases, strict=True) if lease)
        return alive

    def unleased(self, key: str) -> list[str]:
        """The streams of this set (`active`, `u:<owner>:active`) whose producer's lease ran out."""
        stream_ids = list(self.redis.smembers(key))
        if not stream_ids:
            return []
        leases = self.redis.mget([self.keys.of(s, "lease") for s in stream_ids])
        return [s for s, lease in zip(stream_ids, leases, strict=True) if lease is None]

    def alive_streams(self, key: str) -> int:
        """How many streams of this set have a producer alive."""
        stream_ids = list(self.redis.smembers(key))
        if not stream_ids:
            return 0
        leases = self.redis.mget([self.keys.of(s, "lease") for s in stream_ids])
        return sum(1 for lease in leases if lease)

    def stats(self) -> dict[str, int]:
        with errors():
            counts = self.redis.hgetall(self.keys.key("clients"))
            alive = self._alive_nodes(set(counts))
            clients = {node: int(n) for node, n in counts.items() if node in alive}
            dead = [node for node in counts if node not in alive]
            if dead:  # processes that were killed: forget their counts
                self.redis.hdel(self.keys.key("clients"), *dead)
            return {
                "active_streams": self.alive_streams(self.keys.key("active")),
                "connected_clients": sum(clients.values()),
            }
