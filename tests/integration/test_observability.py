"""Operations: metrics that move, a protected /metrics, request ids, CORS, secret-free logs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from tests.conftest import make_app
from tests.support.live import ApiClient, LiveServer, app_env, start_app
from tests.support.llm_server import ScriptedLLM, Turn

METRICS_TOKEN = "metrics-secret-for-tests"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("ops")
    env = app_env(tmp, "sqlite", llm, METRICS_TOKEN=METRICS_TOKEN)
    server = start_app(env, log_path=tmp / "app.log")
    yield server
    server.stop()


def metric(text: str, name: str, **labels: str) -> float:
    """A sample's value from the Prometheus exposition text (0 when absent)."""
    selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(selector) + r"\}" if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def scrape(server: LiveServer) -> str:
    response = requests.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
    )
    assert response.status_code == 200
    return response.text


def test_metrics_count_completed_failed_and_cancelled_replies(
    live: LiveServer, llm: ScriptedLLM
) -> None:
    llm.reset()
    api = ApiClient(live.url, email="metrics@example.com")
    before = scrape(live)
    llm.script(Turn.text("A fine answer."), Turn.error(500, "boom"))
    api.chat("one").until_done()
    api.chat("two").until_done()
    llm.script(Turn.text(" ".join(["slow"] * 100), delay=0.05))
    started = api.post("/agents/streams", json={"message": "three"}).json()
    stream = api.open_stream("GET", started["stream_url"])
    stream.take(3)
    api.post(f"/agents/streams/{started['stream_id']}/cancel")
    stream.until_done()

    after = scrape(live)
    for status in ("completed", "failed", "cancelled"):
        delta = metric(after, "estate_replies_total", status=status) - metric(
            before, "estate_replies_total", status=status
        )
        assert delta == 1, status
    assert metric(after, "estate_llm_errors_total", code="llm_server_error") >= 1
    assert metric(after, "estate_reply_ttft_seconds_count") >= 2
    assert "estate_active_streams" in after


def test_tool_names_the_model_makes_up_are_counted_as_unknown(
    live: LiveServer, llm: ScriptedLLM
) -> None:
    """A model can name any tool; only tools the services offer become label values."""
    llm.reset()
    made_up = [f"invented_tool_{number}" for number in range(5)]
    llm.script(Turn.tool_calls([(name, {}) for name in made_up]), Turn.text("Sorry."))
    api = ApiClient(live.url, email="tool-labels@example.com")
    before = scrape(live)
    api.chat("use your tools").until_done()

    after = scrape(live)
    unknown = {"tool": "unknown", "outcome": "error"}
    assert metric(after, "estate_tool_calls_total", **unknown) - metric(
        before, "estate_tool_calls_total", **unknown
    ) == len(made_up)
    assert "invented_tool" not in after


def test_metrics_are_summed_across_workers(tmp_path: Any, llm: ScriptedLLM) -> None:
    """Two gunicorn workers, one /metrics: prometheus-client's multi-process mode."""
    env = app_env(tmp_path, "sqlite", llm, METRICS_TOKEN=METRICS_TOKEN, WEB_CONCURRENCY="2")
    server = start_app(env)
    try:
        llm.reset()
        llm.script(*[Turn.text("answer") for _ in range(6)])
        api = ApiClient(server.url, email="workers@example.com")
        for _ in range(6):  # a chat-stream reply is read in its own request: any worker will do
            api.chat("hello").until_done()
        assert metric(scrape(server), "estate_replies_total", status="completed") == 6
    finally:
        server.stop()


def test_metrics_refuse_anonymous_reads(live: LiveServer) -> None:
    assert requests.get(f"{live.url}/metrics", timeout=5).status_code == 401
    wrong = requests.get(f"{live.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401


def test_metrics_do_not_exist_without_a_token(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_request_id_is_returned_and_logged(live: LiveServer) -> None:
    given = requests.get(f"{live.url}/health", headers={"X-Request-Id": "trace-abc.123"}, timeout=5)
    assert given.headers["X-Request-Id"] == "trace-abc.123"
    made_up = requests.get(f"{live.url}/health", timeout=5).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_up)
    unsafe = requests.get(f"{live.url}/health", headers={"X-Request-Id": "x\u00e9 y"}, timeout=5)
    assert unsafe.headers["X-Request-Id"] != "x\u00e9 y"
    lines = [json.loads(line) for line in live.logs().splitlines() if line.startswith("{")]
    assert any(
        line.get("request_id") == "trace-abc.123" and line.get("path") == "/health"
        for line in lines
    )


def test_no_secret_reaches_the_logs(live: LiveServer, llm: ScriptedLLM) -> None:
    llm.reset()
    password = "correct-horse-battery-staple"
    signup = requests.post(
        f"{live.url}/auth/signup",
        json={"email": "secret@example.com", "password": password},
        timeout=5,
    ).json()
    token = signup["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    api_token = requests.post(
        f"{live.url}/auth/tokens", json={"name": "t"}, headers=headers, timeout=5
    ).json()["token"]
    requests.post(
        f"{live.url}/auth/login",
        json={"email": "secret@example.com", "password": "wrong-one-1"},
        timeout=5,
    )
    llm.script(Turn.text("ok"))
    reply = requests.post(
        f"{live.url}/agents/chat-stream",
        json={"message": "my private question about Portland"},
        headers={"Authorization": f"Bearer {api_token}"},
        timeout=10,
    )
    assert reply.text.endswith("\n\n")  # read to the end: the reply has finished
    logs = live.logs()
    assert "reply finished" in logs
    for secret in (password, "wrong-one-1", token, api_token, "my private question"):
        assert secret not in logs


@pytest.fixture
def cors_client(tmp_path: Any, database_url: str) -> Iterator[FlaskClient]:
    for app in make_app(tmp_path, database_url, CORS_ORIGINS=["https://app.example.com"]):
        yield app.test_client()


def test_cors_preflight_for_a_listed_origin(cors_client: FlaskClient) -> None:
    response = cors_client.options(
        "/agents/chat-stream",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Last-Event-ID",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    allowed = response.headers["Access-Control-Allow-Headers"]
    assert "Last-Event-ID" in allowed and "Authorization" in allowed


def test_cors_preflight_for_another_origin_fails(cors_client: FlaskClient) -> None:
    response = cors_client.options(
        "/agents/chat-stream",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_headers_on_api_but_never_on_pages(cors_client: FlaskClient) -> None:
    origin = {"Origin": "https://app.example.com"}
    api = cors_client.get("/sse/health", headers=origin)
    assert api.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    page = cors_client.get("/auth/login", headers={**origin, "Accept": "text/html"})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_cors_is_off_by_default(client: FlaskClient) -> None:
    response = client.get("/sse/health", headers={"Origin": "https://app.example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers
