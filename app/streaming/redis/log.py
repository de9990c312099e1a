"""The streams in Redis: their metadata hash and their events as a Redis Stream.

Readers here of streams produced elsewhere follow them through the fan-out (fanout.py).
"""

from __future__ import annotations

import json
import time

import redis

from app.streaming.broker import StreamInfo
from app.streaming.redis.keys import ORPHAN_TTL, Keys, errors
from app.streaming.sse import Event

READ_BATCH = 500  # events per XREAD or XRANGE of one stream
LOST_CLAIM_TTL = 30  # if the process closing a lost stream dies too, another tries after this


class StreamLog:
    def __init__(self, client: redis.Redis, keys: Keys, replay_ttl: int) -> None:
        self.redis = client
        self.keys = keys
        self.replay_ttl = replay_ttl

    def create(self, info: StreamInfo, node: str, lease_ttl: int) -> None:
        """The stream's keys, its producer's (`node`'s) first lease, and its place in the
        `active` sets."""
        meta = self.keys.meta(info.stream_id)
        owner_active = self.keys.key("u", info.owner, "active")
        with errors(), self.redis.pipeline() as pipe:
            pipe.hset(
                meta,
                mapping={
                    "owner": info.owner,
                    "meta": json.dumps(info.meta),
                    "seq": 0,
                    "created": time.time(),
                    "node": node,
                },
            )
            pipe.expire(meta, ORPHAN_TTL)
            pipe.set(self.keys.of(info.stream_id, "lease"), node, ex=lease_ttl)
            pipe.sadd(self.keys.key("active"), info.stream_id)
            pipe.sadd(owner_active, info.stream_id)
            pipe.expire(owner_active, ORPHAN_TTL)
            pipe.execute()

    def finish(self, stream_id: str) -> None:
        """Keep the stream for the replay TTL, and take it out of the `active` sets."""
        meta = self.keys.meta(stream_id)
        with errors():
            owner = self.redis.hget(meta, "owner")
            with self.redis.pipeline() as pipe:
                for key in (meta, *(self.keys.of(stream_id, k) for k in ("events", "readers"))):
                    pipe.expire(key, self.replay_ttl)
                pipe.delete(self.keys.of(stream_id, "lease"))
                pipe.srem(self.keys.key("active"), stream_id)
                if owner is not None:
                    pipe.srem(self.keys.key("u", owner, "active"), stream_id)
                pipe.execute()

    def info(self, stream_id: str) -> StreamInfo | None:
        with errors():
            owner, meta = self.redis.hmget(self.keys.meta(stream_id), ["owner", "meta"])
        if owner is None:
            return None
        return StreamInfo(stream_id, owner, json.loads(meta or "{}"))

    def progress(self, stream_id: str) -> tuple[int, bool] | None:
        with errors():
            seq, done = self.redis.hmget(self.keys.meta(stream_id), ["seq", "done"])
        if seq is None:
            return None
        return (int(done), True) if done else (int(seq), False)

    def claim_lost(self, stream_id: str, node: str) -> tuple[list[Event], float] | None:
        """The events and age in seconds of a stream whose producer died, for the one process
        that claims it first; None for the others."""
        claim = self.keys.of(stream_id, "lost")
        with errors():
            if not self.redis.set(claim, node, nx=True, ex=LOST_CLAIM_TTL):
                return None  # another process is closing it
            entries = self.redis.xrange(self.keys.of(stream_id, "events"))
            created = float(self.redis.hget(self.keys.meta(stream_id), "created") or time.time())
        return [entry_event(entry) for entry in entries], max(time.time() - created, 0.0)

    def forget_active(self, stream_id: str) -> None:
        with errors():
            self.redis.srem(self.keys.key("active"), stream_id)


def entry_event(entry: tuple[str, dict[str, str]]) -> Event:
    entry_id, fields = entry
    return Event(int(entry_id.partition("-")[0]), fields["n"], fields["d"])
