"""The offline assistant as a provider behind the same loop as an LLM.

Step one reads the conversation and asks for tool calls, exactly as a model would; the loop
runs them through the same MCP client with the same tokens and `tool` events. A plan may need
a second round built from the first one's results (homes within an affordability estimate).
The last step reads the tool results from the `role: "tool"` messages and streams an answer
written from them, a few words every `OFFLINE_PACE_MS` (CONTRACT.md 6.5), so that it reads as
it arrives; the pause is a gevent sleep, which never holds the worker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import gevent

from app.agent.events import ToolCallRequest

LABEL = "offline assistant"


def _split(
    messages: list[dict[str, Any]],
) -> tuple[str, list[dict[str, str]], list[dict[str, Any]]]:
    """The latest user message, the turns before it, and the messages after it (tool round)."""
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    history = [
        {"role": m["role"], "content": m["content"]}
        for m in messages[:last_user]
        if m["role"] in {"user", "assistant"} and m.get("content")
    ]
    return messages[last_user]["content"], history, messages[last_user + 1 :]


def _tool_results(after: list[dict[str, Any]]) -> list[dict[str, Any] | str]:
    """Each tool's structured result, or its error text, in the order the calls were made."""
    results: list[dict[str, Any] | str] = []
    for message in after:
        if message["role"] != "tool":
            continue
        content = message["content"]
        if content.startswith("Error: "):
            results.append(content.removeprefix("Error: "))
            continue
        try:
            results.append(json.loads(content))
        except json.JSONDecodeError:
            results.append(content)
    return results


def _rounds(after: list[dict[str, Any]]) -> int:
    """How many rounds of tool calls this reply has made so far."""
    return sum(1 for m in after if m["role"] == "assistant" and m.get("tool_calls"))


def _requests(calls: list[Any], round_number: int) -> Iterator[ToolCallRequest]:
    for index, call in enumerate(calls, start=1):
        yield ToolCallRequest(
            call_id=f"offline_{round_number}_{index}" if round_number > 1 else f"offline_{index}",
            name=call.name,
            arguments=call.arguments,
            raw_arguments=json.dumps(call.arguments),
        )


class OfflineProvider:
    label = LABEL

    def __init__(self, pace_ms: int = 15) -> None:
        self.pace = max(0, pace_ms) / 1000

    def step(
        self, messages: list[dict[str, Any]], tools: Sequence[dict[str, Any]]
    ) -> Iterator[str | ToolCallRequest]:
        from app.agent.offline.compose import chunk_text, compose_answer, offline_notice
        from app.agent.offline.plan import follow_on_calls, plan_reply

        message, history, after = _split(messages)
        plan = plan_reply(message, history)
        rounds = _rounds(after)
        if plan.calls and rounds == 0:
            yield from _requests(plan.calls, 1)
            return
        results = _tool_results(after)
        if rounds == 1 and tools and (more := follow_on_calls(plan, results)):
            yield from _requests(more, 2)
            return
        answer = compose_answer(plan, results)
        if not any(turn["role"] == "assistant" for turn in history):
            answer = f"{offline_notice()}\n\n{answer}"  # once per conversation: its first reply
        for index, piece in enumerate(chunk_text(answer)):
            if index and self.pace:
                gevent.sleep(self.pace)
            yield piece
