"""The in-process broker's replay of finished streams, which are packed to save memory."""

from __future__ import annotations

from app.streaming.broker import MemoryBroker, StreamInfo


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
