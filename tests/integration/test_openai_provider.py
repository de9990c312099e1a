"""The provider reads the SDK's raw event stream itself: the same deltas and errors as the SDK.

The chunk parser is pinned on hand-written wire bytes (split anywhere, CRLF, multi-line data),
and the provider end to end against the scripted LLM server.
"""

from __future__ import annotations

import gc
import json

import httpx2
import openai
import pytest

from app.agent.errors import TruncatedStream, classify
from app.agent.events import ToolCallRequest, Usage
from app.agent.openai_provider import ChunkReader, OpenAIProvider
from tests.support.llm_server import ScriptedLLM, Turn

MESSAGES = [{"role": "user", "content": "Find me a house in Portland"}]


@pytest.fixture(autouse=True)
def fresh_script(llm: ScriptedLLM) -> None:
    """Each test here reads `llm.exchanges` from the first: none left from the test before."""
    llm.reset()


def event(delta: dict, finish_reason: str | None = None) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def provider_for(llm: ScriptedLLM) -> OpenAIProvider:
    return OpenAIProvider(
        api_key="test", base_url=llm.base_url, model="m", timeout=3, max_retries=0
    )


def test_events_split_across_reads_are_parsed_once_complete() -> None:
    wire = event({"content": "Hello "}) + event({"content": "wörld"}) + event({}, "stop")
    reader = ChunkReader()
    texts = [reader.feed(wire[i : i + 7]) for i in range(0, len(wire), 7)]
    assert "".join(texts) == "Hello wörld"
    assert reader.finished


def test_deltas_arriving_in_one_read_are_joined_into_one_text() -> None:
    reader = ChunkReader()
    assert reader.feed(event({"content": "a"}) + event({"content": "b"})) == "ab"


def test_crlf_line_ends_comments_and_multiline_data_are_understood() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]}
    body = json.dumps(chunk, indent=1).replace("\n", "\r\ndata: ")
    wire = b": keep-alive\r\n\r\nevent: message\r\ndata: " + body.encode() + b"\r\n\r\n"
    assert ChunkReader().feed(wire) == "x"


def test_nothing_after_done_is_read() -> None:
    reader = ChunkReader()
    assert reader.feed(b"data: [DONE]\n\n" + event({"content": "late"})) == ""
    assert reader.done


def test_an_error_inside_the_stream_raises_api_error() -> None:
    wire = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    with pytest.raises(openai.APIError, match="overloaded"):
        ChunkReader().feed(wire)


def test_a_chunk_that_is_not_json_is_an_upstream_error() -> None:
    with pytest.raises(openai.APIError) as caught:
        ChunkReader().feed(b"data: {not json\n\n")
    assert classify(caught.value).code == "llm_network"


def test_text_then_tool_calls_from_the_scripted_server(llm: ScriptedLLM) -> None:
    turn = Turn.tool_calls(
        [("search_listings", {"city": "Portland"}), ("get_listing", {"listing_id": "L1"})],
        split_into=3,
        text="Looking.",
    )
    llm.script(turn)
    items = list(provider_for(llm).step(MESSAGES, []))
    text = "".join(item for item in items if isinstance(item, str))
    calls = [item for item in items if isinstance(item, ToolCallRequest)]
    assert text == "Looking."
    assert [(c.name, c.arguments) for c in calls] == [
        ("search_listings", {"city": "Portland"}),
        ("get_listing", {"listing_id": "L1"}),
    ]
    assert [c.call_id for c in calls] == turn.tool_call_ids


def test_the_request_carries_model_messages_tools_and_asks_for_usage(llm: ScriptedLLM) -> None:
    """The body is encoded by the provider, not the SDK: it must say what the SDK's would,
    and tools handed over again (the toolbox's same specs) go out the same."""
    tools = ({"type": "function", "function": {"name": "search_listings", "parameters": {}}},)
    provider = provider_for(llm)
    llm.script(Turn.text("one"), Turn.text("two"), Turn.text("three"))
    for offered in (tools, tools, ()):
        list(provider.step([{"role": "user", "content": "Maison à Nantes"}], offered))
    first, second, third = llm.exchanges
    assert first.body == {
        "model": "m",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Maison à Nantes"}],
        "tools": list(tools),
    }
    assert first.headers["content-type"] == "application/json"
    assert second.body["tools"] == list(tools)
    assert "tools" not in third.body


def test_a_finished_step_leaves_no_response_for_the_garbage_collector(llm: ScriptedLLM) -> None:
    """A step's HTTP response (and the request and buffers it holds) is freed as soon as the
    step ends, not when the cyclic garbage collector next runs: under load, responses waiting
    for it made a stream's memory half as large again (bench/)."""
    provider = provider_for(llm)
    llm.script(Turn.text("first"), Turn.text("second"))
    list(provider.step(MESSAGES, []))  # the client's first request sets up what it keeps
    gc.collect()
    gc.disable()
    try:
        list(provider.step(MESSAGES, []))
        left = [o for o in gc.get_objects() if isinstance(o, httpx2.Response)]
    finally:
        gc.enable()
    assert left == []


def test_stream_cut_before_finish_is_truncated(llm: ScriptedLLM) -> None:
    llm.script(Turn.drop_after("one two three four", n_chunks=2))
    with pytest.raises((TruncatedStream, openai.APIConnectionError)):
        list(provider_for(llm).step(MESSAGES, []))


def test_http_errors_keep_the_sdk_exception_classes(llm: ScriptedLLM) -> None:
    llm.script(Turn.error(429, "slow down"))
    with pytest.raises(openai.RateLimitError):
        list(provider_for(llm).step(MESSAGES, []))


def test_steps_one_after_another_share_the_provider_and_its_connections(
    llm: ScriptedLLM,
) -> None:
    """The lean transport keeps a connection once a body was read to its end; the next step
    (and one after an error) is answered all the same."""
    provider = provider_for(llm)
    llm.script(Turn.text("first answer"), Turn.error(500, "boom"), Turn.text("second answer"))
    assert "".join(i for i in provider.step(MESSAGES, []) if isinstance(i, str)) == "first answer"
    with pytest.raises(openai.InternalServerError):
        list(provider.step(MESSAGES, []))
    items = list(provider.step(MESSAGES, []))
    assert "".join(i for i in items if isinstance(i, str)) == "second answer"
    assert items[-1] == Usage(2)  # the model's usage, asked for with the stream
