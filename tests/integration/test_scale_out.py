"""Several app processes sharing PostgreSQL and Redis, as in production behind nginx.

Two gunicorn processes (A and B, on different ports) share one PostgreSQL schema, one Redis key
prefix, one instance folder (so one signing key) and one APP_URL: a token from either works on
both, and a stream started on one can be followed, resumed and cancelled from the other. Other
tests start processes of their own to kill them, to restart their Redis, or to run nginx.
"""

from __future__ import annotations

import copy
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests

from tests.conftest import delete_redis_keys, free_port, postgres_url, redis_test_url
from tests.support.assertions import assert_contract_sequence, content_text, wait_for
from tests.support.live import ApiClient, LiveServer, SseEvent, app_env, start_app
from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.processes import kill_hard, nginx_binary, nginx_config

PG_SCHEMA = "app_tests_scale"


@dataclass
class Cluster:
    """Processes of one deployment: what they share is in `env`."""

    env: dict[str, str]
    tmp: Path
    servers: list[LiveServer]

    def start(self, name: str, **extra: str) -> LiveServer:
        env = {**self.env, **extra, "PORT": str(free_port())}
        server = start_app(env, log_path=self.tmp / f"{name}.log")
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def shared_env(tmp: Path, llm: ScriptedLLM, schema: str, **extra: str) -> dict[str, str]:
    """One deployment's settings: a fresh PostgreSQL schema, Redis and a key prefix of its own."""
    redis_url = redis_test_url()
    env = app_env(tmp, "sqlite", llm, LLM_TIMEOUT="20", **extra)
    env.update(
        DATABASE_URL=postgres_url(schema),
        REDIS_URL=env.get("REDIS_URL", redis_url),
        REDIS_KEY_PREFIX=f"t-{uuid.uuid4().hex}:",
        APP_URL="http://estate.test",  # one issuer and audience for every process
    )
    return env


def delete_keys(env: dict[str, str]) -> None:
    delete_redis_keys(env["REDIS_URL"], env["REDIS_KEY_PREFIX"])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("scale")
    env = shared_env(tmp, llm, PG_SCHEMA, CHAT_MAX_CONCURRENT_PER_USER="2")
    cluster = Cluster(env, tmp, [])
    try:
        cluster.start("a")
        cluster.start("b")
        yield cluster
    finally:
        cluster.stop()
        delete_keys(env)


@pytest.fixture
def a(cluster: Cluster) -> LiveServer:
    return cluster.servers[0]


@pytest.fixture
def b(cluster: Cluster) -> LiveServer:
    return cluster.servers[1]


@pytest.fixture
def user_a(a: LiveServer, llm: ScriptedLLM) -> ApiClient:
    llm.reset()
    return ApiClient(a.url, email=f"u{uuid.uuid4().hex[:12]}@example.com")


def same_user_on(client: ApiClient, base_url: str) -> ApiClient:
    """The same user (same Bearer token) talking to another process, or to nginx."""
    other = copy.copy(client)
    other.base_url = base_url
    return other


def messages_of(client: ApiClient, conversation_id: str) -> list[dict[str, Any]]:
    return client.get(f"/agents/conversations/{conversation_id}").json()["messages"]


# --- one stream, two processes -----------------------------------------------------------------


def test_stream_started_on_one_process_is_followed_and_resumed_on_another(
    user_a: ApiClient, b: LiveServer, llm: ScriptedLLM
) -> None:
    words = " ".join(f"w{n}" for n in range(30))
    llm.script(Turn.text(words, chunk_words=1, delay=0.03))
    started = user_a.post("/agents/streams", json={"message": "tell me"}).json()
    user_b = same_user_on(user_a, b.url)

    first = user_b.open_stream("GET", started["stream_url"])
    seen = first.take(8)
    first.close()
    resumed = user_b.open_stream(
        "GET", started["stream_url"], headers={"Last-Event-ID": seen[-1].id}
    ).until_done()

    events = seen + resumed
    assert_contract_sequence(events, started["stream_id"])
    assert content_text(events) == words
    assert events[-1].data["status"] == "completed"
    replay_on_a = user_a.open_stream("GET", started["stream_url"]).until_done()
    assert [(e.id, e.data) for e in replay_on_a] == [(e.id, e.data) for e in events]
    reply = messages_of(user_b, started["conversation_id"])[-1]
    assert (reply["content"], reply["status"]) == (words, "completed")


def test_cancel_from_another_process_stops_the_generation(
    user_a: ApiClient, b: LiveServer, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text(" ".join(["slow"] * 200), chunk_words=1, delay=0.05))
    started = user_a.post("/agents/streams", json={"message": "go"}).json()
    stream = user_a.open_stream("GET", started["stream_url"])
    before = stream.take(4)

    cancel = same_user_on(user_a, b.url).post(f"/agents/streams/{started['stream_id']}/cancel")
    assert cancel.status_code == 202
    rest = stream.until_done()
    assert rest[-1].data["status"] == "cancelled"
    assert llm.wait_for(lambda: llm.client_closed, timeout=5)
    reply = messages_of(user_a, started["conversation_id"])[-1]
    assert reply["status"] == "cancelled"
    assert reply["content"] == content_text(before + rest)


