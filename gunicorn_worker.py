"""gunicorn's gevent worker, answering the requests it refuses itself in the JSON error shape.

gunicorn rejects some requests before any app runs: a request line over `limit_request_line`
(414), a header over `limit_request_field_size` or too many headers (431), a malformed request
line or header, such as a bare CR or a NUL in a header (400). Its own answer is an HTML page;
every client of these processes expects `{"error": {"code", "message"}}` instead.

The worker keeps gunicorn's decisions (which status, what it logs) and only changes the body:
`handle_error` writes its answer to the socket it is given, and here that socket turns the
answer into JSON. The message is ours, not gunicorn's, which quotes bytes of the request.

This module lives next to `gunicorn.conf.py`, not in `app/`: the master imports the worker
class before it forks, and importing the `app` package there would build its metrics early.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from gunicorn.workers.ggevent import GeventWorker

# Status -> (code, message) of the answers gunicorn writes itself.
ANSWERS: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "The request is malformed (its request line or a header)."),
    403: ("forbidden", "The request is forbidden."),
    414: ("uri_too_long", "The request line (method and URL) is too long."),
    417: ("expectation_failed", "The Expect header is not supported."),
    431: ("header_too_large", "A request header is too large, or there are too many headers."),
    500: ("internal_error", "The server failed to handle the request."),
    501: ("not_implemented", "The request uses a transfer coding the server does not support."),
}


def json_answer(status: int, reason: str) -> bytes:
    """A complete HTTP response in the contract's error shape; the connection then closes."""
    code, message = ANSWERS.get(
        status, ("internal_error", reason) if status >= 500 else ("invalid_request", reason)
    )
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _JsonAnswerSocket:
    """The client socket as `handle_error` sees it: the HTML answer written to it goes out
    as the same status with a JSON body."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def sendall(self, data: bytes) -> None:
        # gunicorn's answer starts with "HTTP/1.1 <status> <reason>\r\n".
        _version, status, reason = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        self._sock.sendall(json_answer(int(status), reason))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class JsonErrorGeventWorker(GeventWorker):
    """`worker_class` of all three processes: gevent, with JSON instead of gunicorn's HTML."""

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        super().handle_error(req, _JsonAnswerSocket(client), addr, exc)
