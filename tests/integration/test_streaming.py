"""Streaming chat through real gunicorn, real sockets and the real openai SDK.

The LLM is the scripted OpenAI-compatible server; the MCP services are unreachable here (their
ports are closed), which is itself a case the product must survive. Tool rounds against the
real services are in test_chat_tools.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import delete_redis_keys, redis_test_url
from tests.support.assertions import assert_contract_sequence, content_text, wait_for
from tests.support.live import ApiClient, LiveServer, app_env, start_app
from tests.support.llm_server import ScriptedLLM, Turn


@pytest.fixture(
    scope="module",
    params=[("sqlite", "memory"), ("postgresql", "memory"), ("postgresql", "redis")],
    ids=["sqlite-memory", "postgresql-memory", "postgresql-redis"],
)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> Iterator[LiveServer]:
    """The app on each database, and once with the Redis broker (the whole contract on it)."""
    database, broker = request.param
    extra = {}
    if broker == "redis":
        extra = {"REDIS_URL": redis_test_url(), "REDIS_KEY_PREFIX": f"t-{uuid.uuid4().hex}:"}
    server = start_app(app_env(tmp_path_factory.mktemp("live"), database, llm, **extra))
    yield server
    server.stop()
    if extra:
        delete_redis_keys(extra["REDIS_URL"], extra["REDIS_KEY_PREFIX"])


@pytest.fixture
def api(live: LiveServer, llm: ScriptedLLM) -> ApiClient:
    llm.reset()
    return ApiClient(live.url, email=f"u{time.monotonic_ns()}@example.com")


def test_reply_streams_events_in_contract_order(api: ApiClient, llm: ScriptedLLM) -> None:
    llm.script(Turn.text("Portland has many lovely homes for sale right now.", chunk_words=2))
    stream = api.chat("Find me homes in Portland")
    headers = stream.response.headers
    assert headers["Content-Type"].startswith("text/event-stream")
    assert headers["Cache-Control"] == "no-cache"
    assert headers["X-Accel-Buffering"] == "no"
    stream_id = headers["X-Stream-Id"]
    events = stream.until_done()

    assert stream.retry == 3000
    assert_contract_sequence(events, stream_id)
    start = events[0].data
    assert start["stream_id"] == stream_id
    assert content_text(events) == "Portland has many lovely homes for sale right now."
    done = events[-1].data
    assert done["status"] == "completed"
    assert done["conversation_id"] == start["conversation_id"]
    assert done["message_id"] == start["message_id"]
    assert done["metrics"]["chunks"] == 5
    assert done["metrics"]["ttft_ms"] is not None


def test_user_message_alias_and_history_round_trip(api: ApiClient, llm: ScriptedLLM) -> None:
    llm.script(Turn.text("First answer."), Turn.text("Second answer."))
    first = api.open_stream("POST", "/agents/chat-stream", json={"userMessage": "Hello there"})
    conversation_id = first.until_done()[0].data["conversation_id"]
    second = api.chat("And a follow-up", conversation_id=conversation_id).until_done()
    assert second[-1].data["conversation_id"] == conversation_id

    # The model saw the earlier turns.
    sent = [(m["role"], m["content"]) for m in llm.requests[-1]["messages"]]
    assert sent[1:] == [
        ("user", "Hello there"),
        ("assistant", "First answer."),
        ("user", "And a follow-up"),
    ]
    listed = api.get("/agents/conversations").json()["conversations"]
    assert [c["id"] for c in listed] == [conversation_id]
    messages = api.get(f"/agents/conversations/{conversation_id}").json()["messages"]
    assert [(m["role"], m["content"], m["status"]) for m in messages] == [
        ("user", "Hello there", "completed"),
        ("assistant", "First answer.", "completed"),
        ("user", "And a follow-up", "completed"),
        ("assistant", "Second answer.", "completed"),
    ]
    assert api.delete(f"/agents/conversations/{conversation_id}").status_code == 204
    assert api.get(f"/agents/conversations/{conversation_id}").status_code == 404


def test_bad_requests_are_refused_before_any_stream(api: ApiClient, live: LiveServer) -> None:
    empty = api.post("/agents/chat-stream", json={"message": "   "})
    assert empty.status_code == 400
    assert empty.json()["error"]["fields"] == {"message": "must not be empty"}
    too_long = api.post("/agents/streams", json={"message": "x" * 4001})
    assert too_long.status_code == 400
    assert (
        api.post(
            "/agents/chat-stream", data="hi", headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    assert (
        api.post(
            "/agents/chat-stream", data="{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    other = ApiClient(live.url, email=f"other{time.monotonic_ns()}@example.com")
    foreign = other.post("/agents/streams", json={"message": "x", "conversation_id": "nope"})
    assert foreign.status_code == 404
    anonymous = requests.post(f"{live.url}/agents/chat-stream", json={"message": "hi"}, timeout=5)
    assert anonymous.status_code == 401


def test_another_users_stream_and_conversation_are_404(
    api: ApiClient, live: LiveServer, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text("Private answer."))
    started = api.post("/agents/streams", json={"message": "mine"}).json()
    other = ApiClient(live.url, email=f"other{time.monotonic_ns()}@example.com")
    assert other.get(f"/agents/streams/{started['stream_id']}").status_code == 404
    assert other.post(f"/agents/streams/{started['stream_id']}/cancel").status_code == 404
    assert other.get(f"/agents/conversations/{started['conversation_id']}").status_code == 404
    assert other.delete(f"/agents/conversations/{started['conversation_id']}").status_code == 404
    events = api.open_stream("GET", started["stream_url"]).until_done()
    assert content_text(events) == "Private answer."


def test_resume_with_last_event_id_replays_exactly_the_missed_events(
    api: ApiClient, llm: ScriptedLLM
) -> None:
    words = " ".join(f"w{n}" for n in range(30))
    llm.script(Turn.text(words, chunk_words=1, delay=0.03))
    started = api.post("/agents/streams", json={"message": "tell me"}).json()
    first = api.open_stream("GET", started["stream_url"])
    seen = first.take(6)
    first.close()  # a real disconnect, mid-reply

    resumed = api.open_stream(
        "GET", started["stream_url"], headers={"Last-Event-ID": seen[-1].id}
    ).until_done()
    events = seen + resumed
    assert_contract_sequence(events, started["stream_id"])
    assert content_text(events) == words
    assert resumed[-1].data["status"] == "completed"

    # ?last_event_id= works too, and a replay after `done` is complete and finite.
    again = api.open_stream("GET", f"{started['stream_url']}?last_event_id={seen[2].id}")
    assert [e.id for e in again.until_done()] == [e.id for e in events[3:]]


def test_coalesced_content_loses_nothing_and_resumes_exactly(
    api: ApiClient, llm: ScriptedLLM
) -> None:
    """A burst of chunks under the default SSE_COALESCE_MS: however they were grouped into
    events, the text, the ids and the model's counts come through whole."""
    words = " ".join(f"w{n}" for n in range(60))
    llm.script(Turn.text(words, chunk_words=1))
    started = api.post("/agents/streams", json={"message": "tell me"}).json()
    events = api.open_stream("GET", started["stream_url"]).until_done()
    assert_contract_sequence(events, started["stream_id"])
    assert content_text(events) == words
    metrics = events[-1].data["metrics"]
    assert metrics["chunks"] == 60  # the model's chunks, however many events carried them
    assert metrics["tokens"] == 60  # the scripted model's usage: one token a chunk
    assert metrics["tokens_per_s"] > 0
    for index, event in enumerate(events[:-1]):
        resumed = api.open_stream(
            "GET", started["stream_url"], headers={"Last-Event-ID": event.id}
        ).until_done()
        assert [e.id for e in resumed] == [e.id for e in events[index + 1 :]]


