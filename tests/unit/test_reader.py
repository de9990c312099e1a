"""A reader of one stream (app/streaming/reader.py) on the in-process broker: replay after a
seq, keep-alives, the end of a stream, and patience with a failing broker."""

from __future__ import annotations

import pytest

from app.streaming import reader
from app.streaming.broker import BrokerError, StreamInfo
from app.streaming.memory import MemoryBroker
from app.streaming.reader import (
    READER_GAVE_UP,
    STREAM_VANISHED,
    follow_events,
    nothing_left,
    sse_body,
)
from app.streaming.sse import Event, encode

KEEPALIVE = 0.01


def ending(after: int, reason: str) -> list[Event]:
    return [Event(after + 1, "done", encode({"status": "failed", "reason": reason}))]


@pytest.fixture
def broker() -> MemoryBroker:
    made = MemoryBroker(replay_ttl=60)
    made.create(StreamInfo("s1", "u1"))
    return made


def publish_reply(broker: MemoryBroker) -> None:
    for chunk in ("a", "b", "c"):
        broker.publish("s1", "content", {"chunk": chunk})
    broker.publish("s1", "done", {"status": "completed"})
    broker.finish("s1")


def test_a_reader_replays_what_came_after_its_seq_and_stops_at_done(
    broker: MemoryBroker,
) -> None:
    publish_reply(broker)
    batches = list(follow_events(broker, "s1", 2, KEEPALIVE, ending))
    assert [[(e.seq, e.name) for e in batch or []] for batch in batches] == [
        [(3, "content"), (4, "done")]
    ]


def test_a_finished_stream_read_to_its_end_has_nothing_left(broker: MemoryBroker) -> None:
    assert not nothing_left(broker, "s1", 0)  # not finished
    publish_reply(broker)
    assert not nothing_left(broker, "s1", 3)
    assert nothing_left(broker, "s1", 4)
    assert nothing_left(broker, "s1", 99)  # a client claiming more ends too, rather than spin
    assert list(follow_events(broker, "s1", 99, KEEPALIVE, ending)) == []


def test_a_quiet_stream_gives_keepalives_then_the_events_as_they_come(
    broker: MemoryBroker,
) -> None:
    batches = follow_events(broker, "s1", 0, KEEPALIVE, ending)
    assert next(batches) is None  # nothing within the keep-alive interval
    assert broker.stats()["connected_clients"] == 1
    broker.publish("s1", "content", {"chunk": "hi"})
    assert [e.data for e in next(batches) or []] == [{"chunk": "hi"}]
    broker.publish("s1", "done", {"status": "completed"})
    assert [e.name for e in next(batches) or []] == ["done"]
    assert list(batches) == []
    assert broker.stats()["connected_clients"] == 0  # detached at the end


def test_a_stream_that_vanishes_before_done_is_ended_by_the_callers_ending(
    broker: MemoryBroker,
) -> None:
    broker.publish("s1", "content", {"chunk": "a"})
    batches = follow_events(broker, "s1", 0, KEEPALIVE, ending)
    assert [e.seq for e in next(batches) or []] == [1]
    broker.discard("s1")
    [closing] = list(batches)
    assert [(e.seq, e.data["reason"]) for e in closing or []] == [(2, STREAM_VANISHED)]


class Flaky(MemoryBroker):
    """Fails `read` the first `failures` times."""

    def __init__(self, failures: int) -> None:
        super().__init__(replay_ttl=60)
        self.failures = failures

    def read(self, stream_id: str, after: int, timeout: float) -> list[Event] | None:
        if self.failures:
            self.failures -= 1
            raise BrokerError("redis: connection refused")
        return super().read(stream_id, after, timeout)


def test_a_reader_keeps_its_client_while_the_broker_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reader, "BROKER_RETRY", 0)
    broker = Flaky(failures=2)
    broker.create(StreamInfo("s1", "u1"))
    publish_reply(broker)
    batches = list(follow_events(broker, "s1", 0, KEEPALIVE, ending))
    assert batches[:2] == [None, None]  # keep-alives while it failed
    assert [e.name for e in batches[2] or []] == ["content"] * 3 + ["done"]


def test_a_reader_gives_up_on_a_broker_that_stays_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "BROKER_RETRY", 0)
    monkeypatch.setattr(reader, "BROKER_PATIENCE", 0)
    broker = Flaky(failures=10)
    broker.create(StreamInfo("s1", "u1"))
    [closing] = list(follow_events(broker, "s1", 5, KEEPALIVE, ending))
    assert [(e.seq, e.data["reason"]) for e in closing or []] == [(6, READER_GAVE_UP)]


def test_the_sse_body_starts_with_retry_and_frames_each_event_with_its_id() -> None:
    event = Event(3, "content", encode({"chunk": "hi"}))
    body = list(sse_body("s1", iter([None, [event]]), retry_ms=2500))
    assert body == [
        "retry: 2500\n\n",
        ": keep-alive\n\n",
        'id: s1:3\nevent: content\ndata: {"chunk": "hi"}\n\n',
    ]
