"""CPU per relayed chunk in the streamed path's Python, in-process, without sockets or a server.

relay-bench measures a whole worker, where a change worth a few microseconds a chunk drowns in
the machine's noise. This runs the product's path for N concurrent replies in one gevent
process: the LLM's SSE bytes through `ChunkReader` (app/agent/openai_provider.py) and
`run_agent`, a `Generation` publishing into the in-process broker, and a reader per stream
(`follow_events` and `sse_body`, app/streaming/reader.py) turning the events into SSE text, as
the response does. Each chunk ends with `gevent.sleep(0)`, where the real worker waits on the
upstream socket. Beside it runs the least such a path can be (`limit`): the same bytes split,
`json.loads`-ed and written as one SSE event each in one greenlet, as relay-bench's limit-py.

    .venv/bin/python -m bench.chunk_cost              # rounds of both, the best and the median

In the real worker the same Python costs about 3.5 times as much a chunk, for the product's
path and limit-py's alike (a larger process, and the sockets' work between chunks:
README, "Performance"), so a microsecond here is three or four in relay-bench.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

from app.agent.loop import run_agent  # noqa: E402
from app.agent.openai_provider import ChunkReader  # noqa: E402
from app.chat.events import Start, Thinking, closing  # noqa: E402
from app.chat.generation import Generation  # noqa: E402
from app.chat.transcript import ReplyInfo  # noqa: E402
from app.streaming.memory import MemoryBroker  # noqa: E402
from app.streaming.reader import follow_events, sse_body  # noqa: E402

WORDS = ["The", "home", "sits", "on", "a", "quiet", "street", "near", "the", "park", "with"]


def upstream_frames(chunks: int) -> list[bytes]:
    """What relay-bench's upstream sends for one reply, one network read per chunk."""

    def frame(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-" + "B" * 29,
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "bench",
            "system_fingerprint": "fp_bench0000",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    words = [WORDS[i % len(WORDS)] + " " for i in range(chunks)]
    return [
        frame({"role": "assistant", "content": ""}),
        *(frame({"content": word}) for word in words),
        frame({}, "stop") + b"data: [DONE]\n\n",
    ]


class ScriptedProvider:
    """The provider's reading of a streamed step (`OpenAIProvider.step`), from bytes in memory."""

    label = "bench"

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames

    def step(
        self, messages: list[dict[str, Any]], tools: Sequence[dict[str, Any]]
    ) -> Iterator[str]:
        chunks = ChunkReader()
        for data in self.frames:
            text = chunks.feed(data)
            if text:
                yield text
            gevent.sleep(0)  # the worker waits on the upstream's socket here


class NoTools:
    def specs(self) -> tuple[()]:
        return ()


def product(streams: int, frames: list[bytes]) -> int:
    """The product's path for `streams` concurrent replies; returns the SSE pieces written."""
    broker = MemoryBroker(replay_ttl=5)
    provider = ScriptedProvider(frames)
    infos = [ReplyInfo(f"s{i}", "u", "c", f"m{i}") for i in range(streams)]
    for info in infos:
        broker.create(info.stream())
    written = 0

    def generate(info: ReplyInfo) -> None:
        generation = Generation(info=info, broker=broker, timeout=300, detach_grace=30)
        generation.publish(Start(info.stream_id, info.conversation_id, info.message_id))
        generation.publish(Thinking())
        status = generation.produce(lambda: run_agent(provider, NoTools(), [], 4))  # type: ignore[arg-type]
        for event in closing(info.conversation_id, info.message_id, status):
            generation.publish(event)
        broker.finish(info.stream_id)

    def read(info: ReplyInfo) -> None:
        nonlocal written
        batches = follow_events(broker, info.stream_id, 0, 30.0, lambda after, reason: [])
        for piece in sse_body(info.stream_id, batches, 1000):
            piece.encode()  # as werkzeug does before the write
            written += 1

    readers = [gevent.spawn(read, info) for info in infos]
    gevent.joinall(readers + [gevent.spawn(generate, info) for info in infos])
    return written


def limit(streams: int, frames: list[bytes]) -> int:
    """relay-bench's limit-py, without its sockets."""
    written = 0

    def relay() -> None:
        nonlocal written
        for data in frames:
            out = []
            for line in data.split(b"\n"):
                if line[:6] != b"data: " or line[6:] == b"[DONE]":
                    continue
                content = json.loads(line[6:])["choices"][0]["delta"].get("content")
                if content:
                    out.append("event: content\ndata: " + json.dumps({"chunk": content}) + "\n\n")
            if out:
                "".join(out).encode()
                written += 1
            gevent.sleep(0)

    gevent.joinall([gevent.spawn(relay) for _ in range(streams)])
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=200, help="content chunks per reply")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    frames = upstream_frames(args.chunks)
    figures: dict[str, list[float]] = {"product": [], "limit": []}
    for _ in range(args.rounds):
        for name, path in (("product", product), ("limit", limit)):
            started = time.process_time()
            path(args.streams, frames)
            elapsed = time.process_time() - started
            figures[name].append(elapsed / (args.streams * args.chunks) * 1e6)
    for name, values in figures.items():
        rounds = ", ".join(f"{v:.1f}" for v in values)
        print(
            f"{name:8} best {min(values):5.1f}  median {statistics.median(values):5.1f} "
            f"µs/chunk  (rounds: {rounds})"
        )


if __name__ == "__main__":
    main()
