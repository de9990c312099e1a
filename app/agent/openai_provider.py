"""The LLM provider: any OpenAI-compatible endpoint through the `openai` SDK, streaming."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai

from app.agent.errors import TruncatedStream
from app.agent.events import ToolCallRequest

StepItem = str | ToolCallRequest


class OpenAIProvider:
    """One model step: stream the text as it comes, then the tool calls it asked for.

    The stream is used as a context manager, so whatever ends the step early (a cancel that
    kills the greenlet, a timeout) closes the upstream HTTP response.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        model: str,
        timeout: float,
        max_retries: int = 2,
    ) -> None:
        self.model = model
        self.label = model
        self.client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=httpx2.Timeout(timeout, connect=10.0),
            max_retries=max_retries,
        )

    def step(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> Iterator[StepItem]:
        request: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True}
        if tools:
            request["tools"] = tools
        calls: dict[int, dict[str, str]] = {}
        finished = False
        with self.client.chat.completions.create(**request) as stream:
            for chunk in stream:
                if not chunk.choices:
                    continue
                finished = finished or chunk.choices[0].finish_reason is not None
                delta = chunk.choices[0].delta
                if delta.content:
                    yield delta.content
                for call in delta.tool_calls or ():
                    slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                    if call.id:
                        slot["id"] = call.id
                    if call.function is not None:
                        slot["name"] += call.function.name or ""
                        slot["arguments"] += call.function.arguments or ""
        if not finished:  # the SDK ends quietly when a stream stops short of [DONE]
            raise TruncatedStream()
        for index in sorted(calls):
            slot = calls[index]
            yield ToolCallRequest(
                call_id=slot["id"] or f"call_{index}",
                name=slot["name"],
                arguments=_parse_arguments(slot["arguments"]),
                raw_arguments=slot["arguments"],
            )


def _parse_arguments(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