def test_cancel_stops_generation_and_closes_upstream(api: ApiClient, llm: ScriptedLLM) -> None:
    llm.script(Turn.text(" ".join(["slow"] * 200), chunk_words=1, delay=0.05))
    started = api.post("/agents/streams", json={"message": "go"}).json()
    stream = api.open_stream("GET", started["stream_url"])
    before = stream.take(4)  # start, thinking, two chunks
    assert api.post(f"/agents/streams/{started['stream_id']}/cancel").status_code == 202
    rest = stream.until_done()
    assert rest[-1].event == "done" and rest[-1].data["status"] == "cancelled"
    assert llm.wait_for(lambda: llm.client_closed, timeout=5)

    messages = api.get(f"/agents/conversations/{started['conversation_id']}").json()["messages"]
    reply = messages[-1]
    assert reply["status"] == "cancelled"
    assert reply["content"] == content_text(before + rest)
    assert 0 < len(reply["content"]) < len(" ".join(["slow"] * 200))


def test_disconnect_without_return_is_interrupted_after_grace(
    api: ApiClient, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text(" ".join(["word"] * 400), chunk_words=1, delay=0.05))
    stream = api.chat("long answer please")
    events = stream.take(4)
    stream.close()
    conversation = f"/agents/conversations/{events[0].data['conversation_id']}"

    reply = wait_for(
        lambda: next(
            (m for m in api.get(conversation).json()["messages"] if m["status"] == "interrupted"),
            None,
        ),
        timeout=15,
    )
    assert reply["content"].startswith("word")
    assert llm.wait_for(lambda: llm.client_closed, timeout=5)


