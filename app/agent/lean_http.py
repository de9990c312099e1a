"""A lean HTTP/1.1 transport under the `openai` SDK's httpx client, for streamed replies.

The SDK stays the LLM's client: it builds the request, retries, and turns statuses and network
failures into its exception classes. Only the wire below it changes. httpx's default transport
reads a streamed body through httpcore and h11, a state machine per event, a `gevent.Timeout`
per socket read and about ten layers of generators: measured with py-spy under
../shared/relay-bench, a third of the worker's CPU at 100 streams went there (README,
"Performance"). This transport writes the request and reads the response on a gevent socket
itself: the status line and headers once, then the body's chunked framing (or its length, or
up to the close) straight to bytes, one `recv` per network read. A body's read timeout is not
a timer per read (a gevent socket with a timeout starts and cancels one at every read that
waits, 5% of the worker in the profile) but one watcher greenlet per transport that looks at
every body being read four times a second and closes the socket of one that stayed silent too
long: its reader then gets httpx's ReadTimeout, as with a socket timeout.

Connections are kept per host for the next request once a body was read to its end. A request
on a kept connection that the server had meanwhile closed is sent again on a new one, as
httpcore does. Errors are httpx's own classes (ConnectError, ReadTimeout, RemoteProtocolError…),
which the SDK maps as it always has (APIConnectionError, APITimeoutError). Proxies from the
environment still apply: httpx mounts its own transports for them in front of this one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import certifi
import gevent
import httpx2
import openai
from gevent import socket, ssl

MAX_HEAD_BYTES = 64 * 1024  # status line and headers
READ_SIZE = 65536
MAX_IDLE_PER_HOST = 64
STALL_CHECK_INTERVAL = 0.25  # seconds between looks for bodies silent past their read timeout

Origin = tuple[str, str, int]  # scheme, host, port


class LeanTransport(httpx2.BaseTransport):
    """HTTP/1.1 over gevent sockets, plain or TLS, with kept connections per origin."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[socket.socket]] = {}
        self._reading: set[_Body] = set()  # bodies whose read timeout the watcher applies
        self._watcher: gevent.Greenlet | None = None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        if url.scheme not in ("http", "https"):
            raise httpx2.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        message = _head(request) + request.read()
        idle = self._idle.get(origin)
        while idle:  # a kept connection first; the server may have closed it since
            sock = idle.pop()
            try:
                return self._exchange(sock, origin, message, request, timeouts, reused=True)
            except _StaleConnection:
                continue
        sock = self._connect(origin, request, timeouts)
        return self._exchange(sock, origin, message, request, timeouts, reused=False)

    def close(self) -> None:
        for sockets in self._idle.values():
            for sock in sockets:
                sock.close()
        self._idle.clear()

    def _connect(
        self, origin: Origin, request: httpx2.Request, timeouts: dict[str, float | None]
    ) -> socket.socket:
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout=timeouts.get("connect"))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._ssl_context is None:  # gevent's, so that the handshake yields
                    self._ssl_context = ssl.create_default_context(cafile=certifi.where())
                sock = self._ssl_context.wrap_socket(sock, server_hostname=host)
        except TimeoutError as error:
            raise httpx2.ConnectTimeout(
                str(error) or "connect timed out", request=request
            ) from None
        except OSError as error:
            raise httpx2.ConnectError(str(error), request=request) from None
        return sock

    def _exchange(
        self,
        sock: socket.socket,
        origin: Origin,
        message: bytes,
        request: httpx2.Request,
        timeouts: dict[str, float | None],
        reused: bool,
    ) -> httpx2.Response:
        try:
            sock.settimeout(timeouts.get("write"))
            try:
                sock.sendall(message)
            except TimeoutError:
                raise httpx2.WriteTimeout("write timed out", request=request) from None
            except OSError as error:
                if reused:
                    raise _StaleConnection() from None
                raise httpx2.WriteError(str(error), request=request) from None
            sock.settimeout(timeouts.get("read"))
            version, status, reason, headers, rest = _read_head(sock, request, reused)
        except BaseException:
            sock.close()
            raise
        _release_body(request)
        body = _Body(self, sock, origin, request, rest, _framing(request, status, headers))
        body.read_timeout = timeouts.get("read") or 0.0
        if not _keeps_alive(version, headers):
            body.keep_alive = False
        return httpx2.Response(
            status,
            headers=headers,
            stream=body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    def watch(self, body: _Body) -> None:
        """Apply `body`'s read timeout until `unwatch`."""
        self._reading.add(body)
        if self._watcher is None:
            self._watcher = gevent.spawn(self._watch_stalls)

    def unwatch(self, body: _Body) -> None:
        self._reading.discard(body)

    def _watch_stalls(self) -> None:
        try:
            while self._reading:
                gevent.sleep(STALL_CHECK_INTERVAL)
                now = time.monotonic()
                for body in [b for b in self._reading if now - b.last_read > b.read_timeout]:
                    body.stalled()
        finally:
            self._watcher = None

    def keep(self, origin: Origin, sock: socket.socket) -> None:
        """A connection whose response was read to its end, for the next request."""
        idle = self._idle.setdefault(origin, [])
        if len(idle) < MAX_IDLE_PER_HOST:
            idle.append(sock)
        else:
            sock.close()


class _StaleConnection(Exception):
    """A kept connection the server had closed before our request reached it."""


def _head(request: httpx2.Request) -> bytes:
    target = request.url.raw_path
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in request.headers.raw]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _read_head(
    sock: socket.socket, request: httpx2.Request, reused: bool
) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]], bytes]:
    """(version, status, reason, headers, the bytes read past the head); skips 1xx responses."""
    buffer = b""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            lines = buffer[:end].split(b"\r\n")
            rest = buffer[end + 4 :]
            parts = lines[0].split(b" ", 2)
            try:
                status = int(parts[1])
            except (IndexError, ValueError):
                raise httpx2.RemoteProtocolError(
                    f"malformed status line {lines[0][:80]!r}", request=request
                ) from None
            if 100 <= status < 200 and status != 101:  # 100 Continue and the like: skip
                buffer = rest
                continue
            headers = []
            for line in lines[1:]:
                name, sep, value = line.partition(b":")
                if not sep:
                    raise httpx2.RemoteProtocolError("malformed header line", request=request)
                headers.append((name.strip(), value.strip()))
            return parts[0], status, parts[2] if len(parts) > 2 else b"", headers, rest
        if len(buffer) > MAX_HEAD_BYTES:
            raise httpx2.RemoteProtocolError("response head too large", request=request)
        data = _recv(sock, request, stale_if_closed=reused and not buffer)
        if not data:
            if reused and not buffer:
                raise _StaleConnection()
            raise httpx2.RemoteProtocolError(
                "server disconnected without sending a response", request=request
            )
        buffer += data


