"""A reply always ends with a final status, also when the process writing it stops or dies.

Through real gunicorn: a graceful stop (SIGTERM to the master) ends running replies with
`error` `shutting_down` and `done` `failed`; a kill of the worker, or of the whole server
followed by a restart on the same database, leaves the reply stored as `failed` with
`generation_lost` within SSE_DETACH_GRACE + 15 s (CONTRACT.md 6.1), whichever broker runs.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.chat.replies import ReplyLeases, store_reply
from app.chat.runner import GENERATION_LOST
from app.chat.transcript import Outcome, ReplyInfo
from app.extensions import db
from app.models import Message, UTCDateTime, new_id
from tests.conftest import (
    app_config,
    delete_redis_keys,
    free_port,
    postgres_url,
    redis_test_url,
)
from tests.support.assertions import assert_contract_sequence, content_text, wait_for
from tests.support.live import ApiClient, LiveServer, SseEvent, SseStream, app_env, start_app
from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.processes import kill_hard

DETACH_GRACE = 2.0
DEADLINE = DETACH_GRACE + 15  # seconds after a kill by which the reply must be stored as lost
SETUPS = {
    "sqlite-memory": ("sqlite", "memory"),
    "postgresql-memory": ("postgresql", "memory"),
    "postgresql-redis": ("postgresql", "redis"),
}


@pytest.fixture
def server(
    request: pytest.FixtureRequest, tmp_path: Path, llm: ScriptedLLM
) -> Iterator[LiveServer]:
    """The app on the setup named by the test's parameter, on a port it keeps across restarts."""
    database, broker = SETUPS[request.param]
    extra = {"SSE_DETACH_GRACE": str(DETACH_GRACE), "LLM_TIMEOUT": "30"}
    if broker == "redis":
        extra.update(REDIS_URL=redis_test_url(), REDIS_KEY_PREFIX=f"t-{uuid.uuid4().hex}:")
    env = app_env(tmp_path, "sqlite", llm, **extra)
    if database == "postgresql":
        env["DATABASE_URL"] = postgres_url("app_tests_lifecycle")
    env["PORT"] = str(free_port())
    llm.reset()
    live = start_app(env, log_path=tmp_path / "app.log")
    yield live
    live.stop()
    if broker == "redis":
        delete_redis_keys(extra["REDIS_URL"], extra["REDIS_KEY_PREFIX"])