def test_health_counts_streams_and_readers_of_every_process(
    user_a: ApiClient, a: LiveServer, b: LiveServer, llm: ScriptedLLM
) -> None:
    llm.script(Turn.stall("waiting here", after_chunks=1, seconds=3))
    stream = user_a.chat("hi")  # produced and read on A
    stream.take(3)
    health = requests.get(f"{b.url}/sse/health", timeout=5).json()  # asked of B
    assert health["broker"] == "redis"
    assert (health["active_streams"], health["connected_clients"]) == (1, 1)
    stream.until_done()
    wait_for(lambda: requests.get(f"{b.url}/sse/health", timeout=5).json()["active_streams"] == 0)


def test_concurrent_replies_are_capped_per_user_across_processes(
    user_a: ApiClient, b: LiveServer, llm: ScriptedLLM
) -> None:
    llm.script(*[Turn.stall("long wait", after_chunks=1, seconds=30) for _ in range(2)])
    user_b = same_user_on(user_a, b.url)
    running = [
        user_a.post("/agents/streams", json={"message": "one"}).json(),
        user_b.post("/agents/streams", json={"message": "two"}).json(),
    ]
    assert llm.wait_for(lambda: len(llm.exchanges) == 2)  # both are waiting on the model
    refused = user_b.post("/agents/streams", json={"message": "three"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"].isdigit()
    assert refused.json()["error"]["code"] == "too_many_streams"
    assert user_a.post("/agents/chat-stream", json={"message": "four"}).status_code == 429

    someone_else = ApiClient(b.url, email=f"other{uuid.uuid4().hex[:12]}@example.com")
    llm.script(Turn.text("Fine for you."))
    assert content_text(someone_else.chat("hello").until_done()) == "Fine for you."

    for stream in running:
        user_b.post(f"/agents/streams/{stream['stream_id']}/cancel")
    llm.script(Turn.text("Room again."))
    wait_for(lambda: user_a.post("/agents/streams", json={"message": "five"}).status_code == 202)


# --- a producer that dies ----------------------------------------------------------------------


def test_killed_producer_is_reported_as_generation_lost_and_its_partial_reply_kept(
    cluster: Cluster, user_a: ApiClient, b: LiveServer, llm: ScriptedLLM
) -> None:
    doomed = cluster.start("doomed")
    llm.script(Turn.text(" ".join(["partial"] * 400), chunk_words=1, delay=0.05))
    user_c = same_user_on(user_a, doomed.url)
    started = user_c.post("/agents/streams", json={"message": "long answer"}).json()
    stream = same_user_on(user_a, b.url).open_stream("GET", started["stream_url"])
    seen = stream.take(6)  # start, thinking, four chunks

    kill_hard(doomed)
    killed_at = time.monotonic()
    events = seen + stream.until_done()

    assert time.monotonic() - killed_at < 10  # the lease lasts 5 s
    assert_contract_sequence(events, started["stream_id"])
    error, done = events[-2], events[-1]
    assert error.event == "error"
    assert error.data["code"] == "generation_lost" and error.data["retryable"] is True
    assert done.data["status"] == "failed"
    user, reply = messages_of(user_a, started["conversation_id"])
    assert (user["role"], user["content"]) == ("user", "long answer")
    assert reply["status"] == "failed"
    assert reply["content"] == content_text(events) and reply["content"].startswith("partial")


# --- PostgreSQL under gevent -------------------------------------------------------------------


def test_slow_database_query_does_not_stall_other_streams(
    cluster: Cluster, user_a: ApiClient, llm: ScriptedLLM
) -> None:
    """A request stuck in PostgreSQL (behind a lock this test holds) leaves the worker free.

    psycopg 3 waits cooperatively under gevent: while one greenlet waits for PostgreSQL, a
    stream on the same single worker keeps its pace.
    """
    history = user_a.chat("first").until_done()
    conversation = f"/agents/conversations/{history[0].data['conversation_id']}"
    llm.script(Turn.text(" ".join(["tick"] * 40), chunk_words=1, delay=0.05))
    stream = user_a.chat("count for me")
    stream.take(3)

    blocked: dict[str, Any] = {}
    database_url = cluster.env["DATABASE_URL"].replace("+psycopg", "")
    with psycopg.connect(database_url) as holder:
        holder.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")  # until the commit
        request = threading.Thread(
            target=lambda: blocked.update(response=user_a.get(conversation)), daemon=True
        )
        request.start()
        wait_for(lambda: _waiting_on_lock(database_url), timeout=5)  # the app's query waits

        arrivals = []
        for event in stream:
            if event.event == "content":
                arrivals.append(time.monotonic())
            if len(arrivals) == 20:
                break
        assert request.is_alive() and "response" not in blocked
        holder.commit()
    request.join(timeout=10)
    assert blocked["response"].status_code == 200
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert max(gaps) < 0.5  # chunks come every 50 ms; a stalled worker would stop them all
    assert stream.until_done()[-1].data["status"] == "completed"


def _waiting_on_lock(database_url: str) -> bool:
    """Some session waits on a lock (a fresh connection: stats are a per-transaction snapshot)."""
    with psycopg.connect(database_url, autocommit=True) as observer:
        waiting = observer.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND query ILIKE '%FROM messages%'"
        ).fetchone()
    return bool(waiting and waiting[0])


# --- limits on Redis ---------------------------------------------------------------------------


def test_chat_start_rate_limit_is_shared_by_processes_through_redis(
    tmp_path: Path, llm: ScriptedLLM
) -> None:
    # The chat limit counts per client address; the key prefix keeps runs apart.
    env = shared_env(
        tmp_path,
        llm,
        PG_SCHEMA + "_limits",
        RATELIMIT_ENABLED="1",
        CHAT_RATE_LIMIT="2 per minute",
    )
    cluster = Cluster(env, tmp_path, [])
    try:
        first, second = cluster.start("a"), cluster.start("b")
        llm.reset()
        user = ApiClient(first.url, email=f"u{uuid.uuid4().hex[:12]}@example.com")
        assert user.post("/agents/streams", json={"message": "one"}).status_code == 202
        elsewhere = same_user_on(user, second.url)
        assert elsewhere.post("/agents/streams", json={"message": "two"}).status_code == 202
        refused = elsewhere.post("/agents/streams", json={"message": "three"})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"]["code"] == "rate_limited"
    finally:
        cluster.stop()
        delete_keys(env)


# --- Redis going away --------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, without persistence: a restart loses everything."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: _answers(self.url), timeout=10)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(free_port()).start()
    yield server
    server.stop()


def test_redis_restart_fails_running_replies_clearly_and_new_ones_work_after(
    tmp_path: Path, llm: ScriptedLLM, private_redis: PrivateRedis
) -> None:
    env = shared_env(tmp_path, llm, PG_SCHEMA + "_restart", REDIS_URL=private_redis.url)
    cluster = Cluster(env, tmp_path, [])
    try:
        app = cluster.start("app")
        llm.reset()
        user = ApiClient(app.url, email=f"u{uuid.uuid4().hex[:12]}@example.com")
        llm.script(Turn.text(" ".join(["steady"] * 400), chunk_words=1, delay=0.05))
        stream = user.chat("long answer")
        seen = stream.take(5)

        private_redis.stop()
        events = seen + stream.until_done()
        assert events[-2].event == "error"
        assert events[-2].data["code"] in {"stream_unavailable", "stream_lost"}
        assert events[-2].data["retryable"] is True
        assert events[-1].data["status"] == "failed"
        private_redis.start()  # empty: everything in Redis is gone

        reply = wait_for(
            lambda: next(
                m
                for m in messages_of(user, seen[0].data["conversation_id"])
                if m["role"] == "assistant" and m["status"] != "streaming"
            ),
        )
        assert reply["status"] == "failed" and reply["content"].startswith("steady")
        llm.script(Turn.text("Back in business."))
        after = wait_for(lambda: _chat_when_ready(user))
        assert content_text(after) == "Back in business."
        assert after[-1].data["status"] == "completed"
    finally:
        cluster.stop()


def _chat_when_ready(user: ApiClient) -> list[SseEvent] | None:
    response = user.post("/agents/streams", json={"message": "again"})
    if response.status_code == 503:  # still reconnecting
        return None
    return user.open_stream("GET", response.json()["stream_url"]).until_done()


# --- through nginx -----------------------------------------------------------------------------


@pytest.fixture
def nginx(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    conf = nginx_config(tmp_path, port, cluster.servers[:2], read_timeout="3s")
    binary = nginx_binary()
    check = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True
    )
    assert check.returncode == 0, check.stderr.decode()
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _port_open(port), timeout=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_nginx_passes_content_events_on_as_they_come(
    nginx: str, user_a: ApiClient, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text(" ".join(f"n{i}" for i in range(20)), chunk_words=1, delay=0.1))
    proxied = same_user_on(user_a, nginx)
    started = time.monotonic()
    stream = proxied.chat("through the proxy")
    arrivals = []
    for event in stream:
        if event.event == "content":
            arrivals.append(time.monotonic() - started)
        if event.event == "done":
            break
    assert len(arrivals) == 20
    # Paced at 100 ms: unbuffered, the first arrives ~2 s before the last; buffered, together.
    assert arrivals[-1] - arrivals[0] > 1.5
    assert arrivals[0] < 1.0


def test_quiet_stream_outlives_nginx_read_timeout_thanks_to_keepalives(
    nginx: str, user_a: ApiClient, llm: ScriptedLLM
) -> None:
    llm.script(Turn.stall("before a long silence and after", after_chunks=2, seconds=7))
    proxied = same_user_on(user_a, nginx)
    stream = proxied.chat("take your time")
    events = stream.until_done()  # nginx's read timeout is 3 s; the model is silent for 7 s
    assert content_text(events) == "before a long silence and after"
    assert events[-1].data["status"] == "completed"
    assert stream.comments.count("keep-alive") >= 5
