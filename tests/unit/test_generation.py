"""One reply's generation under the runner, on the in-process broker: the events a client
reads, and what is stored, however the reply ends."""

from __future__ import annotations

from collections.abc import Iterator

import gevent
import pytest
from flask import Flask
from gevent.event import Event as Flag

from app.agent.events import AgentError, AgentEvent, ContentDelta, ToolFinished, ToolStarted
from app.chat.generation import Generation
from app.chat.runner import GENERATION_LOST, Runner
from app.chat.transcript import Outcome, ReplyInfo
from app.streaming.broker import BrokerError
from app.streaming.memory import MemoryBroker
from app.streaming.sse import Event

INFO = ReplyInfo("s1", "u1", "c1", "m1")


@pytest.fixture
def broker() -> MemoryBroker:
    return MemoryBroker(replay_ttl=60)


@pytest.fixture
def stored() -> list[Outcome]:
    return []


def make_runner(broker: MemoryBroker, stored: list[Outcome], timeout: float = 60) -> Runner:
    app = Flask(__name__)
    app.config.update(SSE_TIMEOUT=timeout, SSE_DETACH_GRACE=60)
    return Runner(app, broker, stored.append)


def run_to_end(runner: Runner, agent: Iterator[AgentEvent]) -> list[Event]:
    runner.start(INFO, lambda: agent)
    generation = runner.local[INFO.stream_id]
    assert generation.greenlet is not None
    generation.greenlet.join(timeout=5)
    events = runner.broker.read(INFO.stream_id, 0, timeout=0)
    assert events is not None
    return events


def test_a_reply_streams_start_thinking_tools_content_then_done_and_is_stored(
    broker: MemoryBroker, stored: list[Outcome]
) -> None:
    def agent() -> Iterator[AgentEvent]:
        yield ToolStarted("call_1", "search_listings", {"city": "Austin"})
        yield ToolFinished("call_1", "search_listings", 12, summary="Found 3 listings")
        yield ContentDelta("Three ")
        yield ContentDelta("homes.")

    events = run_to_end(make_runner(broker, stored), agent())

    assert [e.name for e in events] == [
        "start",
        "thinking",
        "tool",
        "tool",
        "content",
        "content",
        "done",
    ]
    assert events[0].data == {"stream_id": "s1", "conversation_id": "c1", "message_id": "m1"}
    assert events[2].data == {
        "call_id": "call_1",
        "name": "search_listings",
        "status": "started",
        "arguments": {"city": "Austin"},
    }
    assert events[3].data == {
        "call_id": "call_1",
        "name": "search_listings",
        "status": "completed",
        "duration_ms": 12,
        "summary": "Found 3 listings",
    }
    done = events[-1].data
    assert (done["status"], done["conversation_id"], done["message_id"]) == (
        "completed",
        "c1",
        "m1",
    )
    assert done["metrics"]["chunks"] == 2
    assert broker.progress(INFO.stream_id) == (7, True)
    [outcome] = stored
    assert (outcome.status, outcome.text, outcome.error) == ("completed", "Three homes.", None)
    assert outcome.tool_calls == [
        {
            "call_id": "call_1",
            "name": "search_listings",
            "arguments": {"city": "Austin"},
            "status": "completed",
            "duration_ms": 12,
            "summary": "Found 3 listings",
        }
    ]


def test_an_agent_error_ends_the_stream_with_error_then_done_failed(
    broker: MemoryBroker, stored: list[Outcome]
) -> None:
    def agent() -> Iterator[AgentEvent]:
        yield ContentDelta("Partial")
        yield AgentError("llm_timeout", "The language model took too long to answer.", True)

    events = run_to_end(make_runner(broker, stored), agent())

    assert [e.name for e in events][-2:] == ["error", "done"]
    assert events[-2].data == {
        "code": "llm_timeout",
        "message": "The language model took too long to answer.",
        "retryable": True,
    }
    assert events[-1].data["status"] == "failed"
    assert (stored[0].status, stored[0].text) == ("failed", "Partial")


def test_cancel_stops_the_agent_and_stores_the_partial_reply(
    broker: MemoryBroker, stored: list[Outcome]
) -> None:
    runner = make_runner(broker, stored)
    waiting = Flag()

    def agent() -> Iterator[AgentEvent]:
        yield ToolStarted("call_1", "get_listing", {"listing_id": "L1"})
        yield ContentDelta("So far")
        waiting.set()
        Flag().wait()  # an upstream that never answers again
        yield ContentDelta("never")

    runner.start(INFO, agent)
    waiting.wait(timeout=5)
    runner.cancel(INFO.stream_id)
    runner.local[INFO.stream_id].greenlet.join(timeout=5)  # type: ignore[union-attr]

    events = broker.read(INFO.stream_id, 0, timeout=0) or []
    assert [e.name for e in events][-1] == "done"
    assert events[-1].data["status"] == "cancelled"
    [outcome] = stored
    assert (outcome.status, outcome.text) == ("cancelled", "So far")
    assert outcome.tool_calls[0]["status"] == "cancelled"


