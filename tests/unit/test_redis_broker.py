"""The Redis broker's semantics, against the test Redis, with several brokers as processes.

Each broker instance stands for one process (its own node id); they share keys through a prefix
unique to the test. Liveness is exercised by deleting lease keys, as their expiry would (leases
last a minute here: a wait in these unpatched tests may take a few seconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.event
import pytest
import redis

from app.streaming.broker import BrokerError, StreamInfo
from app.streaming.redis import RedisBroker
from app.streaming.sse import Event
from tests.conftest import delete_redis_keys, free_port
from tests.support.live import ROOT


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"t-{uuid.uuid4().hex}:"
    yield prefix
    delete_redis_keys(redis_url, prefix)


@pytest.fixture
def brokers(redis_url: str, prefix: str) -> Iterator[list[RedisBroker]]:
    made = [
        RedisBroker(redis_url, replay_ttl=60, prefix=prefix, max_events=10, lease_ttl=60)
        for _ in range(3)
    ]
    yield made
    for broker in made:
        gevent.killall(broker._background)


@pytest.fixture
def raw(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def new_stream(broker: RedisBroker, user_id: str = "u1") -> StreamInfo:
    info = StreamInfo(uuid.uuid4().hex, user_id, {"reply": "r1", "note": "é"})
    broker.create(info)
    return info


def test_events_get_consecutive_seqs_stored_as_stream_entry_ids(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    producer, reader, _ = brokers
    info = new_stream(producer)
    seqs = [producer.publish(info.stream_id, "content", {"chunk": c}) for c in "abc"]
    assert seqs == [1, 2, 3]
    producer.drain(info.stream_id)  # the process's writer sent them in one pipeline
    entry_ids = [entry_id for entry_id, _ in raw.xrange(f"{prefix}s:{info.stream_id}:events")]
    assert entry_ids == ["1-0", "2-0", "3-0"]
    assert [(e.seq, e.data) for e in reader.read(info.stream_id, 1, timeout=1)] == [
        (2, {"chunk": "b"}),
        (3, {"chunk": "c"}),
    ]
    assert reader.info(info.stream_id) == info


def test_one_write_carries_many_streams_and_refuses_only_the_closed_or_wiped(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    """The writer sends a batch of every stream's events in one call (app/streaming/redis/
    writer.py): each stream keeps its order, and a refusal stops only the stream refused."""
    producer = brokers[0]
    kept, other, wiped, closed = (new_stream(producer) for _ in range(4))
    raw.delete(f"{prefix}s:{wiped.stream_id}")  # as if Redis lost it
    raw.hset(f"{prefix}s:{closed.stream_id}", "done", 1)  # as if closed as lost elsewhere
    for chunk in "abc":
        for info in (kept, wiped, other, closed):
            producer.publish(info.stream_id, "content", {"chunk": chunk})
    producer.drain(kept.stream_id)  # the whole batch, every stream's events, goes now
    for info in (kept, other):
        entries = raw.xrange(f"{prefix}s:{info.stream_id}:events")
        assert [(entry_id, json.loads(f["d"])["chunk"]) for entry_id, f in entries] == [
            ("1-0", "a"),
            ("2-0", "b"),
            ("3-0", "c"),
        ]
    for info, why in ((wiped, "is gone"), (closed, "was already closed")):
        with pytest.raises(BrokerError, match=why):
            producer.publish(info.stream_id, "content", {"chunk": "d"})
    assert producer.publish(kept.stream_id, "content", {"chunk": "d"}) == 4


def test_read_waits_for_the_next_event_and_answers_empty_on_timeout(
    brokers: list[RedisBroker],
) -> None:
    producer, reader, _ = brokers
    info = new_stream(producer)
    started = time.monotonic()
    assert reader.read(info.stream_id, 0, timeout=0.3) == []
    assert time.monotonic() - started >= 0.3
    assert reader.read("no-such-stream", 0, timeout=0.3) is None
    assert reader.info("no-such-stream") is None


def test_finished_stream_expires_and_refuses_more_events(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    producer, reader, _ = brokers
    info = new_stream(producer)
    producer.publish(info.stream_id, "done", {"status": "completed"})
    producer.finish(info.stream_id)
    with pytest.raises(BrokerError):
        producer.publish(info.stream_id, "content", {"chunk": "late"})
    for key in (f"{prefix}s:{info.stream_id}", f"{prefix}s:{info.stream_id}:events"):
        assert 0 < raw.ttl(key) <= 60
    started = time.monotonic()
    assert reader.read(info.stream_id, 1, timeout=5) == []  # nothing will ever come
    assert time.monotonic() - started < 2.5  # one read slice, not the whole timeout
    assert reader.stats()["active_streams"] == 0


def test_stream_length_is_bounded_but_done_always_fits(brokers: list[RedisBroker]) -> None:
    producer = brokers[0]
    info = new_stream(producer)
    for _ in range(10):
        producer.publish(info.stream_id, "content", {"chunk": "x"})
    with pytest.raises(OverflowError):
        producer.publish(info.stream_id, "content", {"chunk": "x"})
    assert producer.publish(info.stream_id, "done", {"status": "failed"}) == 11


def test_readers_count_across_processes_and_a_dead_process_stops_counting(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    producer, reader_a, reader_b = brokers
    info = new_stream(producer)
    reader_a.attach(info.stream_id)
    reader_a.attach(info.stream_id)
    reader_b.attach(info.stream_id)
    quiet = new_stream(producer)
    assert producer.watch([info.stream_id, quiet.stream_id]) == {
        info.stream_id: 3,
        quiet.stream_id: 0,
    }
    assert producer.stats() == {"active_streams": 2, "connected_clients": 3}
    reader_a.detach(info.stream_id)
    assert producer.watch([info.stream_id]) == {info.stream_id: 2}
    raw.delete(f"{prefix}node:{reader_b.node}")  # as if reader_b's process was killed
    assert producer.watch([info.stream_id]) == {info.stream_id: 1}
    assert producer.stats()["connected_clients"] == 1


def test_active_streams_per_user_count_across_processes_while_leased(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    first, second, observer = brokers
    mine = [new_stream(first, "alice"), new_stream(second, "alice")]
    new_stream(second, "bob")
    assert observer.active_for("alice") == 2 and observer.active_for("bob") == 1
    first.finish(mine[0].stream_id)
    assert observer.active_for("alice") == 1
    raw.delete(f"{prefix}s:{mine[1].stream_id}:lease")  # its producer died
    assert observer.active_for("alice") == 0
    assert observer.stats()["active_streams"] == 1


# Run as the app runs: monkey-patched by gevent, in a process of its own.
GEVENT_PROBE = """
from gevent import monkey