def setups(*names: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("server", names, indirect=True)


def new_user(server: LiveServer) -> ApiClient:
    return ApiClient(server.url, email=f"u{uuid.uuid4().hex[:12]}@example.com")


def long_answer(word: str) -> Turn:
    """Twenty seconds of text: still running whenever the test stops or kills the server."""
    return Turn.text(" ".join([word] * 400), chunk_words=1, delay=0.05)


def reply_of(user: ApiClient, conversation_id: str) -> dict[str, Any]:
    messages = user.get(f"/agents/conversations/{conversation_id}").json()["messages"]
    return next(m for m in messages if m["role"] == "assistant")


def ended_reply(user: ApiClient, conversation_id: str, deadline: float) -> dict[str, Any]:
    """Poll the conversation until its reply is no longer `streaming`, until `deadline`."""

    def ended() -> dict[str, Any] | None:
        try:
            reply = reply_of(user, conversation_id)
        except requests.RequestException:  # the restarted worker is not answering yet
            return None
        return reply if reply["status"] != "streaming" else None

    return wait_for(ended, timeout=max(deadline - time.monotonic(), 0.0))


def read_to_the_end(stream: SseStream) -> list[SseEvent]:
    """The events until `done`, or until the connection ends without one (a cut response)."""
    events: list[SseEvent] = []
    try:
        for event in stream:
            events.append(event)
            if event.event == "done":
                break
    except requests.RequestException:
        pass
    return events


def workers_of(server: LiveServer) -> list[int]:
    assert server.process is not None
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def kill_the_worker(server: LiveServer) -> None:
    """kill -9 of the (one) worker; the master starts a new one, which the test waits for."""
    (worker,) = workers_of(server)
    os.kill(worker, signal.SIGKILL)

    def replaced() -> bool:
        if worker in workers_of(server):
            return False
        try:
            return requests.get(server.url + "/health", timeout=2).ok
        except requests.RequestException:
            return False

    wait_for(replaced, timeout=30)


@setups("sqlite-memory", "postgresql-memory", "postgresql-redis")
def test_graceful_stop_ends_running_replies_with_shutting_down(
    server: LiveServer, llm: ScriptedLLM
) -> None:
    user = new_user(server)
    llm.script(long_answer("read"), long_answer("unread"))
    stream = user.chat("a long answer")
    seen = stream.take(4)
    unread = user.post("/agents/streams", json={"message": "nobody reads this one"}).json()
    assert llm.wait_for(lambda: len(llm.exchanges) == 2)  # both replies are being written

    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    events = seen + read_to_the_end(stream)
    server.process.wait(timeout=30)

    assert_contract_sequence(events, stream.response.headers["X-Stream-Id"])
    error, done = events[-2], events[-1]
    assert error.event == "error"
    assert error.data["code"] == "shutting_down" and error.data["retryable"] is True
    assert done.data["status"] == "failed"

    server.start()  # the same database: what was stored?
    read = reply_of(user, seen[0].data["conversation_id"])
    assert (read["status"], read["error"]) == ("failed", "shutting_down")
    assert read["content"] == content_text(events) and read["content"].startswith("read")
    other = reply_of(user, unread["conversation_id"])
    assert (other["status"], other["error"]) == ("failed", "shutting_down")


@setups("sqlite-memory", "postgresql-memory")
def test_killed_worker_reply_is_stored_as_generation_lost_and_told_to_a_returning_reader(
    server: LiveServer, llm: ScriptedLLM
) -> None:
    user = new_user(server)
    llm.script(long_answer("partial"))
    stream = user.chat("a long answer")
    seen = stream.take(6)
    stream_id = stream.response.headers["X-Stream-Id"]

    killed_at = time.monotonic()
    kill_the_worker(server)
    reply = ended_reply(user, seen[0].data["conversation_id"], killed_at + DEADLINE)
    assert (reply["status"], reply["error"]) == ("failed", "generation_lost")

    back = user.open_stream(
        "GET", f"/agents/streams/{stream_id}", headers={"Last-Event-ID": seen[-1].id}
    ).until_done()
    assert [(e.id, e.event) for e in back] == [
        (f"{stream_id}:7", "error"),
        (f"{stream_id}:8", "done"),
    ]
    assert back[0].data["code"] == "generation_lost" and back[0].data["retryable"] is True
    assert back[1].data["status"] == "failed"


@setups("sqlite-memory")
def test_reader_back_at_once_after_its_worker_was_killed_gets_error_and_done(
    server: LiveServer, llm: ScriptedLLM
) -> None:
    """EventSource retries within seconds, before the dead worker's lease has run out."""
    user = new_user(server)
    llm.script(long_answer("partial"))
    stream = user.chat("a long answer")
    seen = stream.take(4)
    stream_id = stream.response.headers["X-Stream-Id"]

    kill_the_worker(server)
    back = user.open_stream(
        "GET", f"/agents/streams/{stream_id}", headers={"Last-Event-ID": seen[-1].id}
    ).until_done()

    assert [(e.id, e.event) for e in back] == [
        (f"{stream_id}:5", "error"),
        (f"{stream_id}:6", "done"),
    ]
    assert back[0].data["code"] == "generation_lost"
    assert back[1].data["status"] == "failed"
    reply = reply_of(user, seen[0].data["conversation_id"])
    assert (reply["status"], reply["error"]) == ("failed", "generation_lost")


@setups("sqlite-memory", "postgresql-memory", "postgresql-redis")
def test_killed_server_reply_is_stored_as_generation_lost_after_restart(
    server: LiveServer, llm: ScriptedLLM
) -> None:
    user = new_user(server)
    llm.script(long_answer("partial"))
    stream = user.chat("a long answer")
    seen = stream.take(6)

    killed_at = time.monotonic()
    kill_hard(server)  # master and worker: nothing gets to clean up
    server.start()
    reply = ended_reply(user, seen[0].data["conversation_id"], killed_at + DEADLINE)

    assert (reply["status"], reply["error"]) == ("failed", "generation_lost")
    if server.env.get("REDIS_URL"):
        # Redis still had the events written before the kill (the last few milliseconds' may
        # not have reached it): the text so far is kept.
        assert reply["content"].startswith("partial")


# --- the database side -------------------------------------------------------------------------


def insert_row(connection: sa.Connection, table: str, **values: Any) -> None:
    """A row written with these columns only: the schema may be older than the models."""
    columns = [
        sa.column(name, UTCDateTime() if isinstance(value, datetime) else None)
        for name, value in values.items()
    ]
    connection.execute(sa.table(table, *columns).insert().values(**values))


def insert_streaming_reply(app: Flask) -> ReplyInfo:
    """A user, a conversation and a reply being written, with the columns of the first schema."""
    now = datetime.now(UTC)
    info = ReplyInfo(new_id(), new_id(), new_id(), new_id())
    with app.app_context(), db.engine.begin() as connection:
        insert_row(
            connection,
            "users",
            id=info.user_id,
            email=f"{info.user_id}@example.com",
            name="",
            password_hash="x",
            created_at=now,
        )
        insert_row(
            connection,
            "conversations",
            id=info.conversation_id,
            user_id=info.user_id,
            title="t",
            created_at=now,
            updated_at=now,
        )
        insert_row(
            connection,
            "messages",
            id=info.message_id,
            conversation_id=info.conversation_id,
            seq=2,
            role="assistant",
            content="",
            status="streaming",
            stream_id=info.stream_id,
            created_at=now,
        )
    return info


def outcome(info: ReplyInfo, status: str, text: str, error: Any = None) -> Outcome:
    metrics = {"ttft_ms": None, "duration_ms": 1, "chunks": 0, "tool_calls": 0}
    return Outcome(info, status, text, [], metrics, error)


def test_the_first_closer_of_a_reply_wins(app: Flask) -> None:
    """A reply closed as lost by another process is not overwritten by its writer, if that
    one turns out to be alive after all (and the other way round)."""
    info = insert_streaming_reply(app)
    with app.app_context():
        store_reply(outcome(info, "failed", "so far", GENERATION_LOST))
        store_reply(outcome(info, "completed", "the whole answer"))
        message = db.session.get(Message, info.message_id)
        assert message is not None
        assert (message.status, message.error, message.content) == (
            "failed",
            "generation_lost",
            "so far",
        )
        assert message.to_dict()["error"] == "generation_lost"


def test_replies_left_streaming_before_leases_existed_are_found_lost(
    tmp_path: Path, database_url: str
) -> None:
    """Replies that a dead process left `streaming` before this release are closed too."""
    app = create_app(app_config(tmp_path, database_url))
    try:
        with app.app_context():
            upgrade(revision="0001_initial")
        info = insert_streaming_reply(app)
        with app.app_context():
            upgrade()
            assert [found.message_id for found, _ in ReplyLeases().expired()] == [info.message_id]
    finally:
        with app.app_context():
            db.engine.dispose()
