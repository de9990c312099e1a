# ruff: noqa: E402  (the gevent monkey-patch below must run before the other imports)
"""A scripted OpenAI-compatible chat server: the only stand-in for an LLM in tests and benchmarks.

It speaks what the real `openai` SDK expects from `POST /v1/chat/completions` (SSE chunks ending
in `data: [DONE]` for `stream=True`, a plain `chat.completion` otherwise) and `GET /v1/models`.
Each request pops the next scripted `Turn`; when the script is empty the default turn is served.

    from tests.support.llm_server import ScriptedLLM, Turn

    llm = ScriptedLLM().start()               # 127.0.0.1, free port, background thread
    client = openai.OpenAI(base_url=llm.base_url, api_key="test", max_retries=0)
    llm.script(
        Turn.tool_calls([("search_listings", {"city": "Portland"}),
                         ("get_market_analysis", {"city": "Portland"})], split_into=3),
        Turn.text("Here are three homes.", chunk_words=2, delay=0.01),
    )
    ...  # drive the code under test
    assert llm.requests[1]["messages"][-1]["role"] == "tool"
    assert llm.wait_for(lambda: llm.client_closed, timeout=5)   # a cancel closed the upstream
    llm.stop()

Turns (each a plain dataclass; the constructors are the API):
- `Turn.text(text | [chunks], chunk_words=1, delay=0.0)`: content deltas, `finish_reason` "stop".
  A string is cut into chunks of `chunk_words` words (whitespace kept, so chunks join back to
  the text); `delay` seconds pass before each content chunk.
- `Turn.tool_calls([(name, args) | (name, args, id), ...], split_into=3, text='', delay=0)`:
  optional leading content, then each call's `arguments` JSON split into `split_into` pieces;
  the first delta of a call carries index, id, type and function.name; `finish_reason`
  "tool_calls". The ids are on `turn.tool_call_ids`.
- `Turn.error(status, message='', retry_after=None)`: an OpenAI-style error body; 429 gets a
  `Retry-After` header (default "1"). The SDK retries 429/5xx unless `max_retries=0`, and a
  retry pops the next turn.
- `Turn.drop_after(text, n_chunks, chunk_words=1)`: n content chunks, then the socket is shut
  down: no [DONE], no chunked terminator, so the SDK raises `APIConnectionError`.
- `Turn.stall(text, after_chunks, seconds, chunk_words=1)`: sends nothing for `seconds` after
  `after_chunks` content chunks, then carries on (`stop()` ends a stall early).

Observability: `llm.exchanges` has one `Exchange` per request (`body`, `headers`, `chunks_sent`,
`outcome`: "open", "done", "client_closed", "dropped", "error" or "stopped" by `stop()`);
`llm.requests` is the bodies; `llm.client_closed` the streams the client closed before the end
(the WSGI server calls `close()` on the iterable after a failed write: noticed at the next chunk).
`llm.wait_for(predicate, timeout)` waits on a Condition notified at every request, chunk and
outcome, and returns the predicate's last value.

As a process, for benchmarks (gevent pywsgi, monkey-patched, only the default turn):
    python -m tests.support.llm_server --port 8900 --chunks-per-second 20 --words 200
"""

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import argparse
import contextlib
import http
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger(__name__)

_NO_CACHE = ("Cache-Control", "no-cache")
_ERROR_TYPES = {401: ("invalid_request_error", "invalid_api_key"), 429: ("requests", "rate_limit")}


def _split_words(text: str, chunk_words: int) -> list[str]:
    words = re.findall(r"\s*\S+\s*", text) or [text]
    return ["".join(words[i : i + chunk_words]) for i in range(0, len(words), chunk_words)]


