"""A reader of one stream: what every HTTP response for a stream is, from an offset.

The generator writes `retry:`, replays what the client missed, then follows live events until
`done`, with a keep-alive comment whenever nothing was written for the keep-alive interval.
A client that goes away is noticed at the next write (GeneratorExit); only this reader is
detached, and the generation goes on.
"""

from __future__ import annotations

from collections.abc import Iterator

from app.streaming.broker import Broker
from app.streaming.sse import KEEPALIVE, Event, retry_field


def follow_events(
    broker: Broker, stream_id: str, after: int, keepalive: float
) -> Iterator[list[Event] | None]:
    """Batches of events after `after`, or None when `keepalive` passed with nothing new."""
    broker.attach(stream_id)
    try:
        while True:
            events = broker.read(stream_id, after, timeout=keepalive)
            if events is None:  # expired while we followed it
                return
            if not events:
                yield None
                continue
            yield events
            after = events[-1].seq
            if events[-1].name == "done":
                return
    finally:
        broker.detach(stream_id)


def sse_stream(
    broker: Broker, stream_id: str, after: int, *, keepalive: float, retry_ms: int
) -> Iterator[str]:
    yield retry_field(retry_ms)
    for batch in follow_events(broker, stream_id, after, keepalive):
        yield KEEPALIVE if batch is None else "".join(e.frame(stream_id) for e in batch)


def text_stream(broker: Broker, stream_id: str, after: int, *, keepalive: float) -> Iterator[str]:
    """Plain text for terminals: the reply's text, an `[error: …]` line if any, `[done: …]`."""
    for batch in follow_events(broker, stream_id, after, keepalive):
        if batch is None:
            continue
        out: list[str] = []
        for event in batch:
            if event.name == "content":
                out.append(event.data["chunk"])
            elif event.name == "error":
                out.append(f"\n[error: {event.data['message']}]")
            elif event.name == "done":
                out.append(f"\n[done: {event.data['status']}]\n")
        if out:
            yield "".join(out)
