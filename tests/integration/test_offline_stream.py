"""The offline assistant through the real stream, real MCP services and real tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live import ApiClient, SseEvent, Stack, start_stack
from tests.support.llm_server import ScriptedLLM


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    llm = ScriptedLLM()  # not started: the offline assistant never calls it
    llm.base_url = "http://127.0.0.1:9/v1"
    # One event per piece (SSE_COALESCE_MS=0): the tests count the offline assistant's pieces.
    running = start_stack(
        tmp_path_factory.mktemp("offline"), llm, LLM_MODE="offline", SSE_COALESCE_MS="0"
    )
    yield running
    running.stop()


def text_of(events: list[SseEvent]) -> str:
    return "".join(e.data["chunk"] for e in events if e.event == "content")


def test_offline_search_streams_tool_events_and_a_written_answer(stack: Stack) -> None:
    user = ApiClient(stack.app.url, email="offline@example.com")
    events = user.chat("3-bedroom homes in Portland under $700k").until_done()
    names = [e.event for e in events]
    assert names[:2] == ["start", "thinking"]
    tools = [e.data for e in events if e.event == "tool"]
    assert tools[0]["name"] == "search_listings" and tools[0]["status"] == "started"
    assert tools[0]["arguments"]["city"] == "Portland"
    assert tools[0]["arguments"]["max_price"] == 700000
    assert tools[0]["arguments"]["min_bedrooms"] == 3
    assert tools[1]["status"] == "completed" and tools[1]["summary"].startswith("Found ")
    assert names.count("content") >= 5
    assert events[-1].data["status"] == "completed"
    answer = text_of(events)
    notice, _, rest = answer.partition("\n\n")
    assert "offline assistant" in notice.lower() and "\n" not in notice  # one line, once
    assert "Portland" in rest and "L1" in rest  # real listings, by id
    assert "_Next you can" in rest
    # The page's view of the result rides on the completed event (CONTRACT.md 6.2).
    display = tools[1]["display"]
    assert display["kind"] == "listings" and display["total"] > 0
    assert all(item["city"] == "Portland" and item["beds"] >= 3 for item in display["items"])
    assert all(item["type"] != "land" for item in display["items"])

    # A follow-up keeps the filters, and the notice is not repeated.
    conversation_id = events[0].data["conversation_id"]
    follow = user.chat("what about 4 bedrooms?", conversation_id=conversation_id).until_done()
    arguments = next(e.data for e in follow if e.event == "tool")["arguments"]
    assert arguments["city"] == "Portland" and arguments["min_bedrooms"] == 4
    assert arguments["max_price"] == 700000
    assert "offline assistant" not in text_of(follow).lower()


def test_offline_market_question_uses_the_analytics_service(stack: Stack) -> None:
    user = ApiClient(stack.app.url, email="offline-market@example.com")
    events = user.chat("How is the Seattle market trending?").until_done()
    tools = [e.data for e in events if e.event == "tool"]
    assert tools, "the market question called no tool"
    assert {t["name"] for t in tools} <= {"get_market_analysis", "get_price_trends"}
    assert [t["status"] for t in tools].count("completed") == len(tools) // 2 >= 1
    assert "Seattle" in text_of(events)
    assert events[-1].data["status"] == "completed"


def test_offline_unparseable_request_gets_help_not_an_error(stack: Stack) -> None:
    user = ApiClient(stack.app.url, email="offline-help@example.com")
    events = user.chat("asdf qwerty").until_done()
    assert not [e for e in events if e.event == "error"]
    assert events[-1].data["status"] == "completed"
    assert not [e for e in events if e.event == "tool"]  # nothing to search for: no tool runs
    help_text = text_of(events)
    assert "Portland" in help_text and "market" in help_text.lower()  # examples of what it can do
