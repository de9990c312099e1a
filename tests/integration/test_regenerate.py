"""`POST /agents/conversations/<id>/regenerate` (CONTRACT.md 6.4) through real gunicorn and the
real openai SDK, on SQLite and PostgreSQL: the old reply stays as `superseded`, the new one
streams like `POST /agents/streams`, and the model never sees the superseded text again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.assertions import assert_contract_sequence, content_text
from tests.support.live import ApiClient, LiveServer, app_env, start_app
from tests.support.llm_server import ScriptedLLM, Turn


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> Iterator[LiveServer]:
    server = start_app(app_env(tmp_path_factory.mktemp("regen"), request.param, llm))
    yield server
    server.stop()


@pytest.fixture
def api(live: LiveServer, llm: ScriptedLLM) -> ApiClient:
    llm.reset()
    return ApiClient(live.url, email=f"u{time.monotonic_ns()}@example.com")


def first_turn(api: ApiClient, message: str) -> str:
    events = api.chat(message).until_done()
    assert events[-1].data["status"] == "completed"
    return events[0].data["conversation_id"]


def follow(api: ApiClient, started: dict[str, Any]) -> list[Any]:
    stream = api.open_stream("GET", started["stream_url"])
    events = stream.until_done()
    assert_contract_sequence(events, started["stream_id"])
    return events


def history(api: ApiClient, conversation_id: str) -> list[tuple[str, str, str]]:
    messages = api.get(f"/agents/conversations/{conversation_id}").json()["messages"]
    return [(m["role"], m["content"], m["status"]) for m in messages]


def test_regenerate_keeps_the_old_reply_as_superseded(api: ApiClient, llm: ScriptedLLM) -> None:
    llm.script(Turn.text("First try."), Turn.text("Second try."), Turn.text("Follow-up answer."))
    conversation_id = first_turn(api, "Homes in Portland")

    response = api.post(f"/agents/conversations/{conversation_id}/regenerate")
    assert response.status_code == 202
    started = response.json()
    assert set(started) == {"stream_id", "conversation_id", "message_id", "stream_url"}
    assert started["conversation_id"] == conversation_id
    events = follow(api, started)
    assert content_text(events) == "Second try."
    assert events[-1].data["message_id"] == started["message_id"]

    assert history(api, conversation_id) == [
        ("user", "Homes in Portland", "completed"),
        ("assistant", "First try.", "superseded"),
        ("assistant", "Second try.", "completed"),
    ]
    # The model was asked the same question again, without the reply it replaces...
    assert [(m["role"], m["content"]) for m in llm.requests[-1]["messages"][1:]] == [
        ("user", "Homes in Portland")
    ]
    # ...and a later turn sees only the reply that stands.
    api.chat("And cheaper?", conversation_id=conversation_id).until_done()
    assert [(m["role"], m["content"]) for m in llm.requests[-1]["messages"][1:]] == [
        ("user", "Homes in Portland"),
        ("assistant", "Second try."),
        ("user", "And cheaper?"),
    ]
    conversation = api.get(f"/agents/conversations/{conversation_id}").json()["conversation"]
    assert conversation["updated_at"] >= conversation["created_at"]


def test_regenerate_with_a_message_edits_the_last_question(
    api: ApiClient, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text("About Portland."), Turn.text("About Boise."))
    conversation_id = first_turn(api, "Homes in Portland")
    response = api.post(
        f"/agents/conversations/{conversation_id}/regenerate", json={"message": " Homes in Boise "}
    )
    assert response.status_code == 202
    follow(api, response.json())
    assert history(api, conversation_id) == [
        ("user", "Homes in Boise", "completed"),
        ("assistant", "About Portland.", "superseded"),
        ("assistant", "About Boise.", "completed"),
    ]
    assert llm.requests[-1]["messages"][-1]["content"] == "Homes in Boise"


def test_regenerate_refuses_bad_requests_in_the_error_shape(
    api: ApiClient, live: LiveServer, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text("An answer."))
    conversation_id = first_turn(api, "Homes in Portland")
    path = f"/agents/conversations/{conversation_id}/regenerate"

    blank = api.post(path, json={"message": "   "})
    assert blank.status_code == 400
    assert blank.json()["error"]["fields"] == {"message": "must not be empty"}
    wrong_type = api.post(path, json={"message": 5})
    assert wrong_type.status_code == 400 and "message" in wrong_type.json()["error"]["fields"]

    other = ApiClient(live.url, email=f"o{time.monotonic_ns()}@example.com")
    assert other.post(path).json()["error"]["code"] == "not_found"
    assert other.post(path).status_code == 404
    assert api.post("/agents/conversations/" + "0" * 32 + "/regenerate").status_code == 404
    # Nothing was superseded by the refused requests.
    assert [status for _, _, status in history(api, conversation_id)] == ["completed"] * 2


def test_regenerate_while_the_reply_runs_is_409(api: ApiClient, llm: ScriptedLLM) -> None:
    llm.script(Turn.stall("Slow", after_chunks=1, seconds=2))
    started = api.post("/agents/streams", json={"message": "Homes in Portland"}).json()
    response = api.post(f"/agents/conversations/{started['conversation_id']}/regenerate")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "reply_running"
    api.post(f"/agents/streams/{started['stream_id']}/cancel")
    follow(api, started)
