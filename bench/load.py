# ruff: noqa: E402  (the gevent monkey-patch below must run before the other imports)
"""The benchmark's load client: a gevent process of its own, with its own connections.

It speaks just enough HTTP/1.1 over raw sockets (keep-alive, chunked bodies) to hold hundreds of
event streams open without becoming the bottleneck itself: a parser per byte in Python would
cost more than the server under test. It is driven by `bench/__main__.py`, which reads its
stdout: `MARK <name>` lines when the measured window opens and closes (the orchestrator samples
the server's CPU and memory there), then one `RESULT <json>` line.

Modes:
- `streams`: `--streams` clients, started evenly over `--ramp` seconds, each opening one stream
  after another for `--ramp + --duration` seconds. Statistics come from the streams started
  inside the measured window, when the concurrency has reached its level. With
  `--cancel-probes K`, K extra streams are cancelled during the window (full stack only).
- `mcp`: `tools/call` round trips straight to the MCP services, one after another.
"""

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import gevent

IO_TIMEOUT = 60.0


class HttpError(Exception):
    """A request that did not get a usable response."""


class Connection:
    """One keep-alive HTTP/1.1 connection, reconnected when the server closed it."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.reusable = False

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer, self.reusable = None, b"", False

    def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str]]:
        """Send a request and read the response head; the body is read with `body_chunks`."""
        for attempt in (1, 2):
            fresh = self.sock is None or not self.reusable
            if fresh:
                self.close()
                self.sock = socket.create_connection((self.host, self.port), timeout=IO_TIMEOUT)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            lines.append(f"Content-Length: {len(body)}")
            try:
                self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
                return self._read_head()
            except (OSError, HttpError):
                self.close()  # a keep-alive connection the server had closed: retry once
                if fresh or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise HttpError("connection closed")
        self.buffer += data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _read_head(self) -> tuple[int, dict[str, str]]:
        status = int(self._line().split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while line := self._line():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.headers = headers
        return status, headers

    def body_chunks(self) -> Iterator[bytes]:
        """The body as it arrives: one item per HTTP chunk (one server write)."""
        headers = self.headers
        self.reusable = headers.get("connection", "").lower() != "close"
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    self._line()
                    return
                while len(self.buffer) < size + 2:
                    self._fill()
                data, self.buffer = self.buffer[:size], self.buffer[size + 2 :]
                yield data
        elif "content-length" in headers:
            length = int(headers["content-length"])
            while len(self.buffer) < length:
                self._fill()
            data, self.buffer = self.buffer[:length], self.buffer[length:]
            yield data
        else:  # read to close
            self.reusable = False
            while True:
                if self.buffer:
                    data, self.buffer = self.buffer, b""
                    yield data
                try:
                    self._fill()
                except HttpError:
                    return

    def read_body(self) -> bytes:
        return b"".join(self.body_chunks())


@dataclass
class StreamRecord:
    """What one client saw of one stream; times are seconds since the request was sent."""

    began: float  # since the run started
    ok: bool = False
    status: str = ""
    error: str = ""
    first_byte: float | None = None
    start: float | None = None
    first_content: float | None = None
    gaps: list[float] = field(default_factory=list)
    events: int = 0
    words: int = 0
    cancel_latency: float | None = None


class Counters:
    """Content received while the measured window is open (for CPU per event)."""

    def __init__(self) -> None:
        self.open = False
        self.events = 0
        self.words = 0


def read_stream(
    conn: Connection,
    record: StreamRecord,
    sent: float,
    counters: Counters,
    on_content: Any = None,
) -> dict[str, Any]:
    """Follow an SSE body to its `done`; returns the `start` event's data (if any)."""
    start_data: dict[str, Any] = {}
    text = ""
    last_content: float | None = None
    for data in conn.body_chunks():
        now = time.perf_counter()
        if record.first_byte is None:
            record.first_byte = now - sent
        text += data.decode()
        while "\n\n" in text:
            block, text = text.split("\n\n", 1)
            name, payload = "", ""
            for line in block.split("\n"):
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    payload = line[6:]
            if name == "content":
                words = payload.count("word")
                record.events += 1
                record.words += words
                if counters.open:
                    counters.events += 1
                    counters.words += words
                if last_content is None:
                    record.first_content = now - sent
                else:
                    record.gaps.append(now - last_content)
                last_content = now
                if on_content is not None:
                    on_content(record.events)
            elif name == "start":
                record.start = now - sent
                start_data = json.loads(payload)
            elif name == "error":
                record.error = json.loads(payload).get("code", "error")
            elif name == "done":
                record.status = json.loads(payload).get("status", "")
                record.ok = record.status == "completed" and not record.error
    if not record.status:
        record.error = record.error or "no done event"
    return start_data