monkey.patch_all()
import json, sys, time, gevent
from app.streaming.broker import StreamInfo
from app.streaming.redis import RedisBroker

url, prefix = sys.argv[1:3]
producer, other = RedisBroker(url, 60, prefix=prefix), RedisBroker(url, 60, prefix=prefix)
cancelled = []
producer.on_cancel(lambda stream_id: cancelled.append((stream_id, time.monotonic())))
info = StreamInfo("probe", "u")
producer.create(info)

ticks = []
def tick():
    for _ in range(30):
        ticks.append(time.monotonic())
        gevent.sleep(0.02)
ticker = gevent.spawn(tick)
readers = [gevent.spawn(other.read, "probe", 0, 0.5) for _ in range(5)]  # block in XREAD
gevent.joinall([ticker, *readers])
asked = time.monotonic()
other.request_cancel("probe")
while not cancelled and time.monotonic() - asked < 5:
    gevent.sleep(0.01)
print(json.dumps({
    "max_tick_gap": max(b - a for a, b in zip(ticks, ticks[1:])),
    "reads": [r.value for r in readers],
    "cancelled": [c[0] for c in cancelled],
    "cancel_latency": cancelled[0][1] - asked if cancelled else None,
}))
"""


def test_blocked_readers_leave_the_hub_free_and_cancel_crosses_processes(
    redis_url: str, prefix: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", GEVENT_PROBE, redis_url, prefix],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["reads"] == [[]] * 5  # each waited its 0.5 s in XREAD BLOCK
    assert probe["max_tick_gap"] < 0.2  # meanwhile a 20 ms ticker kept its pace
    assert probe["cancelled"] == ["probe"]
    assert probe["cancel_latency"] < 1


def test_watching_renews_leases_and_leaves_out_closed_or_wiped_streams(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    producer = brokers[0]
    kept, wiped, closed = new_stream(producer), new_stream(producer), new_stream(producer)
    raw.delete(*(f"{prefix}s:{s.stream_id}:lease" for s in (kept, wiped, closed)))
    raw.delete(f"{prefix}s:{wiped.stream_id}")  # Redis lost it
    raw.hset(f"{prefix}s:{closed.stream_id}", "done", 1)  # as if closed as lost elsewhere

    ids = [kept.stream_id, wiped.stream_id, closed.stream_id]
    assert producer.watch(ids) == {kept.stream_id: 0}
    assert raw.ttl(f"{prefix}s:{kept.stream_id}:lease") > 0  # renewed
    producer.publish(wiped.stream_id, "content", {"chunk": "x"})
    with pytest.raises(BrokerError):
        producer.finish(wiped.stream_id)


def test_lost_producer_is_closed_exactly_once_by_a_reader(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    producer, reader_a, reader_b = brokers
    calls: list[tuple[Any, ...]] = []

    def close(info: StreamInfo, events: list[Event], age_s: float) -> None:
        calls.append((info, [e.name for e in events], age_s))
        reader_a.publish(info.stream_id, "error", {"code": "generation_lost"})
        reader_a.publish(info.stream_id, "done", {"status": "failed"})
        reader_a.finish(info.stream_id)

    reader_a.on_lost(close)
    reader_b.on_lost(close)
    info = new_stream(producer)
    producer.publish(info.stream_id, "start", {})
    producer.publish(info.stream_id, "content", {"chunk": "partial"})
    producer.drain(info.stream_id)  # written to Redis by the producer's process
    assert reader_b.read(info.stream_id, 2, timeout=0.2) == []  # quiet, but leased: alive
    raw.delete(f"{prefix}s:{info.stream_id}:lease")  # the lease expired: producer killed

    tail = reader_a.read(info.stream_id, 2, timeout=3)
    assert [e.name for e in tail] == ["error", "done"]
    assert [e.name for e in reader_b.read(info.stream_id, 2, timeout=3)] == ["error", "done"]
    assert len(calls) == 1
    assert calls[0][0] == info and calls[0][1] == ["start", "content"]
    # A producer that was only slow cannot write after done: Redis refuses its next event, which
    # the producer learns at its next publish, or when it finishes.
    producer.publish(info.stream_id, "content", {"chunk": "too late"})
    with pytest.raises(BrokerError):
        producer.drain(info.stream_id)
    with pytest.raises(BrokerError):
        producer.publish(info.stream_id, "content", {"chunk": "later still"})
    with pytest.raises(BrokerError):
        producer.finish(info.stream_id)
    assert [e.name for e in reader_b.read(info.stream_id, 2, timeout=0)] == ["error", "done"]


def test_readers_in_the_producing_process_follow_from_memory_and_see_what_redis_has(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    producer, elsewhere, _ = brokers
    info = new_stream(producer)
    events_key = f"{prefix}s:{info.stream_id}:events"
    producer.publish(info.stream_id, "content", {"chunk": "a"})
    producer.drain(info.stream_id)  # in Redis now, for readers elsewhere
    assert elsewhere.read(info.stream_id, 0, 0) == producer.read(info.stream_id, 0, 0)
    raw.delete(events_key)
    assert [e.data for e in producer.read(info.stream_id, 0, 0)] == [{"chunk": "a"}]  # memory

    producer.publish(info.stream_id, "done", {"status": "completed"})
    local = producer.read(info.stream_id, 1, 0)
    producer.finish(info.stream_id)  # writes `done`; from now on this process reads Redis too
    assert elsewhere.read(info.stream_id, 1, 0) == local
    assert [e.name for e in local] == ["done"]
    raw.delete(events_key)
    assert producer.read(info.stream_id, 0, 0) == []


def test_a_quiet_local_reader_still_notices_a_lost_lease(
    brokers: list[RedisBroker], raw: redis.Redis, prefix: str
) -> None:
    producer = brokers[0]
    lost: list[str] = []
    producer.on_lost(lambda info, events, age: lost.append(info.stream_id))
    info = new_stream(producer)
    raw.delete(f"{prefix}s:{info.stream_id}:lease")  # its generation died without a `done`
    assert producer.read(info.stream_id, 0, timeout=0) == []
    assert lost == [info.stream_id]


def test_cancel_of_a_stream_produced_here_needs_no_round_trip(
    brokers: list[RedisBroker],
) -> None:
    producer, elsewhere, _ = brokers
    seen: dict[str, list[str]] = {"producer": [], "elsewhere": []}
    producer.on_cancel(seen["producer"].append)
    elsewhere.on_cancel(seen["elsewhere"].append)
    info = new_stream(producer)
    producer.request_cancel(info.stream_id)
    assert seen == {"producer": [info.stream_id], "elsewhere": []}  # at once, only here


def test_unreachable_redis_raises_broker_error_quickly() -> None:
    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0", replay_ttl=60)
    started = time.monotonic()
    with pytest.raises(BrokerError):
        broker.create(StreamInfo("s", "u"))
    with pytest.raises(BrokerError):
        broker.active_for("u")
    assert time.monotonic() - started < 5


def test_an_approval_answer_reaches_the_producing_process(brokers: list[RedisBroker]) -> None:
    producer, elsewhere, _ = brokers
    heard = gevent.event.Event()
    answers: list[tuple[str, str, bool]] = []

    def on_answer(stream_id: str, call_id: str, approve: bool) -> None:
        answers.append((stream_id, call_id, approve))
        heard.set()

    producer.on_approval(on_answer)
    info = new_stream(producer)
    elsewhere.request_approval(info.stream_id, "call_1", False)
    assert heard.wait(timeout=5)
    assert answers == [(info.stream_id, "call_1", False)]


def test_a_cancel_or_an_answer_published_while_the_producer_does_not_listen_is_not_lost(
    brokers: list[RedisBroker], raw: redis.Redis
) -> None:
    producer, elsewhere, _ = brokers
    name = f"producer-{uuid.uuid4().hex}"  # the producing process's connections, by this name
    producer.redis.connection_pool.connection_kwargs["client_name"] = name
    cancelled: list[str] = []
    answers: list[tuple[str, str, bool]] = []
    producer.on_cancel(cancelled.append)
    producer.on_approval(lambda stream_id, call_id, ok: answers.append((stream_id, call_id, ok)))
    info = new_stream(producer)  # subscribed
    listeners = [c for c in raw.client_list() if c.get("name") == name and "P" in c["flags"]]
    assert len(listeners) == 2  # cancel and approval
    for listener in listeners:  # as if the connection dropped: the listeners must reconnect
        raw.client_kill_filter(_id=listener["id"])

    elsewhere.request_cancel(info.stream_id)  # published to no one of the producer's
    elsewhere.request_approval(info.stream_id, "call_1", True)
    assert producer.watch([info.stream_id]) == {info.stream_id: 0}
    assert cancelled == [info.stream_id]
    assert answers == [(info.stream_id, "call_1", True)]
    producer.watch([info.stream_id])  # the requests are still recorded: handled once
    assert cancelled == [info.stream_id]
    assert len(answers) == 1


def test_a_cancel_heard_from_the_channel_is_not_handled_again_by_watch(
    brokers: list[RedisBroker],
) -> None:
    producer, elsewhere, _ = brokers
    heard = gevent.event.Event()
    cancelled: list[str] = []

    def on_cancel(stream_id: str) -> None:
        cancelled.append(stream_id)
        heard.set()

    producer.on_cancel(on_cancel)
    info = new_stream(producer)
    elsewhere.request_cancel(info.stream_id)
    assert heard.wait(timeout=5)  # through the pub/sub listener
    producer.watch([info.stream_id])
    assert cancelled == [info.stream_id]
