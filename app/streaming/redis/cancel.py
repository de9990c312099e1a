"""Cancel requests across processes: a pub/sub channel, and one listener greenlet per process.

A request for a stream produced in this process is handled here without a round trip; any other
is published, and the listener of every process calls its handlers with the stream id. Approval
answers (CONTRACT.md 6.3) travel the same way on a channel of their own (`name="approval"`,
the message a small JSON object).

A message published while the producer's listener is reconnecting would be lost: so every
request is also recorded on its stream (`s:<id>:requests`, for REQUEST_TTL), where the
producer's `watch` finds it within half a second (`RedisBroker.watch`). Either way, the handlers
hear each message once.
"""

from __future__ import annotations

import logging

import gevent
import redis

from app.streaming.broker import CancelHandler
from app.streaming.redis.keys import READ_SLICE, Keys, errors

log = logging.getLogger(__name__)

RESUBSCRIBE_INTERVAL = 1.0  # seconds between attempts while Redis is away
REQUEST_TTL = 60  # seconds a request stays recorded on its stream
HEARD_MEMORY = 10_000  # messages remembered, so that none is handled twice


class CancelChannel:
    def __init__(self, client: redis.Redis, keys: Keys, name: str = "cancel") -> None:
        self.redis = client
        self.keys = keys
        self.channel = keys.key(name)
        self.handlers: list[CancelHandler] = []
        self._heard: dict[str, None] = {}  # the messages handled, oldest first

    def subscribe(self) -> redis.client.PubSub:
        """Subscribe now (before any stream of ours can be cancelled); `listen` then reads it."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self.channel)
        return pubsub

    def request(self, stream_id: str, message: str, field: str, value: str = "1") -> None:
        """Tell every process, and record the request on the stream (`field`: `value`)."""
        requests = self.keys.of(stream_id, "requests")
        with errors(), self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(requests, field, value)
            pipe.expire(requests, REQUEST_TTL)
            pipe.publish(self.channel, message)
            pipe.execute()

    def notify(self, message: str) -> None:
        """Call this process's handlers, unless they already had this message."""
        if message in self._heard:
            return
        self._heard[message] = None
        if len(self._heard) > HEARD_MEMORY:
            del self._heard[next(iter(self._heard))]
        for handler in self.handlers:
            handler(message)

    def listen(self, pubsub: redis.client.PubSub) -> None:
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
                self.notify(message["data"])
            # A burst of messages reads without blocking: let others run. A timer rather than
            # sleep(0), which, unpatched (unit tests), would keep the hub from its timers.
            gevent.sleep(0.001)

    def _resubscribe(self) -> redis.client.PubSub:
        while True:
            gevent.sleep(RESUBSCRIBE_INTERVAL)
            try:
                return self.subscribe()
            except redis.RedisError:
                continue
