"""schemathesis against the live app, driven by its own `/openapi.json` (CONTRACT.md 6.6).

A real gunicorn worker on SQLite and on PostgreSQL, the scripted LLM behind it, a Bearer token
of a fresh user. schemathesis's coverage phase (boundary and invalid values of every field) and
a bounded fuzzing phase (`MAX_EXAMPLES` per operation, fixed seed) must find no 5xx, and every
answer must have a documented status, content type and schema, SSE events included.

`POST /auth/logout` is left out of the run: with a Bearer token it revokes the token the run
uses, so every later request would be a (documented, useless) 401. Its answers are pinned in
tests/test_auth.py and tests/test_sessions.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import ApiClient, LiveServer, app_env, start_app
from tests.support.llm_server import ScriptedLLM

MAX_EXAMPLES = 10
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> Iterator[LiveServer]:
    server = start_app(app_env(tmp_path_factory.mktemp("schemathesis"), request.param, llm))
    yield server
    server.stop()


def known_ids(api: ApiClient) -> str:
    """schemathesis.toml giving the operations on one conversation and one stream real ids,
    so that their fuzzed queries and bodies reach the views rather than a 404."""
    started = api.post("/agents/streams", json={"message": "Homes in Portland"}).json()
    api.open_stream("GET", started["stream_url"]).until_done()
    on_conversation = [
        "GET /agents/conversations/{conversation_id}",
        "PATCH /agents/conversations/{conversation_id}",
        "POST /agents/conversations/{conversation_id}/regenerate",
    ]
    on_stream = ["GET /agents/streams/{stream_id}", "POST /agents/streams/{stream_id}/cancel"]
    return (
        f"[[operations]]\ninclude-name = {on_conversation!r}\n"
        f"parameters = {{ conversation_id = {started['conversation_id']!r} }}\n\n"
        f"[[operations]]\ninclude-name = {on_stream!r}\n"
        f"parameters = {{ stream_id = {started['stream_id']!r} }}\n"
    )


def test_the_live_api_answers_as_its_document_says(live: LiveServer, tmp_path: Path) -> None:
    api = ApiClient(live.url, email=f"st-{uuid.uuid4().hex[:8]}@example.com")
    (tmp_path / "schemathesis.toml").write_text(known_ids(api))
    started = time.monotonic()
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(tmp_path / "schemathesis.toml"),
            "run",
            f"{live.url}/openapi.json",
            "--header",
            f"Authorization: {api.http.headers['Authorization']}",
            "--checks",
            CHECKS,
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--exclude-path",
            "/auth/logout",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr
    print(output[output.find("Test cases:") :])
    print(f"schemathesis took {time.monotonic() - started:.1f} s")  # shown with -rP or -s
    assert run.returncode == 0, output[-6000:]
    assert "API Operations:" in output and " passed" in output
    assert live.process is not None and live.process.poll() is None  # the worker survived