def _split_even(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, pieces)))
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class Turn:
    """One scripted answer; build it with the classmethods rather than by hand."""

    deltas: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"
    delay: float = 0.0
    status: int = 200
    error_body: dict[str, Any] | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop_at: int | None = None
    stall_at: int | None = None
    stall_seconds: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)  # whole, for non-streamed replies

    @property
    def tool_call_ids(self) -> list[str]:
        return [call["id"] for call in self.calls]

    @classmethod
    def text(cls, text: str | list[str], chunk_words: int = 1, delay: float = 0.0) -> "Turn":
        chunks = _split_words(text, chunk_words) if isinstance(text, str) else list(text)
        return cls(deltas=[{"content": c} for c in chunks], delay=delay)

    @classmethod
    def tool_calls(
        cls, calls: Iterable[tuple[Any, ...]], split_into: int = 3, text: str = "", delay: float = 0
    ) -> "Turn":
        turn = cls.text(text, delay=delay) if text else cls(delay=delay)
        for index, (name, args, *rest) in enumerate(calls):
            call_id = rest[0] if rest else f"call_{uuid.uuid4().hex[:24]}"
            head = {"id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
            turn.deltas.append({"tool_calls": [{"index": index, **head}]})
            turn.calls.append({**head, "function": {"name": name, "arguments": json.dumps(args)}})
            for piece in _split_even(json.dumps(args), split_into):
                turn.deltas.append(
                    {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                )
        turn.finish_reason = "tool_calls"
        return turn

    @classmethod
    def error(cls, status: int, message: str = "", retry_after: float | None = None) -> "Turn":
        err_type, code = _ERROR_TYPES.get(status, ("server_error", None))
        body = dict(message=message or f"scripted {status}", type=err_type, param=None, code=code)
        headers = []
        if status == 429 or retry_after is not None:
            headers.append(("Retry-After", f"{1 if retry_after is None else retry_after:g}"))
        return cls(status=status, error_body={"error": body}, headers=headers)

    @classmethod
    def drop_after(cls, text: str, n_chunks: int, chunk_words: int = 1) -> "Turn":
        turn = cls.text(text, chunk_words)
        turn.drop_at = n_chunks
        return turn

    @classmethod
    def stall(cls, text: str, after_chunks: int, seconds: float, chunk_words: int = 1) -> "Turn":
        turn = cls.text(text, chunk_words)
        turn.stall_at, turn.stall_seconds = after_chunks, seconds
        return turn


def filler_turn(words: int = 20, chunks_per_second: float = 0.0) -> Turn:
    """The default reply: `words` one-word chunks, paced at `chunks_per_second` (0 = no pause)."""
    text = " ".join(f"word{i}" for i in range(1, words + 1))
    return Turn.text(text, delay=1.0 / chunks_per_second if chunks_per_second else 0.0)


@dataclass
class Exchange:
    """What the server saw of one request and how its response ended."""

    body: dict[str, Any]
    headers: dict[str, str]
    chunks_sent: int = 0
    outcome: str = "open"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ScriptedLLM:
    """A FIFO of scripted turns behind an OpenAI-compatible WSGI app (`self.wsgi_app`)."""

    def __init__(self, default: Turn | None = None, model: str = "scripted-model") -> None:
        self.default = default or filler_turn()
        self.model = model
        self.turns: deque[Turn] = deque()
        self.exchanges: list[Exchange] = []
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # --- scripting and observation -------------------------------------------------------
    def script(self, *turns: Turn) -> None:
        with self._cond:
            self.turns.extend(turns)

    def reset(self) -> None:
        """Forget the script and the recorded exchanges (for a server shared between tests)."""
        with self._cond:
            self.turns.clear()
            self.exchanges.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [e.body for e in self.exchanges]

    @property
    def client_closed(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.outcome == "client_closed"]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def _update(self, exchange: Exchange, outcome: str | None = None, sent: int = 0) -> None:
        with self._cond:
            exchange.chunks_sent += sent
            if outcome:
                exchange.outcome = outcome
            self._cond.notify_all()

    # --- running -------------------------------------------------------------------------
    def start(self) -> "ScriptedLLM":
        """Serve on 127.0.0.1 on a free port from a background thread (werkzeug, threaded)."""
        self._stopping.clear()
        self._server = make_server(
            "127.0.0.1", 0, self.wsgi_app, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"
        serve = self._server.serve_forever  # a short poll interval makes stop() quick
        self._thread = threading.Thread(target=serve, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends stalls and paced streams still running
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    # --- the WSGI app --------------------------------------------------------------------
    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method == "GET" and path == "/v1/models":
            data = [{"id": self.model, "object": "model", "created": 0, "owned_by": "scripted"}]
            return _json(start_response, 200, {"object": "list", "data": data})
        if method != "POST" or path != "/v1/chat/completions":
            return _json(start_response, 404, {"error": {"message": "not found"}})
        try:
            body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _json(start_response, 400, {"error": {"message": "body is not a JSON object"}})
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        exchange = Exchange(body=body, headers=headers)
        with self._cond:
            turn = self.turns.popleft() if self.turns else self.default
            self.exchanges.append(exchange)
            self._cond.notify_all()
        if turn.status != 200:
            self._update(exchange, "error")
            return _json(start_response, turn.status, turn.error_body or {}, turn.headers)
        if body.get("stream"):
            start_response("200 OK", [("Content-Type", "text/event-stream"), _NO_CACHE])
            return self._stream(exchange, turn, environ)
        return self._complete(exchange, turn, environ, start_response)

    def _chunk_base(self, exchange: Exchange) -> dict[str, Any]:
        model, chunk_id = exchange.body.get("model", self.model), f"chatcmpl-{uuid.uuid4().hex}"
        return dict(
            id=chunk_id, object="chat.completion.chunk", created=int(time.time()), model=model
        )

    def _stream(self, exchange: Exchange, turn: Turn, environ: dict[str, Any]) -> Iterator[bytes]:
        """Yield SSE events; GeneratorExit at a yield means the client went away."""
        base = self._chunk_base(exchange)
        try:
            started = time.monotonic()
            for i, delta in enumerate(turn.deltas):
                if i == turn.drop_at:
                    return self._drop(exchange, environ)
                if i == turn.stall_at:
                    self._stopping.wait(turn.stall_seconds)
                    started += turn.stall_seconds
                if turn.delay:  # pace against the clock so gaps do not drift
                    time.sleep(max(0.0, started + (i + 1) * turn.delay - time.monotonic()))
                if self._stopping.is_set():
                    return self._update(exchange, "stopped")
                first = {"role": "assistant", **delta} if i == 0 else delta
                yield _sse({**base, "choices": [_choice(delta=first)]})
                self._update(exchange, sent=1)
            if turn.drop_at is not None:
                return self._drop(exchange, environ)
            yield _sse({**base, "choices": [_choice(delta={}, finish_reason=turn.finish_reason)]})
            if (exchange.body.get("stream_options") or {}).get("include_usage"):
                yield _sse({**base, "choices": [], "usage": _usage(exchange.body, turn)})
            yield b"data: [DONE]\n\n"
            self._update(exchange, "done")
        except GeneratorExit:  # the server closed us after a write to a gone client failed
            self._update(exchange, "client_closed")
            raise

    def _drop(self, exchange: Exchange, environ: dict[str, Any]) -> None:
        sock = environ.get("werkzeug.socket") or environ.get("scripted_llm.socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)
        self._update(exchange, "dropped")

    def _complete(
        self,
        exchange: Exchange,
        turn: Turn,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        if turn.stall_at is not None:
            self._stopping.wait(turn.stall_seconds)
        if turn.drop_at is not None:
            start_response("200 OK", [("Content-Type", "application/json")])
            self._drop(exchange, environ)
            return []
        content = "".join(d.get("content", "") for d in turn.deltas) or None
        message = {"role": "assistant", "content": content, "tool_calls": turn.calls or None}
        choice = _choice(message=message, finish_reason=turn.finish_reason)
        body = {**self._chunk_base(exchange), "object": "chat.completion", "choices": [choice]}
        body["usage"] = _usage(exchange.body, turn)
        self._update(exchange, "done", sent=1)
        return _json(start_response, 200, body)


def _choice(**fields: Any) -> dict[str, Any]:
    return {"index": 0, "logprobs": None, "finish_reason": None, **fields}


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _usage(body: dict[str, Any], turn: Turn) -> dict[str, int]:
    prompt, completion = len(json.dumps(body.get("messages", []))) // 4, len(turn.deltas)
    usage = dict(prompt_tokens=prompt, completion_tokens=completion)
    return {**usage, "total_tokens": prompt + completion}


def _json(
    start_response: Callable[..., Any],
    status: int,
    payload: dict[str, Any],
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    data = json.dumps(payload).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers]
    start_response(f"{status} {http.HTTPStatus(status).phrase}", headers)
    return [data]


def main(argv: list[str] | None = None) -> None:
    """Serve the default turn with gevent for benchmarks (hundreds of concurrent streams)."""
    from gevent.pywsgi import WSGIHandler, WSGIServer

    class Handler(WSGIHandler):
        def get_environ(self) -> dict[str, Any]:
            env = super().get_environ()
            env["scripted_llm.socket"] = self.socket  # lets a drop turn shut the socket
            return env

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--chunks-per-second", type=float, default=20.0)
    parser.add_argument("--words", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    llm = ScriptedLLM(default=filler_turn(args.words, args.chunks_per_second))
    server = WSGIServer(
        (args.host, args.port), llm.wsgi_app, handler_class=Handler, log=None, backlog=2048
    )
    server.start()  # listening from here on: the log line tells a benchmark it can connect
    log.info("scripted LLM on http://%s:%d/v1", args.host, args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
