"""gunicorn's gevent worker for all three processes: JSON error answers, and replies that end.

gunicorn has no server hook for a worker's SIGTERM: its gevent worker only stops accepting and
waits `graceful_timeout` for open requests, then cuts them. A reply being written would be cut
with it, its message left `streaming` and its readers without `done`. This worker also tells
the main app's runner (app/chat/runner.py), which ends every running reply with a
`shutting_down` error and `done`, stores it, and writes its events out; the open event streams
then end cleanly, and the worker exits once they have. At start it lets the runner's
housekeeper run, so that a restarted worker closes the replies of the one that was killed.
The MCP services have no runner; for them only the error answers below differ from gunicorn's.

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
from types import FrameType
from typing import Any

import gevent
from gunicorn.workers import ggevent

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


class GeventWorker(ggevent.GeventWorker):
    """`worker_class` of all three processes."""

    _stopping_replies: gevent.Greenlet | None = None

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        super().handle_error(req, _JsonAnswerSocket(client), addr, exc)

    def _runner(self) -> Any:
        """The app's runner, if the app served is the main app (the MCP services have none)."""
        extensions = getattr(getattr(self, "wsgi", None), "extensions", None) or {}
        return extensions.get("runner")

    def _replies_timeout(self) -> float:
        # The master kills the worker `graceful_timeout` after its SIGTERM: finish before.
        return max(self.cfg.graceful_timeout - 2.0, 1.0)

    def run(self) -> None:
        runner = self._runner()
        if runner is not None:
            runner.serve()
        super().run()
        if runner is not None:  # also when the loop ended otherwise (the master went away)
            if self._stopping_replies is None:
                runner.shutdown(self._replies_timeout())
            else:
                self._stopping_replies.join(self._replies_timeout())

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        runner = self._runner()
        if runner is not None and self._stopping_replies is None:
            # Out of the signal handler, as gunicorn does for SIGQUIT: stopping blocks.
            self._stopping_replies = gevent.spawn(runner.shutdown, self._replies_timeout())
