"""Readers of streams produced in another process share one XREAD loop (the fan-out).

Each probe runs as the app runs, monkey-patched by gevent in a process of its own, with two
brokers standing for two processes against the test Redis: one produces, the other reads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import delete_redis_keys, free_port
from tests.support.live import ROOT


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    prefix = f"t-{uuid.uuid4().hex}:"
    yield prefix
    delete_redis_keys(redis_url, prefix)


def run_probe(script: str, redis_url: str, prefix: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", script, redis_url, prefix],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,  # a reader left waiting out a block the loop was not woken from hangs
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


PROBE_HEADER = """
from gevent import monkey

monkey.patch_all()
import json, sys, uuid
import gevent, gevent.event, redis
from app.streaming.broker import StreamInfo
from app.streaming.reader import follow_events
from app.streaming.redis import RedisBroker

url, prefix = sys.argv[1:3]
producer, reader = RedisBroker(url, 60, prefix=prefix), RedisBroker(url, 60, prefix=prefix)
name = f"fanout-{uuid.uuid4().hex}"  # every connection of the reading process, by this name
for client in (reader.redis, reader.fanout.loop_client):
    client.connection_pool.connection_kwargs["client_name"] = name
raw = redis.Redis.from_url(url, decode_responses=True)

def until(condition):
    while not condition():
        gevent.sleep(0.01)

def loop_blocked():
    return any("b" in c["flags"] for c in raw.client_list() if c.get("name") == name)
"""

MANY_READERS = (
    PROBE_HEADER
    + """
READERS, ROUNDS = 50, 5
ids = [uuid.uuid4().hex for _ in range(READERS)]
for stream_id in ids:
    producer.create(StreamInfo(stream_id, "u"))
received = {stream_id: [] for stream_id in ids}
round_done = gevent.event.Event()

def follow(stream_id):
    for batch in follow_events(reader, stream_id, 0, keepalive=10, ending=lambda a, r: []):
        received[stream_id].extend(event.seq for event in batch or [])
        if all(len(seqs) >= expected for seqs in received.values()):
            round_done.set()

expected = 0
readers = [gevent.spawn(follow, stream_id) for stream_id in ids]
until(loop_blocked)  # the readers found nothing yet, and wait
xread_connections = []
for n in range(ROUNDS):
    round_done.clear()
    expected = n + 1
    for stream_id in ids:
        producer.publish(stream_id, "content", {"n": n})
    round_done.wait()  # every reader has this round and waits for the next
    clients = [c for c in raw.client_list() if c.get("name") == name]
    xread_connections.append(sum(1 for c in clients if c["cmd"] == "xread"))
for stream_id in ids:
    producer.publish(stream_id, "done", {"status": "completed"})
    producer.finish(stream_id)
gevent.joinall(readers)
print(json.dumps({
    "in_order": sorted({tuple(seqs) for seqs in received.values()}),
    "xread_connections": xread_connections,
}))
"""
)


def test_readers_in_one_process_share_one_xread_connection(redis_url: str, prefix: str) -> None:
    probe = run_probe(MANY_READERS, redis_url, prefix)
    assert probe["in_order"] == [[1, 2, 3, 4, 5, 6]]  # every reader, every event, in order
    # While the 50 readers waited for the next round, one connection of theirs was in XREAD
    # (the loop's), not one each.
    assert probe["xread_connections"] == [1] * 5


NEW_STREAM_WAKES_THE_LOOP = (
    PROBE_HEADER
    + """
import app.streaming.redis.fanout as fanout