@pytest.mark.parametrize(
    ("turn", "code", "retryable"),
    [
        (Turn.error(500, "upstream exploded"), "llm_server_error", True),
        (Turn.error(429, "slow down"), "llm_rate_limited", True),
        (Turn.error(401, "bad key"), "llm_auth", False),
    ],
    ids=["500", "429", "401"],
)
def test_llm_http_errors_end_with_error_then_done(
    api: ApiClient, llm: ScriptedLLM, turn: Turn, code: str, retryable: bool
) -> None:
    llm.script(turn)
    events = api.chat("hello").until_done()
    assert [e.event for e in events[-2:]] == ["error", "done"]
    assert events[-2].data["code"] == code
    assert events[-2].data["retryable"] is retryable
    assert events[-1].data["status"] == "failed"


def test_llm_drop_mid_answer_keeps_partial_text(api: ApiClient, llm: ScriptedLLM) -> None:
    llm.script(Turn.drop_after("one two three four five six", n_chunks=3))
    events = api.chat("hello").until_done()
    assert content_text(events) == "one two three "
    assert events[-2].event == "error" and events[-2].data["code"] == "llm_network"
    assert events[-1].data["status"] == "failed"
    messages = api.get(f"/agents/conversations/{events[0].data['conversation_id']}").json()
    assert messages["messages"][-1]["content"] == "one two three "
    assert messages["messages"][-1]["status"] == "failed"


def test_llm_stall_times_out_and_quiet_stream_gets_keepalives(
    api: ApiClient, llm: ScriptedLLM
) -> None:
    llm.script(Turn.stall("before the stall and after", after_chunks=2, seconds=8))
    stream = api.chat("hello")
    events = stream.until_done()
    assert content_text(events) == "before the "
    assert events[-2].data["code"] == "llm_timeout"  # LLM_TIMEOUT=3 in this app
    assert events[-1].data["status"] == "failed"
    assert "keep-alive" in stream.comments  # SSE_KEEPALIVE=1 while nothing else was sent


def test_overall_timeout_ends_with_timeout(tmp_path: Any, llm: ScriptedLLM) -> None:
    server = start_app(app_env(tmp_path, "sqlite", llm, SSE_TIMEOUT="2", LLM_TIMEOUT="30"))
    try:
        llm.reset()
        llm.script(Turn.stall("start and then nothing", after_chunks=1, seconds=10))
        events = ApiClient(server.url).chat("hello").until_done()
        assert events[-2].event == "error" and events[-2].data["code"] == "timeout"
        assert events[-1].data["status"] == "timeout"
        assert content_text(events) == "start "
    finally:
        server.stop()


def test_text_format_streams_plain_text(api: ApiClient, llm: ScriptedLLM) -> None:
    llm.script(Turn.text("Plain words for a terminal.", chunk_words=2))
    response = api.http.post(
        f"{api.base_url}/agents/chat-stream?format=text",
        json={"message": "hi"},
        stream=True,
        timeout=10,
    )
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "Plain words for a terminal.\n[done: completed]\n"


