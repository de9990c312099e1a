"""A reader of one stream: what every HTTP response for a stream is, from an offset.

The generator writes `retry:`, replays what the client missed, then follows live events until
`done`, with a keep-alive comment whenever nothing was written for the keep-alive interval.
A client that goes away is noticed at the next write (GeneratorExit); only this reader is
detached, and the generation goes on.

If the broker fails under a reader (Redis restarting), the reader keeps its client with
keep-alives for up to BROKER_PATIENCE seconds and carries on if the broker comes back; if it
does not, or if the stream vanished before its `done`, the reader ends the response itself with
the events its caller's `Ending` gives (app/chat/events.py: an `error` and a `done` of status
`failed`), so a client never hangs on a dead stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import gevent

from app.streaming.broker import Broker, BrokerError
from app.streaming.sse import KEEPALIVE, Event, retry_field

log = logging.getLogger(__name__)

BROKER_PATIENCE = 8.0  # seconds a reader waits for a failing broker to come back
BROKER_RETRY = 1.0


def nothing_left(broker: Broker, stream_id: str, after: int) -> bool:
    """True when the stream is done and the client has read up to its end (or claims more)."""
    progress = broker.progress(stream_id)
    return progress is not None and progress[1] and after >= progress[0]


# How a stream ends when the reader, not its producer, has to end it: (after, reason) -> the
# closing events, numbered on from `after`. The reasons are READER_GAVE_UP and STREAM_VANISHED.
Ending = Callable[[int, str], list[Event]]
READER_GAVE_UP = "stream_unavailable"  # the broker failed for longer than BROKER_PATIENCE
STREAM_VANISHED = "stream_lost"  # the stream disappeared before its last event


def follow_events(
    broker: Broker, stream_id: str, after: int, keepalive: float, ending: Ending
) -> Iterator[list[Event] | None]:
    """Batches of events after `after`, or None when `keepalive` passed with nothing new.

    The stream's last event is the one named `done`; if the stream cannot get there, the batch
    `ending` gives ends it.

    Every turn of the loop either waits in the broker or ends it: a finished stream answers
    `read` at once, so an empty answer is looked into rather than taken as a quiet interval
    (a client claiming events past the end once made this loop spin, writing keep-alives).
    """
    try:
        broker.attach(stream_id)
        attached = True
    except BrokerError:  # counted once the broker is back; reading below retries
        attached = False
    failing_since: float | None = None
    try:
        while True:
            try:
                events = broker.read(stream_id, after, timeout=keepalive)
                if events == [] and nothing_left(broker, stream_id, after):
                    return
            except BrokerError as error:
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since >= BROKER_PATIENCE:
                    log.warning("reader of stream %s gives up: %s", stream_id, error)
                    yield ending(after, READER_GAVE_UP)
                    return
                gevent.sleep(BROKER_RETRY)
                yield None  # a keep-alive, which also notices a client that left
                continue
            failing_since = None
            if events is None:  # vanished before its `done` (Redis lost it)
                yield ending(after, STREAM_VANISHED)
                return
            if not events:
                yield None
                continue
            yield events
            after = events[-1].seq
            if events[-1].name == "done":
                return
    finally:
        try:
            if attached:
                broker.detach(stream_id)
        except BrokerError as error:
            log.warning("could not detach a reader of stream %s: %s", stream_id, error)


Batches = Iterator[list[Event] | None]  # batches of events; None: a keep-alive is due


def sse_body(stream_id: str, batches: Batches, retry_ms: int) -> Iterator[str]:
    yield retry_field(retry_ms)
    for batch in batches:
        yield KEEPALIVE if batch is None else "".join([e.frame(stream_id) for e in batch])