def _recv(sock: socket.socket, request: httpx2.Request, stale_if_closed: bool = False) -> bytes:
    try:
        return sock.recv(READ_SIZE)
    except TimeoutError:
        raise httpx2.ReadTimeout("read timed out", request=request) from None
    except OSError as error:
        if stale_if_closed:
            raise _StaleConnection() from None
        raise httpx2.ReadError(str(error), request=request) from None


CHUNKED, LENGTH, UNTIL_CLOSE, EMPTY = "chunked", "length", "until-close", "empty"


def _keeps_alive(version: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the server lets the connection serve another request (RFC 9112 9.3)."""
    tokens = b",".join(v for n, v in headers if n.lower() == b"connection").lower()
    if version == b"HTTP/1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


def _framing(
    request: httpx2.Request, status: int, headers: list[tuple[bytes, bytes]]
) -> tuple[str, int]:
    """How the body is delimited (RFC 9112 6.3): (kind, length for LENGTH)."""
    if request.method == "HEAD" or status in (204, 304):
        return EMPTY, 0
    fields = {name.lower(): value for name, value in headers}
    if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
        return CHUNKED, 0
    if b"content-length" in fields:
        try:
            return LENGTH, int(fields[b"content-length"])
        except ValueError:
            raise httpx2.RemoteProtocolError("bad Content-Length", request=request) from None
    return UNTIL_CLOSE, 0


def _release_body(request: httpx2.Request) -> None:
    """Let go of a sent request's body: the response keeps its request for the whole reply
    (`response.request`), and the body, with the tool specs, is some 13 KB (bench/). The SDK
    builds a new request for a retry, so nothing reads this one's body again."""
    request.stream = httpx2.ByteStream(b"")
    request._content = b""


class _Body(httpx2.SyncByteStream):
    """The response body as it arrives: each network read's payload, framing removed."""

    def __init__(
        self,
        transport: LeanTransport,
        sock: socket.socket,
        origin: Origin,
        request: httpx2.Request,
        buffered: bytes,
        framing: tuple[str, int],
    ) -> None:
        self._transport = transport
        self._sock: socket.socket | None = sock
        self._origin = origin
        self._request = request
        self._buffer = buffered
        self._kind, self._remaining = framing  # LENGTH: bytes still to come
        self._complete = self._kind == EMPTY or (self._kind == LENGTH and not self._remaining)
        self._reusable = self._kind in (CHUNKED, LENGTH, EMPTY)
        self._chunk_left = 0  # CHUNKED: data bytes of the current chunk still to come
        self._chunk_tail = False  # CHUNKED: the CRLF after a chunk's data is still to come
        self.read_timeout = 0.0  # seconds without a byte before ReadTimeout; 0: none
        self.last_read = time.monotonic()
        self._stalled = False
        self.keep_alive = True  # the server did not say `Connection: close`

    def stalled(self) -> None:
        """The watcher's call: silent past the read timeout. Closing the socket wakes the reader
        (gevent cancels its wait), which then raises ReadTimeout."""
        self._stalled = True
        self._transport.unwatch(self)
        if self._sock is not None:
            self._sock.close()

    def __iter__(self) -> Iterator[bytes]:
        if self._sock is not None and self.read_timeout and not self._complete:
            self._sock.settimeout(None)  # the watcher's timeout, not one per read
            self.last_read = time.monotonic()
            self._transport.watch(self)
        try:
            yield from self._read()
        finally:
            self._transport.unwatch(self)

    def _read(self) -> Iterator[bytes]:
        while not self._complete:
            if self._kind == CHUNKED:
                yield from self._decode()
            else:
                data = self._take()
                if data:
                    yield data
            if self._complete:
                break
            if self._sock is None or self._stalled:
                raise httpx2.ReadTimeout("read timed out", request=self._request)
            self.last_read = time.monotonic()  # the wait begins
            try:
                read = _recv(self._sock, self._request)
            except httpx2.ReadError:
                if self._stalled:
                    raise httpx2.ReadTimeout("read timed out", request=self._request) from None
                raise
            if not read:
                if self._kind == UNTIL_CLOSE:
                    self._complete, self._reusable = True, False
                    break
                raise httpx2.RemoteProtocolError(
                    "peer closed connection without sending complete message body",
                    request=self._request,
                )
            self._buffer += read

    def _take(self) -> bytes:
        data, self._buffer = self._buffer, b""
        if self._kind == LENGTH:
            if len(data) >= self._remaining:
                data, self._complete = data[: self._remaining], True
            self._remaining -= len(data)
        return data

    def _decode(self) -> list[bytes]:
        """The data of the chunks in the buffer, as far as they arrived, one item per chunk (as
        h11 gave them: a server's writes stay apart); the rest is kept."""
        buffer, pos, out = self._buffer, 0, []
        while True:
            if self._chunk_left:
                piece = buffer[pos : pos + self._chunk_left]
                if piece:
                    out.append(piece)
                pos += len(piece)
                self._chunk_left -= len(piece)
                if self._chunk_left:
                    break
                self._chunk_tail = True
            if self._chunk_tail:
                if len(buffer) - pos < 2:
                    break
                if buffer[pos : pos + 2] != b"\r\n":
                    raise httpx2.RemoteProtocolError("bad chunk ending", request=self._request)
                pos += 2
                self._chunk_tail = False
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                if len(buffer) - pos > 1024:
                    raise httpx2.RemoteProtocolError("bad chunk size", request=self._request)
                break
            try:
                size = int(buffer[pos:line_end].split(b";", 1)[0], 16)
            except ValueError:
                raise httpx2.RemoteProtocolError("bad chunk size", request=self._request) from None
            if size == 0:  # the last chunk; the connection is reusable once the trailer ended
                self._complete = True
                rest = buffer[line_end + 2 :]
                self._reusable = rest == b"\r\n"
                pos = len(buffer)
                break
            pos = line_end + 2
            self._chunk_left = size
        self._buffer = buffer[pos:] if pos else buffer
        return out

    def _finish_without_waiting(self) -> None:
        """Read what already arrived, without waiting: often just the body's last chunk, which
        lets the connection be kept after a reader stopped at the stream's own end marker."""
        assert self._sock is not None
        self._sock.settimeout(0.0)
        with contextlib.suppress(OSError, httpx2.HTTPError):
            while not self._complete:
                read = self._sock.recv(READ_SIZE)
                if not read:
                    break
                self._buffer += read
                self._decode() if self._kind == CHUNKED else self._take()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._stalled:
            sock.close()
            return
        if not self._complete and self._reusable and self.keep_alive:
            self._sock = sock
            self._finish_without_waiting()
            self._sock = None
        if self._complete and self._reusable and self.keep_alive and not self._buffer:
            self._transport.keep(self._origin, sock)
        else:
            sock.close()


def lean_client(timeout: Any) -> httpx2.Client:
    """An httpx client for the SDK (as `openai.DefaultHttpxClient` builds it) on this
    transport."""
    return openai.DefaultHttpxClient(timeout=timeout, transport=LeanTransport())
