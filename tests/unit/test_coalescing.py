"""Coalescing content (CONTRACT 6.5, SSE_COALESCE_MS): the window on an explicit clock, and a
reply under the runner on the in-process broker. Order, nothing lost, the window respected,
resume ids exact; no timed assertions: the clock is passed in, or the producer never yields."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from gevent.event import Event as Flag

from app.agent.events import AgentEvent, ContentDelta, ToolFinished, ToolStarted, Usage
from app.chat.events import ContentBuffer
from app.chat.runner import Runner
from app.chat.transcript import Outcome, ReplyInfo
from app.streaming.memory import MemoryBroker
from app.streaming.sse import Event

INFO = ReplyInfo("s1", "u1", "c1", "m1")
WINDOW = 0.03


def test_the_first_chunk_of_a_reply_is_never_held() -> None:
    assert ContentBuffer(WINDOW).add("Hello", now=1000.0) == "Hello"


def test_chunks_within_the_window_are_held_and_joined_in_order() -> None:
    buffer = ContentBuffer(WINDOW)
    assert buffer.add("a", now=1000.0) == "a"
    assert buffer.add("b", now=1000.005) is None
    assert buffer.add("c", now=1000.010) is None
    assert buffer.add("d", now=1000.050) is None  # late for its window: still behind b and c
    assert buffer.take(now=1000.051) == "bcd"
    assert buffer.take(now=1000.052) is None  # nothing is sent twice


def test_no_chunk_is_due_later_than_the_window_after_it_arrived() -> None:
    buffer = ContentBuffer(WINDOW)
    buffer.add("a", now=1000.0)
    for arrival in (1000.001, 1000.029):
        buffer.take(now=arrival)  # whatever was held went out
        if buffer.add("x", now=arrival) is None:
            assert buffer.deadline <= arrival + WINDOW


def test_a_chunk_after_a_quiet_window_goes_out_at_once() -> None:
    buffer = ContentBuffer(WINDOW)
    buffer.add("a", now=1000.0)
    assert buffer.add("b", now=1000.0 + WINDOW + 0.001) == "b"


def test_a_window_of_zero_holds_nothing() -> None:
    buffer = ContentBuffer(0)
    assert [buffer.add(c, now=1000.0) for c in "abc"] == ["a", "b", "c"]


def make_runner(broker: MemoryBroker, stored: list[Outcome], coalesce_ms: int) -> Runner:
    app = Flask(__name__)
    app.config.update(SSE_TIMEOUT=60, SSE_DETACH_GRACE=60, SSE_COALESCE_MS=coalesce_ms)
    return Runner(app, broker, stored.append)


def run_to_end(runner: Runner, agent: Iterator[AgentEvent]) -> list[Event]:
    runner.start(INFO, lambda: agent)
    greenlet = runner.local[INFO.stream_id].greenlet
    assert greenlet is not None
    greenlet.join(timeout=5)
    events = runner.broker.read(INFO.stream_id, 0, timeout=0)
    assert events is not None
    return events


def words(n: int) -> list[str]:
    return [f"w{i} " for i in range(n)]


def content(events: list[Event]) -> list[str]:
    return [e.data["chunk"] for e in events if e.name == "content"]


@pytest.fixture
def broker() -> MemoryBroker:
    return MemoryBroker(replay_ttl=60)


def test_a_burst_is_sent_as_its_first_chunk_then_one_event_with_the_rest() -> None:
    broker, stored = MemoryBroker(replay_ttl=60), []
    chunks = words(50)
    events = run_to_end(make_runner(broker, stored, 10_000), (ContentDelta(c) for c in chunks))
    # The agent never yields to the hub, so all but the first chunk arrive within the window.
    assert content(events) == [chunks[0], "".join(chunks[1:])]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].name == "done"
    [outcome] = stored
    assert outcome.text == "".join(chunks)
    assert outcome.metrics["chunks"] == 50  # the model's chunks, not the events


def test_held_content_goes_out_before_a_tool_event_and_before_done(broker: MemoryBroker) -> None:
    def agent() -> Iterator[AgentEvent]:
        yield ContentDelta("Let me ")
        yield ContentDelta("look. ")
        yield ContentDelta("Searching.")
        yield ToolStarted("call_1", "search_listings", {"city": "Austin"})
        yield ToolFinished("call_1", "search_listings", 12, summary="Found 3 listings")
        yield ContentDelta("Three ")
        yield ContentDelta("homes.")

    events = run_to_end(make_runner(broker, [], 10_000), agent())
    names = [e.name for e in events]
    assert names == ["start", "thinking", "content", "content", "tool", "tool", "content", "done"]
    assert content(events) == ["Let me ", "look. Searching.", "Three homes."]


def test_held_content_is_sent_when_its_window_ends_while_the_model_is_silent(
    broker: MemoryBroker,
) -> None:
    more = Flag()

    def agent() -> Iterator[AgentEvent]:
        yield ContentDelta("a")
        yield ContentDelta("b")  # held: within the window
        more.wait()  # the model says nothing more until the held "b" has gone out
        yield ContentDelta("c")

    runner = make_runner(broker, [], 1)
    runner.start(INFO, lambda: agent())
    seen: list[str] = []
    after = 0
    while "b" not in seen:
        batch = broker.read(INFO.stream_id, after, timeout=5)
        assert batch, "the held content was never sent"
        after = batch[-1].seq
        seen += content(batch)
    more.set()
    greenlet = runner.local[INFO.stream_id].greenlet
    assert greenlet is not None
    greenlet.join(timeout=5)
    events = broker.read(INFO.stream_id, 0, timeout=0)
    assert events is not None
    assert "".join(content(events)) == "abc"


def test_resuming_after_any_id_gives_exactly_the_events_after_it(broker: MemoryBroker) -> None:
    def agent() -> Iterator[AgentEvent]:
        for i, chunk in enumerate(words(30)):
            yield ContentDelta(chunk)
            if i % 7 == 6:  # a tool call now and then flushes what is held
                yield ToolStarted(f"call_{i}", "get_listing", {"listing_id": "L1"})
                yield ToolFinished(f"call_{i}", "get_listing", 1, summary="ok")

    events = run_to_end(make_runner(broker, [], 10_000), agent())
    for event in events:
        resumed = broker.read(INFO.stream_id, event.seq, timeout=0)
        assert resumed == events[event.seq :]
    assert "".join(content(events)) == "".join(words(30))


def test_done_metrics_have_the_models_tokens_and_a_rate(broker: MemoryBroker) -> None:
    stored: list[Outcome] = []

    def agent() -> Iterator[AgentEvent]:
        yield ContentDelta("Three homes.")
        yield Usage(7)

    events = run_to_end(make_runner(broker, stored, 0), agent())
    metrics = events[-1].data["metrics"]
    assert metrics["tokens"] == 7
    # however fast the reply, the rate is taken over at least 100 ms
    assert 0 < metrics["tokens_per_s"] <= 70
    assert stored[0].metrics["tokens"] == 7


def test_without_usage_the_tokens_are_estimated_from_the_text(broker: MemoryBroker) -> None:
    text = "A three-bedroom home in Portland at $650k."
    events = run_to_end(make_runner(broker, [], 0), iter([ContentDelta(text)]))
    metrics = events[-1].data["metrics"]
    assert 0 < metrics["tokens"] < len(text)
    assert metrics["tokens_per_s"] <= metrics["tokens"] * 10
