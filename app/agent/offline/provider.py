"""The offline assistant as a provider behind the same loop as an LLM.

Step one reads the conversation and asks for tool calls, exactly as a model would; the loop
runs them through the same MCP client with the same tokens and `tool` events. Step two reads
the tool results from the `role: "tool"` messages and streams an answer written from them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

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


class OfflineProvider:
    label = LABEL

    def step(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> Iterator[str | ToolCallRequest]:
        from app.agent.offline.compose import chunk_text, compose_answer, offline_notice
        from app.agent.offline.plan import plan_reply

        message, history, after = _split(messages)
        plan = plan_reply(message, history)
        if plan.calls and not after:
            for index, call in enumerate(plan.calls, start=1):
                yield ToolCallRequest(
                    call_id=f"offline_{index}",
                    name=call.name,
                    arguments=call.arguments,
                    raw_arguments=json.dumps(call.arguments),
                )
            return
        answer = compose_answer(plan, _tool_results(after))
        if not any(turn["role"] == "assistant" for turn in history):
            answer = f"{offline_notice()}\n\n{answer}"  # once per conversation: its first reply
        yield from chunk_text(answer)
