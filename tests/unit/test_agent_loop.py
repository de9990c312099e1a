"""The tool-calling loop (`run_agent`) and the `Toolbox`, with a scripted provider and a fake
MCP client standing in for the LLM and the services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai

from app.agent.events import AgentError, ContentDelta, ToolCallRequest, ToolFinished, ToolStarted
from app.agent.loop import build_messages, run_agent
from app.agent.mcp_client import ToolDef, ToolResult
from app.agent.toolbox import Toolbox

Step = list[str | ToolCallRequest] | Exception


class ScriptedProvider:
    """Answers each step from a script, and keeps what it was asked."""

    label = "scripted"

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.asked: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []

    def step(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> Iterator[str | ToolCallRequest]:
        self.asked.append(([dict(m) for m in messages], tools))
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        yield from step


class FakeServices:
    """The MCP client's interface over two tools; `search_listings` answers, `get_listing` fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.defs = [
            ToolDef("listings", "search_listings", "Search", {"type": "object"}),
            ToolDef("listings", "get_listing", "One listing", {"type": "object"}),
        ]

    def tools(self, user_id: str) -> list[ToolDef]:
        return self.defs

    def openai_specs(self, user_id: str) -> tuple[dict[str, Any], ...]:
        return tuple(d.openai_spec() for d in self.defs)

    def service_of(self, name: str) -> str | None:
        return "listings" if name in {d.name for d in self.defs} else None

    def call(
        self, user_id: str, name: str, arguments: dict[str, Any], request_id: str | None = None
    ) -> ToolResult:
        self.calls.append((user_id, name, arguments))
        if name == "search_listings":
            return ToolResult(True, "{}", {"total": 14, "listings": []})
        return ToolResult(False, "listing not found")


def call(call_id: str, name: str, arguments: str = "{}") -> ToolCallRequest:
    try:
        parsed = json.loads(arguments)
    except ValueError:
        parsed = None
    return ToolCallRequest(call_id, name, parsed, arguments)


def toolbox(services: FakeServices) -> Toolbox:
    return Toolbox(services, "u1")  # type: ignore[arg-type]


def test_text_only_answer_is_streamed_as_content_in_one_step() -> None:
    provider = ScriptedProvider(["Hello", " there"])
    events = list(run_agent(provider, toolbox(FakeServices()), build_messages([], "hi"), 3))
    assert events == [ContentDelta("Hello"), ContentDelta(" there")]
    messages, tools = provider.asked[0]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert [t["function"]["name"] for t in tools] == ["search_listings", "get_listing"]


def test_tool_calls_run_and_their_results_are_fed_back_before_the_answer() -> None:
    services = FakeServices()
    provider = ScriptedProvider(
        [
            "Let me look. ",
            call("a", "search_listings", '{"city": "Austin"}'),
            call("b", "get_listing"),
        ],
        ["Found 14."],
    )
    history = [{"role": "user", "content": "before"}, {"role": "assistant", "content": "ok"}]
    events = list(run_agent(provider, toolbox(services), build_messages(history, "homes?"), 3))

    assert events[0] == ContentDelta("Let me look. ")
    assert events[1:3] == [
        ToolStarted("a", "search_listings", {"city": "Austin"}),
        ToolStarted("b", "get_listing", {}),
    ]
    finished = {e.call_id: e for e in events[3:5]}
    assert all(isinstance(e, ToolFinished) for e in events[3:5])
    assert (finished["a"].summary, finished["a"].error) == ("Found 14 listings", None)
    assert finished["b"].error == "listing not found"
    assert events[5:] == [ContentDelta("Found 14.")]
    assert sorted(services.calls) == [  # run concurrently, so in either order
        ("u1", "get_listing", {}),
        ("u1", "search_listings", {"city": "Austin"}),
    ]

    second_ask, _ = provider.asked[1]
    assert [m["role"] for m in second_ask] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "tool",
    ]
    assert second_ask[4]["content"] == "Let me look. "
    assert [c["id"] for c in second_ask[4]["tool_calls"]] == ["a", "b"]
    assert [m["tool_call_id"] for m in second_ask[5:]] == ["a", "b"]  # in the order asked
    assert second_ask[6]["content"] == "Error: listing not found"


def test_the_last_step_offers_no_tools_so_the_model_must_answer() -> None:
    provider = ScriptedProvider([call("a", "search_listings")], ["Done."])
    list(run_agent(provider, toolbox(FakeServices()), build_messages([], "x"), max_steps=1))
    assert [len(tools) for _, tools in provider.asked] == [2, 0]


def test_an_upstream_failure_becomes_one_agent_error_and_ends_the_loop() -> None:
    request = httpx2.Request("POST", "http://llm.invalid/v1/chat/completions")
    provider = ScriptedProvider(openai.APITimeoutError(request=request), ["never"])
    events = list(run_agent(provider, toolbox(FakeServices()), build_messages([], "x"), 3))
    assert len(events) == 1 and isinstance(events[0], AgentError)
    assert events[0].code == "llm_timeout"
    assert len(provider.asked) == 1


def test_arguments_that_are_not_json_are_a_tool_error_without_calling_the_service() -> None:
    services = FakeServices()
    events = list(toolbox(services).run([call("a", "search_listings", "{not json")]))
    assert events[0] == ToolStarted("a", "search_listings", {})
    finished = events[1]
    assert isinstance(finished, ToolFinished)
    assert finished.error == "the arguments were not valid JSON"
    assert finished.result == "Error: the arguments were not valid JSON"
    assert services.calls == []


def test_a_tools_result_shown_to_the_model_is_its_structured_json() -> None:
    [_, finished] = list(toolbox(FakeServices()).run([call("a", "search_listings")]))
    assert isinstance(finished, ToolFinished)
    assert finished.result == '{"total": 14, "listings": []}'
    assert finished.structured == {"total": 14, "listings": []}