fanout.READ_SLICE = 60  # the loop's XREAD blocks for a minute unless woken
quiet, busy = StreamInfo(uuid.uuid4().hex, "u"), StreamInfo(uuid.uuid4().hex, "u")
producer.create(quiet)
producer.create(busy)
waiting = gevent.spawn(reader.read, quiet.stream_id, 0, 60)
until(loop_blocked)  # in an XREAD over `quiet` alone
late = gevent.spawn(reader.read, busy.stream_id, 0, 60)  # a stream the XREAD in flight lacks
until(lambda: raw.exists(reader.fanout.wake_key))  # it found nothing yet, and waits
producer.publish(busy.stream_id, "content", {"chunk": "b"})
late.join()
producer.publish(quiet.stream_id, "content", {"chunk": "q"})
waiting.join()
print(json.dumps({
    "late": [e.data for e in late.value],
    "waiting": [e.data for e in waiting.value],
}))
"""
)


def test_a_reader_of_a_new_stream_does_not_wait_out_the_block_in_flight(
    redis_url: str, prefix: str
) -> None:
    probe = run_probe(NEW_STREAM_WAKES_THE_LOOP, redis_url, prefix)
    assert probe == {"late": [{"chunk": "b"}], "waiting": [{"chunk": "q"}]}


PRODUCER_DIES = (
    PROBE_HEADER
    + """
def close(info, events, age_s):  # as app/chat/runner.py closes a lost stream
    reader.publish(info.stream_id, "error", {"code": "generation_lost"})
    reader.publish(info.stream_id, "done", {"status": "failed"})
    reader.finish(info.stream_id)

reader.on_lost(close)
lost, wiped = StreamInfo(uuid.uuid4().hex, "u"), StreamInfo(uuid.uuid4().hex, "u")
producer.create(lost)
producer.create(wiped)
def follow(stream_id):  # as a reader does (app/streaming/reader.py): until `done` or gone
    events, after = [], 0
    while True:
        batch = reader.read(stream_id, after, 30)
        if batch is None:
            return None
        events += batch
        if not batch or batch[-1].name == "done":
            return events
        after = batch[-1].seq

waiting = [gevent.spawn(follow, s.stream_id) for s in (lost, wiped)]
until(loop_blocked)  # both wait in the loop
raw.delete(prefix + f"s:{lost.stream_id}:lease")  # its producer was killed
raw.delete(prefix + f"s:{wiped.stream_id}")  # Redis lost it
gevent.joinall(waiting)
print(json.dumps({
    "lost": [e.name for e in waiting[0].value],
    "wiped": waiting[1].value,
}))
"""
)


def test_readers_waiting_in_the_loop_hear_of_a_dead_producer_or_a_vanished_stream(
    redis_url: str, prefix: str
) -> None:
    probe = run_probe(PRODUCER_DIES, redis_url, prefix)
    assert probe == {"lost": ["error", "done"], "wiped": None}


REDIS_GOES_AWAY = """
from gevent import monkey

monkey.patch_all()
import json, subprocess, sys, uuid
import gevent, redis
from app.streaming.broker import StreamInfo
from app.streaming.redis import RedisBroker

port = sys.argv[1]
url = f"redis://127.0.0.1:{port}/0"
raw = redis.Redis.from_url(url, decode_responses=True)

def until(condition):
    while not condition():
        gevent.sleep(0.01)

def answers():
    try:
        return raw.ping()
    except redis.RedisError:
        return False

def start_redis():
    server = subprocess.Popen(
        ["redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    until(answers)
    return server

def loop_blocked():
    return any("b" in c["flags"] for c in raw.client_list())

server = start_redis()
producer, reader = RedisBroker(url, 60), RedisBroker(url, 60)
ids = [uuid.uuid4().hex for _ in range(5)]
for stream_id in ids:
    producer.create(StreamInfo(stream_id, "u"))
waiting = [gevent.spawn(reader.read, stream_id, 0, 30) for stream_id in ids]
until(loop_blocked)
server.kill()
server.wait()
gevent.joinall(waiting)
failed = [type(w.exception).__name__ for w in waiting]

server = start_redis()  # empty: the old streams are gone
info = StreamInfo(uuid.uuid4().hex, "u")
producer.create(info)
later = gevent.spawn(reader.read, info.stream_id, 0, 30)
until(loop_blocked)  # the loop is back
producer.publish(info.stream_id, "content", {"chunk": "again"})
later.join()
server.kill()
print(json.dumps({"failed": failed, "later": [e.data for e in later.value]}))
"""


def test_when_redis_goes_away_every_waiting_reader_hears_it_and_the_loop_comes_back() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    result = subprocess.run(
        [sys.executable, "-c", REDIS_GOES_AWAY, str(free_port())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe == {"failed": ["BrokerError"] * 5, "later": [{"chunk": "again"}]}
