"""The scripted LLM server behaves like an OpenAI-compatible endpoint for the real `openai` SDK.

Everything the streaming tests rely on (chunking, tool-call reassembly, errors, drops, stalls,
client-close detection) is pinned here against the SDK itself, so a later SDK upgrade that reads
the wire differently shows up in this file first.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx2
import openai
import pytest

from tests.support.llm_server import ScriptedLLM, Turn

MESSAGES = [{"role": "user", "content": "Find me a house in Portland"}]


@pytest.fixture(autouse=True)
def fresh_script(llm: ScriptedLLM) -> None:
    """Each test here reads `llm.exchanges` from the first: none left from the test before."""
    llm.reset()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_for(llm: ScriptedLLM, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0, **kwargs)


def stream(llm: ScriptedLLM, **kwargs: object) -> openai.Stream:
    return client_for(llm).chat.completions.create(
        model="test-model", messages=MESSAGES, stream=True, **kwargs
    )


def assemble_tool_calls(chunks: list) -> dict[int, dict]:
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                if delta.id:
                    assert call["id"] is None, "id must only come in the first delta of a call"
                    call["id"], call["name"] = delta.id, delta.function.name
                call["arguments"] += delta.function.arguments or ""
    return calls


def test_text_streams_in_the_scripted_chunks(llm: ScriptedLLM) -> None:
    llm.script(Turn.text("Three homes match your search.", chunk_words=2))
    chunks = list(stream(llm))
    contents = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert contents == ["Three homes ", "match your ", "search."]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.model for c in chunks} == {"test-model"}
    # The server marks the outcome after its last write, which the client may read first.
    assert llm.wait_for(lambda: llm.exchanges[0].outcome != "open", timeout=5)
    assert llm.exchanges[0].outcome == "done"


def test_explicit_chunk_list_is_sent_as_given(llm: ScriptedLLM) -> None:
    llm.script(Turn.text(["Hel", "lo", " there"]))
    contents = [c.choices[0].delta.content for c in stream(llm) if c.choices[0].delta.content]
    assert contents == ["Hel", "lo", " there"]


def test_usage_chunk_only_when_asked(llm: ScriptedLLM) -> None:
    llm.script(Turn.text("one two"), Turn.text("one two"))
    with_usage = list(stream(llm, stream_options={"include_usage": True}))
    without = list(stream(llm))
    assert with_usage[-1].choices == [] and with_usage[-1].usage.completion_tokens == 2
    assert all(c.usage is None for c in without)


def test_tool_call_arguments_reassemble_across_chunks(llm: ScriptedLLM) -> None:
    args = {"city": "Portland", "max_price": 650000, "bedrooms": 3}
    turn = Turn.tool_calls([("search_listings", args)], split_into=4)
    llm.script(turn)
    chunks = list(stream(llm))
    argument_pieces = [
        c.choices[0].delta.tool_calls[0].function.arguments
        for c in chunks
        if c.choices[0].delta.tool_calls and c.choices[0].delta.tool_calls[0].function.arguments
    ]
    assert len(argument_pieces) == 4
    calls = assemble_tool_calls(chunks)
    assert calls == {
        0: {"id": turn.tool_call_ids[0], "name": "search_listings", "arguments": json.dumps(args)}
    }
    assert json.loads(calls[0]["arguments"]) == args
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_two_tool_calls_in_one_step_after_leading_text(llm: ScriptedLLM) -> None:
    llm.script(
        Turn.tool_calls(
            [
                ("search_listings", {"city": "Portland"}),
                ("get_market_analysis", {"city": "Seattle"}, "call_b"),
            ],
            split_into=2,
            text="Let me check.",
        )
    )
    chunks = list(stream(llm))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    calls = assemble_tool_calls(chunks)
    assert text == "Let me check."
    assert [calls[i]["name"] for i in (0, 1)] == ["search_listings", "get_market_analysis"]
    assert json.loads(calls[1]["arguments"]) == {"city": "Seattle"}
    assert calls[1]["id"] == "call_b"


def test_non_streaming_request_gets_a_whole_completion(llm: ScriptedLLM) -> None:
    llm.script(Turn.tool_calls([("get_listing", {"listing_id": "L100234"})], text="One moment."))
    completion = client_for(llm).chat.completions.create(model="m", messages=MESSAGES)
    message = completion.choices[0].message
    assert message.content == "One moment."
    assert message.tool_calls[0].function.name == "get_listing"
    assert json.loads(message.tool_calls[0].function.arguments) == {"listing_id": "L100234"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_empty_script_serves_the_default_turn() -> None:
    llm = ScriptedLLM(default=Turn.text("default reply")).start()
    try:
        texts = ["".join(c.choices[0].delta.content or "" for c in stream(llm)) for _ in range(2)]
    finally:
        llm.stop()
    assert texts == ["default reply", "default reply"]


def test_models_endpoint_lists_the_model(llm: ScriptedLLM) -> None:
    assert [m.id for m in client_for(llm).models.list()] == ["scripted-model"]


def test_500_raises_api_status_error(llm: ScriptedLLM) -> None:
    llm.script(Turn.error(500, "boom"))
    with pytest.raises(openai.InternalServerError) as caught:
        stream(llm)
    assert caught.value.status_code == 500
    assert caught.value.body["message"] == "boom"


def test_429_raises_rate_limit_error_with_retry_after(llm: ScriptedLLM) -> None:
    llm.script(Turn.error(429, retry_after=7))
    with pytest.raises(openai.RateLimitError) as caught:
        stream(llm)
    assert caught.value.response.headers["retry-after"] == "7"


def test_401_raises_authentication_error(llm: ScriptedLLM) -> None:
    llm.script(Turn.error(401, "Incorrect API key"))
    with pytest.raises(openai.AuthenticationError):
        stream(llm)


def test_sdk_retry_pops_the_next_turn(llm: ScriptedLLM) -> None:
    llm.script(Turn.error(503, retry_after=0.01), Turn.text("recovered"))
    client = openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=1)
    chunks = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "recovered"
    assert llm.wait_for(lambda: llm.exchanges[-1].outcome != "open", timeout=5)
    assert [e.outcome for e in llm.exchanges] == ["error", "done"]


def test_drop_raises_connection_error_after_the_first_chunks(llm: ScriptedLLM) -> None:
    llm.script(Turn.drop_after("one two three four five", n_chunks=2))
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream(llm):
            received.append(chunk.choices[0].delta.content)
    assert received == ["one ", "two "]
    assert llm.wait_for(lambda: llm.exchanges[0].outcome != "open", timeout=5)
    assert llm.exchanges[0].outcome == "dropped"


def test_stall_longer_than_the_client_timeout_times_out(llm: ScriptedLLM) -> None:
    llm.script(Turn.stall("one two three", after_chunks=1, seconds=3.0))
    received = []
    client = client_for(llm, timeout=httpx2.Timeout(5.0, read=0.3))
    with pytest.raises(openai.APITimeoutError):
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["one "]


def test_short_stall_only_delays_the_stream(llm: ScriptedLLM) -> None:
    llm.script(Turn.stall("one two three", after_chunks=2, seconds=0.2))
    text = "".join(c.choices[0].delta.content or "" for c in stream(llm))
    assert text == "one two three"


def test_closing_the_sdk_stream_early_is_recorded_as_client_close(llm: ScriptedLLM) -> None:
    llm.script(Turn.text("word " * 200, delay=0.01))
    response = stream(llm)
    next(iter(response))
    response.close()
    assert llm.wait_for(lambda: llm.client_closed, timeout=5)
    assert llm.exchanges[0].chunks_sent < 200


def test_a_finished_stream_is_not_a_client_close(llm: ScriptedLLM) -> None:
    llm.script(Turn.text("short reply"))
    list(stream(llm))
    assert llm.wait_for(lambda: llm.exchanges[0].outcome != "open", timeout=5)
    assert llm.exchanges[0].outcome == "done"


def test_request_bodies_and_headers_are_recorded(llm: ScriptedLLM) -> None:
    llm.script(
        Turn.tool_calls([("search_listings", {"city": "Portland"}, "call_1")]),
        Turn.text("Found them."),
    )
    client = client_for(llm)
    tools = [{"type": "function", "function": {"name": "search_listings", "parameters": {}}}]
    list(client.chat.completions.create(model="gpt-x", messages=MESSAGES, tools=tools, stream=True))
    history = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search_listings", "arguments": '{"city": "Portland"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"total": 3}'},
    ]
    list(client.chat.completions.create(model="gpt-x", messages=history, stream=True))
    first, second = llm.requests
    assert first["model"] == "gpt-x" and first["tools"] == tools and first["stream"] is True
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"total": 3}',
    }
    assert llm.exchanges[0].headers["authorization"] == "Bearer test"


def test_runs_as_a_gevent_process_serving_paced_default_turns() -> None:
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.llm_server",
            "--port",
            str(port),
            "--chunks-per-second",
            "100",
            "--words",
            "5",
        ],
        cwd=root,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "scripted LLM on" in proc.stderr.readline()  # logged once it listens
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="t", max_retries=0)
        chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == (
        "word1 word2 word3 word4 word5"
    )
