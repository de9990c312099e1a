"""Running the tool calls of one step concurrently, each through the MCP client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gevent.pool import Group
from gevent.queue import Queue

from app.agent.consent import DECLINED, DECLINED_FOR_MODEL, Consent
from app.agent.events import (
    AgentEvent,
    ApprovalRequested,
    ToolCallRequest,
    ToolFinished,
    ToolStarted,
)
from app.agent.mcp_client import McpClient, ToolResult
from app.metrics import TOOL_CALLS, TOOL_LATENCY

# What the model is shown of a result: enough for its answer, bounded for its context.
MAX_RESULT_CHARS = 12_000


def summarise(name: str, structured: dict[str, Any] | None) -> str:
    """A short line for the UI ("Found 14 listings") from a tool's structured result."""
    data = structured or {}
    if name == "search_listings" and "total" in data:
        return f"Found {data['total']} listings"
    if name == "get_listing" and "listing_id" in data:
        return f"Loaded listing {data['listing_id']}"
    if name in {"get_market_analysis", "get_price_trends"} and "city" in data:
        return f"Analyzed {data['city']}, {data.get('state', '')}".rstrip(", ")
    if name == "compare_markets" and "markets" in data:
        return f"Compared {len(data['markets'])} markets"
    if name in {"get_listing_metrics", "generate_performance_report"}:
        count = len(data.get("metrics") or data.get("listings") or [])
        return f"Measured {count} listings"
    if name == "estimate_mortgage" and "monthly_payment" in data:
        return f"Monthly payment ${data['monthly_payment']:,.2f}"
    if name == "send_listing_report" and "recipient" in data:
        return f"Report sent to {data['recipient']}"
    return "Done"


def model_text(result: ToolResult) -> str:
    text = json.dumps(result.structured) if result.structured is not None else result.text
    if not result.ok:
        text = f"Error: {result.text}"
    return text[:MAX_RESULT_CHARS]


class Toolbox:
    """The tools one user's reply may call, with that user's identity on every call."""

    def __init__(
        self,
        client: McpClient,
        user_id: str,
        request_id: str | None = None,
        consent: Consent | None = None,
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.request_id = request_id
        self.consent = consent  # None: every call runs (no one to ask, e.g. a unit test)

    def needs_consent(self, name: str) -> bool:
        """A tool the services offer that is not known to only read may act outside the app
        (6.3): it runs only with the user's approval. A name no service offers, even after
        asking them again (one may have been away), fails as unavailable without asking."""
        if self.client.service_of(name) is None:
            self.client.tools(self.user_id)
        return self.client.service_of(name) is not None and not self.is_read_only(name)

    def _declined(self, request: ToolCallRequest, reason: str) -> ToolFinished:
        detail = DECLINED_FOR_MODEL if reason == DECLINED else f"{DECLINED_FOR_MODEL} {reason}"
        return ToolFinished(request.call_id, request.name, 0, error=DECLINED, result=detail)

    def specs(self) -> Sequence[dict[str, Any]]:
        return self.client.openai_specs(self.user_id)

    def is_read_only(self, name: str) -> bool:
        """Whether `name` only reads (MCP `readOnlyHint: true`): a tool that does not say so
        runs only with the user's approval (CONTRACT.md 6.3). Unknown tools are not read-only."""
        if self.client.service_of(name) is None:
            self.client.tools(self.user_id)
        return self.client.is_read_only(name)

    def _label(self, name: str) -> str:
        """The metric label of a tool the model named: a tool the services offer, else
        "unknown" (the model may make names up, and each would be a new series)."""
        return name if self.client.service_of(name) is not None else "unknown"

    def _consented_call(
        self, request: ToolCallRequest, announce: Callable[[ApprovalRequested], None]
    ) -> ToolFinished:
        """The call, once the user agreed to it if it needs their consent."""
        if self.consent is not None and self.needs_consent(request.name):
            refusal = self.consent.decide(request, announce)
            if refusal is not None:
                return self._declined(request, refusal)
        return self._call(request)

    def _call(self, request: ToolCallRequest) -> ToolFinished:
        started = time.monotonic()
        if request.arguments is None:
            result = ToolResult(False, "the arguments were not valid JSON")
        else:
            result = self.client.call(
                self.user_id, request.name, request.arguments, self.request_id
            )
        elapsed = time.monotonic() - started
        tool = self._label(request.name)
        TOOL_CALLS.labels(tool=tool, outcome="ok" if result.ok else "error").inc()
        TOOL_LATENCY.labels(tool=tool).observe(elapsed)
        return ToolFinished(
            call_id=request.call_id,
            name=request.name,
            duration_ms=round(elapsed * 1000),
            summary=summarise(request.name, result.structured) if result.ok else "",
            error=None if result.ok else result.text,
            result=model_text(result),
            structured=result.structured,
        )

    def run(self, requests: list[ToolCallRequest]) -> Iterator[AgentEvent]:
        """`started` for every call at once, then `completed`/`failed` as each one ends (and an
        approval request from any call that waits for the user's consent)."""
        for request in requests:
            yield ToolStarted(request.call_id, request.name, request.arguments or {})
        done: Queue[ToolFinished | ApprovalRequested] = Queue()
        group = Group()
        for request in requests:
            group.spawn(lambda r=request: done.put(self._consented_call(r, done.put)))
        try:
            finished = 0
            while finished < len(requests):
                event = done.get()
                finished += isinstance(event, ToolFinished)
                yield event
        finally:
            group.kill()  # a cancelled reply leaves no tool call running
