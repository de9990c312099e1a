"""The connection, the key names and the error translation every part of the Redis broker uses.

Every key starts with `REDIS_KEY_PREFIX` (default `estate:`); the key layout is in
app/streaming/redis/__init__.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from app.streaming.broker import BrokerError

LEASE_TTL = 5  # seconds a producer's or a process's lease lasts without renewal
READ_SLICE = 1.0  # longest XREAD BLOCK of the fan-out: how soon it notices a dead producer
ORPHAN_TTL = 24 * 3600  # bound on the life of keys of a stream that never finished


def connect(url: str, max_connections: int) -> redis.Redis:
    """A client whose callers wait for a free connection (cooperatively) rather than fail when
    the pool is full; a few quick retries ride over a dropped connection, and a Redis that stays
    down surfaces as an error within about a second instead of stalling the caller."""
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
    return redis.Redis(connection_pool=pool)


class Keys:
    """The names of the broker's keys under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def meta(self, stream_id: str) -> str:
        return self.key("s", stream_id)

    def of(self, stream_id: str, what: str) -> str:
        """One of a stream's keys: events, lease, readers, lost, requests."""
        return self.key("s", stream_id, what)


@contextmanager
def errors() -> Iterator[None]:
    """Redis failures as `BrokerError`, the one error callers of a broker handle."""
    try:
        yield
    except redis.RedisError as error:
        raise BrokerError(f"redis: {error}") from error
