"""The in-process broker's replay of finished streams, which are packed to save memory."""

from __future__ import annotations

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
