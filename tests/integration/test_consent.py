"""Consent before a tool acts outside the app (CONTRACT.md 6.3), on the three real processes.

`send_listing_report` emails a report (here: writes it to the listings service's outbox), so a
reply that calls it waits for the user's answer; read-only tools run without asking.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import ApiClient, SseEvent, SseStream, Stack, start_stack
from tests.support.llm_server import ScriptedLLM, Turn

REPORT = ("send_listing_report", {"listing_ids": ["L100001"], "recipient_email": "ann@example.com"})


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("consent")


@pytest.fixture(scope="module")
def stack(stack_dir: Path, llm: ScriptedLLM) -> Iterator[Stack]:
    running = start_stack(stack_dir, llm)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def user(stack: Stack) -> ApiClient:
    return ApiClient(stack.app.url, email="consent@example.com")


@pytest.fixture
def outbox(stack_dir: Path) -> Path:
    return stack_dir / "instance" / "outbox"


def sent_reports(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml")) if outbox.exists() else []


def until(stream: SseStream, name: str) -> list[SseEvent]:
    events: list[SseEvent] = []
    for event in stream:
        events.append(event)
        if event.event == name:
            return events
    raise AssertionError(f"the stream ended without {name}: {[e.event for e in events]}")


def script_report(llm: ScriptedLLM, answer: str = "Done.") -> None:
    llm.reset()
    llm.script(Turn.tool_calls([REPORT]), Turn.text(answer))


def approval_of(user: ApiClient, message: str = "Email L100001 to ann@example.com") -> Any:
    """Start a reply that wants to send a report; returns (stream, its events up to approval)."""
    stream = user.chat(message)
    return stream, until(stream, "approval")


def tool_ends(events: list[SseEvent]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.event == "tool" and e.data["status"] != "started"]


def test_a_call_that_emails_waits_for_approval_then_runs(
    user: ApiClient, llm: ScriptedLLM, outbox: Path
) -> None:
    script_report(llm, "I sent the report.")
    before = sent_reports(outbox)
    stream, events = approval_of(user)
    started = events[-2].data
    approval = events[-1].data
    assert events[-2].event == "tool" and started["status"] == "started"
    assert approval["call_id"] == started["call_id"]
    assert approval["name"] == "send_listing_report"
    assert approval["arguments"] == REPORT[1]
    assert approval["expires_in"] == 60
    assert sent_reports(outbox) == before  # nothing sent while it waits

    stream_id = events[0].data["stream_id"]
    answer = user.post(
        f"/agents/streams/{stream_id}/approvals/{approval['call_id']}", json={"approve": True}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    rest = stream.until_done()
    assert [t["status"] for t in tool_ends(rest)] == ["completed"]
    assert rest[-1].data["status"] == "completed"
    assert len(sent_reports(outbox)) == len(before) + 1

    again = user.post(
        f"/agents/streams/{stream_id}/approvals/{approval['call_id']}", json={"approve": False}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "approval_closed"


def test_a_declined_call_fails_as_declined_and_the_model_is_told(
    user: ApiClient, llm: ScriptedLLM, outbox: Path
) -> None:
    script_report(llm, "OK, I did not send it.")
    before = sent_reports(outbox)
    stream, events = approval_of(user)
    stream_id, call_id = events[0].data["stream_id"], events[-1].data["call_id"]
    answer = user.post(f"/agents/streams/{stream_id}/approvals/{call_id}", json={"approve": False})
    assert answer.status_code == 200 and answer.json()["status"] == "declined"
    rest = stream.until_done()
    ended = tool_ends(rest)
    assert [(t["status"], t["error"]) for t in ended] == [("failed", "declined")]
    assert "".join(e.data["chunk"] for e in rest if e.event == "content") == (
        "OK, I did not send it."
    )
    told = [m for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert "declined" in told[0]["content"]
    assert sent_reports(outbox) == before

    history = user.get(f"/agents/conversations/{events[0].data['conversation_id']}").json()
    stored = history["messages"][-1]["tool_calls"]
    assert [(c["status"], c["error"]) for c in stored] == [("failed", "declined")]


def test_only_the_owner_answers_and_only_a_call_that_asked(
    user: ApiClient, stack: Stack, llm: ScriptedLLM
) -> None:
    script_report(llm)
    stream, events = approval_of(user)
    stream_id, call_id = events[0].data["stream_id"], events[-1].data["call_id"]
    path = f"/agents/streams/{stream_id}/approvals/{call_id}"
    stranger = ApiClient(stack.app.url, email="stranger-consent@example.com")
    refused = stranger.post(path, json={"approve": True})
    assert refused.status_code == 404
    assert set(refused.json()["error"]) >= {"code", "message"}
    unknown = user.post(f"/agents/streams/{stream_id}/approvals/call_nope", json={"approve": True})
    assert unknown.status_code == 404
    bad = user.post(path, json={"approve": "yes"})
    assert bad.status_code == 400
    assert "approve" in bad.json()["error"]["fields"]
    # The call still waits: a cancel ends it, and the stream ends cancelled.
    cancel = user.post(f"/agents/streams/{stream_id}/cancel")
    assert cancel.status_code == 202
    rest = stream.until_done()
    assert rest[-1].data["status"] == "cancelled"


def test_approved_ahead_runs_without_asking(user: ApiClient, llm: ScriptedLLM) -> None:
    script_report(llm)
    events = user.chat("Email it", approve=["send_listing_report"]).until_done()
    assert "approval" not in [e.event for e in events]
    assert [t["status"] for t in tool_ends(events)] == ["completed"]


def test_plain_text_declines_at_once_with_a_hint(user: ApiClient, llm: ScriptedLLM) -> None:
    script_report(llm, "I could not send it.")
    response = user.post(
        "/agents/chat-stream?format=text", json={"message": "Email it"}, stream=True
    )
    text = response.text
    assert response.status_code == 200
    assert "[declined: send_listing_report needs your approval" in text
    assert '"approve": ["send_listing_report"]' in text
    assert "I could not send it." in text
    told = [m for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert "declined" in json.dumps(told)
