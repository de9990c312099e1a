"""Rate limits and caps as a user behind a shared address meets them (CONTRACT.md 6.1).

Through real gunicorn with the limiter on: chat starts count per user, a refused start costs
nothing, `Retry-After` is the real wait and appears only on 429.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live import ApiClient, LiveServer, app_env, start_app
from tests.support.llm_server import ScriptedLLM, Turn


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[LiveServer]:
    env = app_env(
        tmp_path_factory.mktemp("limits"),
        "sqlite",
        llm,
        RATELIMIT_ENABLED="1",
        CHAT_RATE_LIMIT="3 per minute",
        CHAT_MAX_CONCURRENT_PER_USER="1",
        SIGNUP_RATE_LIMIT_IP="100 per minute",
    )
    server = start_app(env)
    yield server
    server.stop()


def finish(user: ApiClient, started: dict) -> None:
    user.open_stream("GET", started["stream_url"]).until_done()


def test_chat_starts_are_counted_per_user_and_refusals_cost_nothing(
    live: LiveServer, llm: ScriptedLLM
) -> None:
    first, second = ApiClient(live.url, "first@example.com"), ApiClient(live.url, "2@example.com")
    for _ in range(5):  # refused before any stream: no quota spent
        assert first.post("/agents/streams", json={"message": " "}).status_code == 400
    for _ in range(3):
        llm.script(Turn.text("Fine."))
        started = first.post("/agents/streams", json={"message": "hi"})
        assert started.status_code == 202
        assert "Retry-After" not in started.headers
        finish(first, started.json())
    refused = first.post("/agents/streams", json={"message": "hi"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # Another user at the same address still has all of theirs.
    llm.script(Turn.text("Yours."))
    started = second.post("/agents/streams", json={"message": "hi"})
    assert started.status_code == 202
    finish(second, started.json())


def test_too_many_streams_says_to_retry_within_seconds(live: LiveServer, llm: ScriptedLLM) -> None:
    user = ApiClient(live.url, "busy@example.com")
    llm.script(Turn.text(" ".join(["slow"] * 100), chunk_words=1, delay=0.05))
    running = user.post("/agents/streams", json={"message": "long"}).json()
    refused = user.post("/agents/streams", json={"message": "another"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_streams"
    assert 0 < int(refused.headers["Retry-After"]) <= 10
    assert user.post(f"/agents/streams/{running['stream_id']}/cancel").status_code == 202
    finish(user, running)
