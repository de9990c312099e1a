"""The benchmark's yardstick: the least an app can do to relay an LLM stream as SSE.

A minimal Flask app with one streaming route that asks the same upstream through the `openai`
SDK (its usual per-chunk objects) and writes each content delta as an SSE `content` event, then
`done`. No auth, no database, no broker, no runner: whatever the full stack costs on top of this
is the price of its features. Served by the same `gunicorn.conf.py` (one gevent worker):

    gunicorn -c gunicorn.conf.py bench.bare_relay:app     # env OPENAI_BASE_URL, LLM_MODEL
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import httpx2
import openai
from flask import Flask, Response, request

app = Flask(__name__)
client = openai.OpenAI(
    api_key=os.environ.get("OPENAI_API_KEY", "bench"),
    base_url=os.environ.get("OPENAI_BASE_URL"),
    timeout=httpx2.Timeout(60.0, connect=10.0),
    max_retries=0,
)
MODEL = os.environ.get("LLM_MODEL", "scripted-model")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "service": "bare-relay"}


@app.post("/relay")
def relay() -> Response:
    message = (request.get_json(silent=True) or {}).get("message", "hello")

    def events() -> Iterator[str]:
        yield "retry: 3000\n\n"
        messages = [{"role": "user", "content": message}]
        with client.chat.completions.create(model=MODEL, messages=messages, stream=True) as chunks:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    data = json.dumps({"chunk": chunk.choices[0].delta.content})
                    yield f"event: content\ndata: {data}\n\n"
        yield 'event: done\ndata: {"status": "completed"}\n\n'

    response = Response(events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response