def test_sse_health_counts_streams_and_readers(
    api: ApiClient, live: LiveServer, llm: ScriptedLLM
) -> None:
    llm.script(Turn.stall("waiting here", after_chunks=1, seconds=2))
    stream = api.chat("hi")
    stream.take(3)
    health = requests.get(f"{api.base_url}/sse/health", timeout=5).json()
    assert health["status"] == "ok" and health["broker"] == (
        "redis" if live.env.get("REDIS_URL") else "memory"
    )
    assert health["active_streams"] >= 1 and health["connected_clients"] >= 1
    assert (health["keepalive_s"], health["timeout_s"], health["retry_ms"]) == (1, 30, 3000)
    stream.until_done()
    after = wait_for(
        lambda: (
            (h := requests.get(f"{api.base_url}/sse/health", timeout=5).json())["active_streams"]
            == 0
            and h
        )
    )
    assert after["connected_clients"] == 0


def test_tool_service_down_is_told_to_the_model(api: ApiClient, llm: ScriptedLLM) -> None:
    llm.script(
        Turn.tool_calls([("search_listings", {"city": "Portland"})], split_into=3),
        Turn.text("The listings service is down, sorry."),
    )
    events = api.chat("homes in Portland").until_done()
    tools = [e.data for e in events if e.event == "tool"]
    assert [t["status"] for t in tools] == ["started", "failed"]
    assert tools[0]["arguments"] == {"city": "Portland"}
    assert "unavailable" in tools[1]["error"]
    assert events[-1].data["status"] == "completed"
    fed_back = llm.requests[-1]["messages"][-1]
    assert fed_back["role"] == "tool" and "unavailable" in fed_back["content"]


def test_health_says_degraded_when_the_tool_services_are_down(api: ApiClient) -> None:
    """The MCP ports of this app are closed: it still serves (200) and says what is missing."""
    response = requests.get(f"{api.base_url}/health", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["mcp_services"] == {"listings": "unavailable", "analytics": "unavailable"}


def test_reader_at_or_past_the_end_of_a_finished_stream_gets_204(
    api: ApiClient, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text("A short answer."))
    started = api.post("/agents/streams", json={"message": "hi"}).json()
    events = api.open_stream("GET", started["stream_url"]).until_done()
    last = int(events[-1].id.rpartition(":")[2])
    for seq in (last, last + 1, 10**30):
        response = api.get(
            started["stream_url"], headers={"Last-Event-ID": f"{started['stream_id']}:{seq}"}
        )
        assert response.status_code == 204, (seq, response.text[:200])
        assert response.content == b""
    # one before the end still replays the final event
    tail = api.open_stream(
        "GET", started["stream_url"], headers={"Last-Event-ID": events[-2].id}
    ).until_done()
    assert [e.id for e in tail] == [events[-1].id]


def test_reader_claiming_events_a_live_stream_never_sent_ends_with_the_stream(
    api: ApiClient, llm: ScriptedLLM
) -> None:
    """It once wrote keep-alives in a loop without waiting once the stream had finished."""
    llm.script(Turn.text(" ".join(["word"] * 20), chunk_words=1, delay=0.05))
    started = api.post("/agents/streams", json={"message": "go"}).json()
    response = api.http.get(
        api.base_url + started["stream_url"],
        headers={"Last-Event-ID": f"{started['stream_id']}:1000000"},
        stream=True,
        timeout=(5, 30),
    )
    assert response.status_code == 200
    body = b""
    for chunk in response.iter_content(chunk_size=None):  # ends when the stream is done
        body += chunk
        if len(body) > 4096:  # a spinning reader: stop reading, fail below
            break
    response.close()
    assert len(body) <= 4096, body[:300]
    assert api.get("/health").status_code == 200


def test_cancel_of_a_finished_stream_is_409_with_how_it_ended(
    api: ApiClient, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text("Done already."))
    started = api.post("/agents/streams", json={"message": "hi"}).json()
    api.open_stream("GET", started["stream_url"]).until_done()
    refused = api.post(f"/agents/streams/{started['stream_id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "stream_finished"
    assert refused.json()["status"] == "completed"
    assert "Retry-After" not in refused.headers
