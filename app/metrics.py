"""The main app's Prometheus metrics: defined once here, updated where things happen.

Every label value comes from a fixed set (`fixed_label`), never straight from a request or a
model, so no caller can grow the number of series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Flask, Response, request
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REPLY_STATUSES = frozenset({"completed", "cancelled", "failed", "timeout", "interrupted"})
"""How a reply can end (the runner's statuses)."""
ERROR_CODES = frozenset(
    {
        "llm_timeout",
        "llm_auth",
        "llm_rate_limited",
        "llm_server_error",
        "llm_bad_request",
        "llm_network",
        "internal_error",
        "stream_unavailable",
        "generation_lost",
        "shutting_down",
        "timeout",
    }
)
"""The `error` codes that end a reply (app.agent.errors.classify and the runner)."""


def fixed_label(value: str, known: frozenset[str], other: str = "other") -> str:
    """`value` if it is one of `known`, else `other`: a label no input can add values to."""
    return value if value in known else other


REPLIES = Counter("estate_replies_total", "Replies finished, by final status.", ["status"])
TTFT = Histogram(
    "estate_reply_ttft_seconds",
    "Time from the start of a reply to its first content.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
REPLY_DURATION = Histogram(
    "estate_reply_duration_seconds",
    "Duration of a reply, start to done.",
    buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128),
)
TOOL_CALLS = Counter(
    "estate_tool_calls_total", "Tool calls, by tool and outcome.", ["tool", "outcome"]
)
TOOL_LATENCY = Histogram(
    "estate_tool_call_seconds",
    "Tool call latency through MCP, token minting included.",
    ["tool"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LLM_ERRORS = Counter("estate_llm_errors_total", "Errors that ended a reply, by code.", ["code"])
LOGIN_FAILURES = Counter("estate_login_failures_total", "Failed logins (wrong email or password).")
RATE_LIMITED = Counter(
    "estate_rate_limited_total", "Requests refused with 429, by endpoint.", ["endpoint"]
)


def init_rate_limited_count(app: Flask) -> None:
    """Count every 429 the app answers (rate limits, too many streams), by endpoint."""

    @app.after_request
    def _count(response: Response) -> Response:
        if response.status_code == 429:
            RATE_LIMITED.labels(endpoint=request.endpoint or "unknown").inc()
        return response


class BrokerCollector(Collector):
    """Active streams and connected readers, read from the broker at scrape time.

    Asking the broker (not counting in this process) keeps the figures right across workers
    and hosts when the broker is Redis.
    """

    def __init__(self, stats: Callable[[], dict[str, int]]) -> None:
        self.stats = stats  # the broker's `stats`: this module imports nothing of app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.stats()
        yield GaugeMetricFamily(
            "estate_active_streams", "Replies being generated now.", value=stats["active_streams"]
        )
        yield GaugeMetricFamily(
            "estate_connected_clients",
            "Clients reading a stream now.",
            value=stats["connected_clients"],
        )
