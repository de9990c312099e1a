"""The in-process broker's replay of finished streams, which are packed to save memory."""

from __future__ import annotations

import gevent

from app.streaming.broker import StreamInfo
from app.streaming.memory import MemoryBroker


def test_a_finished_stream_replays_exactly_what_was_published_from_any_offset() -> None:
    broker = MemoryBroker(replay_ttl=60)
    info = StreamInfo("s1", "u1")
    broker.create(info)
    published = [
        ("start", {"stream_id": "s1"}),
        ("content", {"chunk": "Three homes in Portland — "}),
        ("content", {"chunk": ""}),
        ("tool", {"call_id": "call_1", "name": "search_listings", "status": "started"}),
        ("content", {"chunk": "from $450k… 🏡\n"}),
        ("done", {"status": "completed"}),
    ]
    for name, data in published:
        broker.publish(info.stream_id, name, data)
    live = broker.read(info.stream_id, 0, timeout=0)

    broker.finish(info.stream_id)

    assert broker.read(info.stream_id, 0, timeout=0) == live
    assert [(e.seq, e.name, e.data) for e in live] == [
        (seq, name, data) for seq, (name, data) in enumerate(published, start=1)
    ]
    for after in range(len(published) + 1):
        assert broker.read(info.stream_id, after, timeout=0) == live[after:]


def test_a_stream_is_counted_for_its_owner_until_it_finishes_and_keeps_its_meta() -> None:
    broker = MemoryBroker(replay_ttl=60)
    info = StreamInfo("s1", "u1", {"reply": "r1"})
    broker.create(info)
    broker.create(StreamInfo("s2", "u2"))
    assert broker.info("s1") == info
    assert (broker.active_for("u1"), broker.active_for("u2")) == (1, 1)
    broker.publish("s1", "done", {"status": "completed"})
    broker.finish("s1")
    assert (broker.active_for("u1"), broker.stats()["active_streams"]) == (0, 1)
    assert broker.progress("s1") == (1, True)


def test_a_cancel_request_reaches_the_handlers_of_this_process() -> None:
    broker = MemoryBroker(replay_ttl=60)
    asked: list[str] = []
    broker.on_cancel(asked.append)
    broker.request_cancel("s1")
    assert asked == ["s1"]


def test_counts_follow_streams_that_finish_expire_or_are_discarded() -> None:
    broker = MemoryBroker(replay_ttl=0)  # a finished stream expires at once
    for stream_id in ("s1", "s2", "s3"):
        broker.create(StreamInfo(stream_id, "u1"))
    broker.attach("s1")
    broker.attach("s2")
    broker.attach("s2")
    assert broker.stats() == {"active_streams": 3, "connected_clients": 3}
    broker.finish("s1")
    broker.discard("s3")
    assert broker.active_for("u1") == 1
    assert broker.stats() == {"active_streams": 1, "connected_clients": 2}  # s1 expired
    assert broker.info("s1") is None
    broker.detach("s2")
    broker.detach("s2")
    broker.detach("s2")  # one too many: never below zero
    assert broker.stats() == {"active_streams": 1, "connected_clients": 0}


def test_a_long_wait_ends_on_the_brokers_clock_or_at_the_next_event() -> None:
    broker = MemoryBroker(replay_ttl=60)
    broker.create(StreamInfo("s1", "u1"))
    assert broker.read("s1", 0, timeout=1.0) == []  # a keep-alive is due: nothing came
    waiting = gevent.spawn(broker.read, "s1", 0, 30.0)
    gevent.sleep(0)  # the reader is waiting now
    broker.publish("s1", "content", {"chunk": "hi"})
    events = waiting.get(timeout=5)
    assert [e.data for e in events] == [{"chunk": "hi"}]
