"""Requests refused before the app runs still get the JSON error shape.

gunicorn answers an oversized request line (414), an oversized header (431) and a malformed
header (400) itself; nginx in front (deploy/nginx.conf) answers the same cases, and bodies over
its client_max_body_size (413), itself. Sent as raw bytes over real sockets, since no HTTP
client library would send them.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import free_port
from tests.support.live import LiveServer, start_app, wait_until_up
from tests.support.processes import nginx_binary, nginx_config

LONG_LINE = b"GET /" + b"a" * 10240 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
LONG_HEADER = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 10240 + b"\r\n\r\n"
BARE_CR = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Bad: one\rtwo\r\n\r\n"
CASES = [
    pytest.param(LONG_LINE, 414, "uri_too_long", id="request-line-10KB"),
    pytest.param(LONG_HEADER, 431, "header_too_large", id="header-10KB"),
    pytest.param(BARE_CR, 400, "invalid_request", id="bare-CR-in-header"),
]


def exchange(port: int, raw: bytes) -> tuple[int, str | None, Any]:
    """Send `raw`, read one response: its status, Content-Type and JSON body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    return response.status, response.getheader("Content-Type"), json.loads(body)


def assert_error(body: Any, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("server-errors")
    env = {"INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": f"sqlite:///{tmp}/app.db"}
    server = start_app(env, log_path=tmp / "app.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx_port(app_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """deploy/nginx.conf in front of the app (its own answers need no second upstream)."""
    tmp = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = nginx_config(tmp, port, [app_server], read_timeout="3s")
    binary = nginx_binary()
    check = subprocess.run([binary, "-t", "-p", str(tmp), "-c", str(conf)], capture_output=True)
    assert check.returncode == 0, check.stderr.decode()
    process = subprocess.Popen(
        [binary, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(("raw", "status", "code"), CASES)
def test_gunicorn_answers_requests_it_refuses_in_the_error_shape(
    app_server: LiveServer, raw: bytes, status: int, code: str
) -> None:
    got, content_type, body = exchange(app_server.port, raw)
    assert (got, content_type) == (status, "application/json")
    assert_error(body, code)
    assert requests.get(f"{app_server.url}/health", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        *CASES,
        pytest.param(
            b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2000000\r\n\r\n",
            413,
            "payload_too_large",
            id="body-over-1m",
        ),
        # Over gunicorn's limit (4094) but under nginx's (8 KB): nginx passes it on.
        pytest.param(
            b"GET /" + b"a" * 6000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
            414,
            "uri_too_long",
            id="request-line-6KB-answered-by-gunicorn",
        ),
    ],
)
def test_nginx_in_front_answers_them_in_the_error_shape_too(
    nginx_port: int, raw: bytes, status: int, code: str
) -> None:
    got, content_type, body = exchange(nginx_port, raw)
    assert (got, content_type) == (status, "application/json")
    assert_error(body, code)
