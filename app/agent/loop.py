"""The tool-calling loop, the same for every provider: ask, run the tools, feed back, repeat."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from app.agent.errors import UPSTREAM_ERRORS, classify
from app.agent.events import AgentEvent, ContentDelta, ToolCallRequest, ToolFinished, Usage
from app.agent.prompts import SYSTEM_PROMPT
from app.agent.toolbox import Toolbox


class Provider(Protocol):
    """Something that answers one step: text deltas (str), then the tool calls it wants."""

    label: str

    def step(
        self, messages: list[dict[str, Any]], tools: Sequence[dict[str, Any]]
    ) -> Iterator[str | ToolCallRequest | Usage]: ...


def build_messages(history: list[dict[str, str]], message: str) -> list[dict[str, Any]]:
    """System prompt, the conversation's recent turns, then the new message."""
    turns = [{"role": turn["role"], "content": turn["content"]} for turn in history]
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        *turns,
        {"role": "user", "content": message},
    ]


def run_agent(
    provider: Provider,
    toolbox: Toolbox,
    messages: list[dict[str, Any]],
    max_steps: int,
) -> Iterator[AgentEvent]:
    """Yield the reply's events. Up to `max_steps` rounds of tool calls, then a final answer.

    Upstream failures become one `AgentError` and end the loop; the caller ends the stream.
    """
    tools = toolbox.specs()
    for step in range(max_steps + 1):
        step_tools = tools if step < max_steps else ()  # the last round must answer in text
        text = ""  # one string, not a list keeping every chunk alive (bench/: 6 KB a stream)
        calls: list[ToolCallRequest] = []
        try:
            for item in provider.step(messages, step_tools):
                if isinstance(item, str):
                    text += item
                    yield ContentDelta(item)
                elif isinstance(item, Usage):
                    yield item
                else:
                    calls.append(item)
        except UPSTREAM_ERRORS as error:
            yield classify(error)
            return
        if not calls:
            return
        messages.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {
                        "id": call.call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.raw_arguments or "{}"},
                    }
                    for call in calls
                ],
            }
        )
        results: dict[str, str] = {}
        for event in toolbox.run(calls):
            if isinstance(event, ToolFinished):
                results[event.call_id] = event.result
            yield event
        for call in calls:  # in the order the model asked, as the API expects
            messages.append(
                {"role": "tool", "tool_call_id": call.call_id, "content": results[call.call_id]}
            )
