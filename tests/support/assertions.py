"""Assertions and waits shared by the test modules: the error shape, the stream contract."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support.live import SseEvent

EVENT_NAMES = {"start", "thinking", "tool", "content", "error", "done"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def content_text(events: list[SseEvent]) -> str:
    return "".join(e.data["chunk"] for e in events if e.event == "content")


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll a condition over HTTP until it holds (bounded; not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def assert_contract_sequence(events: list[SseEvent], stream_id: str) -> None:
    names = [e.event for e in events]
    assert set(names) <= EVENT_NAMES
    assert names[0] == "start" and names[1] == "thinking"
    assert names[-1] == "done" and names.count("done") == 1
    assert [e.id for e in events] == [f"{stream_id}:{n}" for n in range(1, len(events) + 1)]
