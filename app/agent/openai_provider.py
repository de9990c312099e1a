"""The LLM provider: any OpenAI-compatible endpoint through the `openai` SDK, streaming.

The SDK makes the request (auth, retries, status errors), but the event stream is read here:
the SDK's own iterator builds a pydantic object per chunk, which measured about 300 µs of the
worker's CPU per chunk and was the largest single cost of a streamed reply (see bench/). Parsing
the chunk JSON directly, with orjson, costs under 2 µs (json.loads: 6.6 µs) and gives the same
deltas. The request's body is encoded here too (`_body`), and sent through the SDK's client.

The bytes come through the SDK's httpx client on a lean transport (app/agent/lean_http.py):
httpcore and h11 took another third of the worker's CPU per chunk.

Deltas that come in one network chunk are joined into one text item. Coalescing over a time
window needs a flush timer and belongs where events are published (app/chat/events.py), not
here. The stream asks for the model's token usage (`stream_options.include_usage`), which comes
as a last chunk without choices; the step yields it as a `Usage`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import httpx2
import openai
import orjson

from app.agent.errors import TruncatedStream
from app.agent.events import ToolCallRequest, Usage
from app.agent.lean_http import lean_client

StepItem = str | ToolCallRequest | Usage
# As the SDK encodes a body (openapi_dumps): UTF-8, compact, no NaN.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class OpenAIProvider:
    """One model step: stream the text as it comes, then the tool calls it asked for.

    The response is used as a context manager, so whatever ends the step early (a cancel that
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
        timeouts = httpx2.Timeout(timeout, connect=10.0)
        self.client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeouts,
            max_retries=max_retries,
            http_client=lean_client(timeouts),
        )
        self._tools: tuple[Sequence[dict[str, Any]], str] = ((), "")  # the last specs, encoded

    def step(
        self, messages: list[dict[str, Any]], tools: Sequence[dict[str, Any]]
    ) -> Iterator[StepItem]:
        chunks = ChunkReader()
        # `cast_to=httpx2.Response` has the SDK hand back the response itself, unread (an
        # `openai.Stream` would hold it in a reference cycle until the garbage collector ran:
        # bench/ saw its memory per stream grow by half).
        http = self.client.post(
            "/chat/completions",
            cast_to=httpx2.Response,
            content=self._body(messages, tools),
            stream=True,
        )
        with contextlib.closing(http):
            # An uncompressed body (an event stream always is, in practice) is read from the
            # transport's stream itself, past httpx's decoder and re-chunker generators.
            plain = http.headers.get("content-encoding", "identity") in ("", "identity")
            pieces = http.stream if plain and isinstance(http.stream, Iterable) else None
            try:
                for data in pieces if pieces is not None else http.iter_bytes():
                    text = chunks.feed(data)
                    if text:
                        yield text
                    if chunks.done:  # as the SDK does: waiting for the body's end can take
                        break  # a delayed-ACK round (40 ms) for nothing but a reusable socket
            except httpx2.TimeoutException as error:  # as the SDK's own iterator reports them
                raise openai.APITimeoutError(request=http.request) from error
            except httpx2.RequestError as error:
                raise openai.APIConnectionError(request=http.request) from error
            except openai.APIError as error:
                error.request = http.request
                raise
        if not chunks.finished:  # the stream stopped short of the model's finish_reason
            raise TruncatedStream()
        if chunks.completion_tokens is not None:
            yield Usage(chunks.completion_tokens)
        yield from chunks.tool_calls()

    def _body(self, messages: list[dict[str, Any]], tools: Sequence[dict[str, Any]]) -> bytes:
        """The request's JSON, encoded here rather than by the SDK, whose `create` walks every
        argument through a typed-dict transform and encodes the tool specs (12 KB) on every
        step: a step cost 2.25 ms of CPU through `create`, 1.26 ms through `post` with this body
        (bench/). The specs are encoded once, while the toolbox hands out the same tuple."""
        fields = [
            f'"model":{_ENCODE(self.model)}',
            '"stream":true,"stream_options":{"include_usage":true}',
            f'"messages":{_ENCODE(messages)}',
        ]
        if tools:
            if tools is not self._tools[0]:
                self._tools = (tools, _ENCODE(tools))
            fields.append(f'"tools":{self._tools[1]}')
        return ("{" + ",".join(fields) + "}").encode()


class ChunkReader:
    """Parses `chat.completion.chunk` events from the raw SSE bytes, as they arrive.

    `feed()` takes whatever bytes a read returned and gives back the content of every event
    completed by them, joined; tool-call fragments are assembled on the side.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.finished = False  # a chunk carried a finish_reason
        self.done = False  # `data: [DONE]` was read: the step's stream is over
        self.calls: dict[int, dict[str, str]] = {}
        self.completion_tokens: int | None = None  # the model's usage, when it gives it

    def feed(self, data: bytes) -> str:
        if self.done:
            return ""
        buffer = self.buffer + data if self.buffer else data
        if b"\r" in buffer:  # SSE allows CRLF and CR line ends; OpenAI sends LF
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *events, self.buffer = buffer.split(b"\n\n")
        texts = ""  # usually one event a read: no list to join
        for event in events:
            if event.startswith(b"data: ") and b"\n" not in event:  # the usual one-line event
                payload: bytes | None = event[6:]
            else:
                payload = _data_of(event)
                if payload is None:
                    continue
            if payload == b"[DONE]":
                self.done = True
                break
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                raise openai.APIError(
                    message="the model sent a chunk that is not JSON",
                    request=None,  # type: ignore[arg-type]  # set by the caller
                    body=None,
                ) from None
            texts += self._chunk(chunk)
        return texts

    def _chunk(self, chunk: Any) -> str:
        if not isinstance(chunk, dict):
            return ""
        if chunk.get("error"):  # an error reported inside the stream, as the SDK raises it
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else None
            raise openai.APIError(
                message=message if isinstance(message, str) and message else "stream error",
                request=None,  # type: ignore[arg-type]  # set by the caller
                body=error,
            )
        usage = chunk.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            self.completion_tokens = usage["completion_tokens"]
        choices = chunk.get("choices")
        if not choices:
            return ""
        choice = choices[0]
        if choice.get("finish_reason") is not None:
            self.finished = True
        delta = choice.get("delta") or {}
        for call in delta.get("tool_calls") or ():
            slot = self.calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
            if call.get("id"):
                slot["id"] = call["id"]
            function = call.get("function")
            if function:
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
        return delta.get("content") or ""

    def tool_calls(self) -> Iterator[ToolCallRequest]:
        for index in sorted(self.calls):
            slot = self.calls[index]
            yield ToolCallRequest(
                call_id=slot["id"] or f"call_{index}",
                name=slot["name"],
                arguments=_parse_arguments(slot["arguments"]),
                raw_arguments=slot["arguments"],
            )


def _data_of(event: bytes) -> bytes | None:
    """The `data` of one SSE event (several data lines join with a newline); None if none."""
    lines = [line for line in event.split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return None  # a comment, or only `event:`/`id:`/`retry:` fields
    return b"\n".join(line[6:] if line.startswith(b"data: ") else line[5:] for line in lines)


def _parse_arguments(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