def test_a_reply_past_the_timeout_is_stopped_with_a_timeout_error(
    broker: MemoryBroker, stored: list[Outcome]
) -> None:
    def agent() -> Iterator[AgentEvent]:
        yield ContentDelta("Slow")
        Flag().wait()
        yield ContentDelta("never")

    events = run_to_end(make_runner(broker, stored, timeout=0), agent())

    assert [(e.name, e.data.get("code") or e.data.get("status")) for e in events[-2:]] == [
        ("error", "timeout"),
        ("done", "timeout"),
    ]
    assert (stored[0].status, stored[0].text) == ("timeout", "Slow")


def generation(broker: MemoryBroker, timeout: float = 60, grace: float = 30) -> Generation:
    made = Generation(INFO, broker, timeout=timeout, detach_grace=grace)
    made.working = True  # as while the agent loop runs
    return made


def test_a_reply_nobody_reads_for_the_detach_grace_is_interrupted(broker: MemoryBroker) -> None:
    watched = generation(broker, grace=30)
    start = watched.transcript.started
    watched.check(start + 1, readers=0)
    watched.check(start + 20, readers=1)  # a reader came back: the grace starts over
    watched.check(start + 25, readers=0)
    watched.check(start + 54, readers=0)
    assert watched.stop_reason is None
    watched.check(start + 55, readers=0)
    assert watched.stop_reason == "interrupted"
    assert watched.outcome(watched.stop_reason).done_status == "cancelled"


def test_the_first_stop_reason_counts(broker: MemoryBroker) -> None:
    watched = generation(broker, timeout=10)
    watched.check(watched.transcript.started + 10, readers=1)
    watched.stop("cancelled")
    assert watched.stop_reason == "timeout"


def test_a_stream_closed_under_its_producer_stops_it_as_undeliverable(
    broker: MemoryBroker,
) -> None:
    watched = generation(broker)
    watched.check(watched.transcript.started + 1, readers=None)
    assert watched.stop_reason == "undeliverable"
    assert watched.error is not None and watched.error.code == "stream_unavailable"


def test_a_broker_that_refuses_events_stops_the_reply_and_it_is_still_stored(
    stored: list[Outcome],
) -> None:
    class Refusing(MemoryBroker):
        def publish_encoded(self, stream_id: str, name: str, payload: str) -> int:
            if name == "content":
                raise BrokerError("redis: connection refused")
            return super().publish_encoded(stream_id, name, payload)

    broker = Refusing(replay_ttl=60)

    def agent() -> Iterator[AgentEvent]:
        yield ContentDelta("lost")
        yield ContentDelta("also lost")

    run_to_end(make_runner(broker, stored), agent())
    [outcome] = stored
    assert (outcome.status, outcome.error and outcome.error.code) == (
        "failed",
        "stream_unavailable",
    )


def test_a_lost_stream_is_closed_from_its_events_and_stored_as_lost(
    broker: MemoryBroker, stored: list[Outcome]
) -> None:
    runner = make_runner(broker, stored)
    broker.create(INFO.stream())
    broker.publish("s1", "start", {})
    broker.publish("s1", "tool", {"call_id": "c", "name": "get_listing", "status": "started"})
    broker.publish("s1", "content", {"chunk": "Half an "})
    broker.publish("s1", "content", {"chunk": "answer"})
    published = broker.read("s1", 0, timeout=0) or []

    runner.close_lost(INFO.stream(), published, age_s=12.0)

    events = broker.read("s1", 4, timeout=0) or []
    assert [e.name for e in events] == ["error", "done"]
    assert events[0].data["code"] == GENERATION_LOST.code
    assert events[1].data["status"] == "failed"
    [outcome] = stored
    assert (outcome.status, outcome.text, outcome.error) == (
        "failed",
        "Half an answer",
        GENERATION_LOST,
    )
    assert outcome.tool_calls[0]["status"] == "cancelled"
    assert outcome.metrics["ttft_ms"] is None
    assert outcome.metrics["duration_ms"] >= 12_000


def test_shutdown_ends_a_running_reply_with_shutting_down(
    broker: MemoryBroker, stored: list[Outcome]
) -> None:
    runner = make_runner(broker, stored)
    waiting = Flag()

    def agent() -> Iterator[AgentEvent]:
        yield ContentDelta("Before the restart")
        waiting.set()
        Flag().wait()
        yield ContentDelta("never")

    runner.start(INFO, agent)
    waiting.wait(timeout=5)
    gevent.spawn(runner.shutdown, 5).join(timeout=5)

    events = broker.read(INFO.stream_id, 0, timeout=0) or []
    assert events[-2].data["code"] == "shutting_down"
    assert events[-1].data["status"] == "failed"
    assert (stored[0].status, stored[0].text) == ("failed", "Before the restart")
    assert not runner.local