class StreamLoad:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if args.token:
            self.headers["Authorization"] = f"Bearer {args.token}"
        self.body = json.dumps({"message": args.message}).encode()
        self.records: list[StreamRecord] = []
        self.cancels: list[StreamRecord] = []
        self.counters = Counters()
        self.t0 = 0.0

    def one_stream(self, conn: Connection, record: StreamRecord) -> None:
        sent = time.perf_counter()
        try:
            status, _ = conn.request("POST", self.args.path, self.headers, self.body)
            if status != 200:
                record.error = f"http {status}"
                conn.read_body()
                return
            read_stream(conn, record, sent, self.counters)
        except (OSError, HttpError, ValueError) as error:
            record.error = f"{type(error).__name__}: {error}"
            conn.close()

    def client(self, index: int) -> None:
        args = self.args
        gevent.sleep(index * args.ramp / args.streams)
        conn = Connection(args.url)
        while time.perf_counter() < self.t0 + args.ramp + args.duration:
            record = StreamRecord(began=time.perf_counter() - self.t0)
            self.records.append(record)
            self.one_stream(conn, record)
        conn.close()

    def cancel_probe(self, delay: float) -> None:
        """A stream cancelled after its third content event: time from POST to `done`."""
        gevent.sleep(delay)
        conn = Connection(self.args.url)
        record = StreamRecord(began=time.perf_counter() - self.t0)
        cancel_sent: list[float] = []
        sent = time.perf_counter()
        try:
            status, _ = conn.request("POST", self.args.path, self.headers, self.body)
            if status != 200:
                record.error = f"http {status}"
                return
            stream_id = conn.headers.get("x-stream-id", "")

            def fire(count: int) -> None:
                if count == 3:
                    cancel_sent.append(time.perf_counter())
                    gevent.spawn(self._post_cancel, stream_id, record)

            read_stream(conn, record, sent, Counters(), fire)
            if cancel_sent:
                record.cancel_latency = time.perf_counter() - cancel_sent[0]
        except (OSError, HttpError, ValueError) as error:
            record.error = f"{type(error).__name__}: {error}"
        finally:
            conn.close()
            self.cancels.append(record)

    def _post_cancel(self, stream_id: str, record: StreamRecord) -> None:
        conn = Connection(self.args.url)
        try:
            status, _ = conn.request(
                "POST", f"/agents/streams/{stream_id}/cancel", self.headers, b"{}"
            )
            conn.read_body()
            if status != 202:
                record.error = f"cancel http {status}"
        except (OSError, HttpError) as error:
            record.error = f"cancel {type(error).__name__}"
        finally:
            conn.close()

    def window(self) -> None:
        args = self.args
        gevent.sleep(max(0.0, self.t0 + args.ramp - time.perf_counter()))
        self.counters.open = True
        mark("window-open")
        gevent.sleep(max(0.0, self.t0 + args.ramp + args.duration - time.perf_counter()))
        self.counters.open = False
        mark("window-closed")

    def run(self) -> dict[str, Any]:
        args = self.args
        self.t0 = time.perf_counter()
        greenlets = [gevent.spawn(self.client, i) for i in range(args.streams)]
        greenlets.append(gevent.spawn(self.window))
        for k in range(args.cancel_probes):
            delay = args.ramp + (k + 0.5) * args.duration / args.cancel_probes
            greenlets.append(gevent.spawn(self.cancel_probe, delay))
        # A stream that never ends must not hang the benchmark: past the deadline, whatever is
        # still open is closed and counted as failed.
        deadline = args.ramp + args.duration + args.grace
        gevent.joinall(greenlets, timeout=max(0.0, self.t0 + deadline - time.perf_counter()))
        gevent.killall([g for g in greenlets if not g.dead], block=True)
        for record in self.records + self.cancels:
            if not record.status and not record.error:
                record.error = f"not done within {deadline:g} s"
        measured = [r for r in self.records if args.ramp <= r.began < args.ramp + args.duration]
        return {
            "window_events": self.counters.events,
            "window_words": self.counters.words,
            "streams": [asdict(r) for r in measured],
            "all_streams": len(self.records),
            "all_failed": sum(1 for r in self.records if not r.ok),
            "failures": sorted({r.error or r.status for r in self.records if not r.ok})[:10],
            "cancels": [asdict(r) for r in self.cancels],
        }


def mcp_calls(args: argparse.Namespace) -> dict[str, Any]:
    """Sequential `tools/call` round trips to each service; latencies in seconds."""
    calls = {
        "listings": ("search_listings", {"city": "Portland", "limit": 5}),
        "analytics": ("get_market_analysis", {"city": "Seattle"}),
    }
    results: dict[str, Any] = {}
    for service, url, token in zip(
        ("listings", "analytics"), args.mcp_urls.split(","), args.mcp_tokens.split(","), strict=True
    ):
        name, arguments = calls[service]
        path = urlsplit(url).path
        conn = Connection(url)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        }
        latencies, errors = [], []
        for i in range(args.calls):
            body = {
                "jsonrpc": "2.0",
                "id": i + 1,
                "method": "tools/call",
                "params": {"name": name, "arguments": arguments},
            }
            sent = time.perf_counter()
            try:
                status, _ = conn.request("POST", path, headers, json.dumps(body).encode())
                payload = conn.read_body()
                elapsed = time.perf_counter() - sent
                if status != 200 or b'"isError": true' in payload or b'"isError":true' in payload:
                    errors.append(f"http {status}: {payload[:200]!r}")
                else:
                    latencies.append(elapsed)
            except (OSError, HttpError) as error:
                errors.append(str(error))
                conn.close()
        conn.close()
        results[service] = {"tool": name, "latencies": latencies, "errors": errors[:3]}
    return results


def mark(name: str) -> None:
    sys.stdout.write(f"MARK {name}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="bench load client (driven by python -m bench)")
    parser.add_argument("mode", choices=["streams", "mcp"])
    parser.add_argument("--url", default="")
    parser.add_argument("--path", default="/agents/chat-stream")
    parser.add_argument("--token", default="")
    parser.add_argument("--message", default="Tell me about homes in Portland")
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--ramp", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--cancel-probes", type=int, default=0)
    parser.add_argument("--grace", type=float, default=120.0, help="for streams after the window")
    parser.add_argument("--mcp-urls", default="")
    parser.add_argument("--mcp-tokens", default="")
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args(argv)
    result = StreamLoad(args).run() if args.mode == "streams" else mcp_calls(args)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
