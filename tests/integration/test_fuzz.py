"""Generated requests against every JSON endpoint of the real server (CONTRACT.md 6.1).

hypothesis throws bodies (valid-looking and not: control characters, deep nesting, wrong
types, wrong content types), headers and path ids at a real gunicorn worker, as a user and as
nobody. Whatever it sends: no 5xx, every error in the contract's shape, and the worker still
answers `/health` at once (a request that made it spin would starve it).
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.live import ApiClient, LiveServer, app_env, start_app
from tests.support.llm_server import ScriptedLLM

ID = "{id}"  # replaced by a generated path id
ENDPOINTS: list[tuple[str, str]] = [
    ("POST", "/auth/signup"),
    ("POST", "/auth/login"),
    ("GET", "/auth/me"),
    ("POST", "/auth/tokens"),
    ("GET", "/auth/tokens"),
    ("DELETE", f"/auth/tokens/{ID}"),
    ("POST", "/auth/mcp-token"),
    ("POST", "/agents/chat-stream"),
    ("POST", "/agents/streams"),
    ("GET", f"/agents/streams/{ID}"),
    ("POST", f"/agents/streams/{ID}/cancel"),
    ("GET", "/agents/conversations"),
    ("GET", f"/agents/conversations/{ID}"),
    ("PATCH", f"/agents/conversations/{ID}"),
    ("DELETE", f"/agents/conversations/{ID}"),
    ("GET", "/sse/health"),
    ("GET", "/.well-known/jwks.json"),
]
FIELDS = [
    "email",
    "password",
    "name",
    "message",
    "userMessage",
    "conversation_id",
    "title",
    "service",
    "expires_in_days",
]

# Text with what breaks naive code: NUL and other controls, surrogates are not sendable as
# UTF-8, so they stay out; very long strings are bounded by the example size.
texts = st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["", " ", "\u0000", "a\u0000b", "user@example.com\u0000", "\t\n", "ab" * 3000]
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | texts
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4)
)
shaped_bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5)


@st.composite
def raw_bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """(body bytes, content type): JSON of any shape, deep nesting, broken JSON, non-JSON."""
    kind = draw(st.sampled_from(["shaped", "any", "deep", "broken", "bytes"]))
    if kind == "shaped":
        body = json.dumps(draw(shaped_bodies)).encode()
    elif kind == "any":
        body = json.dumps(draw(json_values)).encode()
    elif kind == "deep":
        depth = draw(st.sampled_from([33, 200, 5_000, 60_000]))
        body = ("[" * depth + "]" * depth).encode()
    elif kind == "broken":
        body = draw(st.sampled_from([b"{", b'{"message": ', b"\xff\xfe", b"[1,]", b"nul"]))
    else:
        body = draw(st.binary(max_size=200))
    content_type = draw(
        st.sampled_from(
            [
                "application/json",
                "application/json; charset=utf-8",
                "text/plain",
                "application/x-www-form-urlencoded",
                None,
            ]
        )
    )
    return body, content_type


path_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40) | st.sampled_from(
    ["0" * 32, "f" * 32, "abc\u0000def", "..", "%00", "a" * 300]
)
header_text = st.text(string.ascii_letters + string.digits + ":-_. ", max_size=60).map(str.strip)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    llm = ScriptedLLM().start()
    env = app_env(tmp_path_factory.mktemp("fuzz"), request.param, llm, RATELIMIT_ENABLED="1")
    server = start_app(env)  # limits on: their key functions read bodies too
    yield server
    server.stop()
    llm.stop()


@pytest.fixture(scope="module")
def token(live: LiveServer) -> str:
    user = ApiClient(live.url, email="fuzz@example.com")
    return user.http.headers["Authorization"]


def check(response: requests.Response, html_form: bool = False) -> None:
    """No 5xx, and an error is the contract's JSON shape (a form post gets its page back)."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if html_form and response.headers["Content-Type"].startswith("text/html"):
        return
    if response.status_code >= 400:
        assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
        assert set(error) <= {"code", "message", "fields"}


def still_serving(live: LiveServer) -> None:
    health = requests.get(f"{live.url}/health", timeout=5)  # a spinning worker would not answer
    assert health.status_code in (200, 503)  # 503: the MCP services are not running here


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    path_id=path_ids,
    body=raw_bodies(),
    authenticated=st.booleans(),
    last_event_id=header_text,
)
def test_generated_requests_never_get_a_5xx_or_another_error_shape(
    live: LiveServer,
    token: str,
    endpoint: tuple[str, str],
    path_id: str,
    body: tuple[bytes, str | None],
    authenticated: bool,
    last_event_id: str,
) -> None:
    method, template = endpoint
    path = template.replace(ID, quote(path_id, safe=""))
    data, content_type = body
    headers = {"Accept": "application/json", "Last-Event-ID": last_event_id}
    if content_type:
        headers["Content-Type"] = content_type
    if authenticated:
        headers["Authorization"] = token
    response = requests.request(
        method, live.url + path, data=data, headers=headers, stream=True, timeout=(5, 10)
    )
    try:
        if response.headers.get("Content-Type", "").startswith("text/event-stream"):
            assert response.status_code == 200  # a reply started: its stream is not ours to read
        else:
            form = content_type == "application/x-www-form-urlencoded"
            check(response, html_form=form and path in ("/auth/login", "/auth/signup"))
    finally:
        response.close()
    still_serving(live)


@FUZZ
@given(authorization=header_text, request_id=header_text, path_id=path_ids)
def test_generated_credentials_and_headers_are_refused_cleanly(
    live: LiveServer, authorization: str, request_id: str, path_id: str
) -> None:
    headers = {
        "Authorization": authorization,
        "X-Request-Id": request_id,
        "Accept": "application/json",
    }
    response = requests.get(
        f"{live.url}/agents/conversations/{quote(path_id, safe='')}", headers=headers, timeout=10
    )
    check(response)
    assert response.status_code in (401, 404)
    still_serving(live)
