"""Request ids, one JSON log line per request, and the /metrics endpoint, for all three processes.

A request id comes from the `X-Request-Id` header when it is a sane token, else it is made
up; it is returned on the response, logged on every line of the request, and forwarded to the
MCP services, so one reply can be followed across the three processes. Logs never carry
tokens, passwords or message bodies: only the fields named in `LOG_FIELDS` are written.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from app.bearer import bearer_token
from app.errors import json_error

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LOG_FIELDS = (
    "request_id",
    "service",
    "method",
    "path",
    "status",
    "duration_ms",
    "user_id",
    "stream_id",
    "conversation_id",
    "reply_status",
    "ttft_ms",
    "chunks",
    "tool_calls",
    "error_code",
    "rpc_method",
    "tool",
)


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the known extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            line["request_id"] = rid
        for field in LOG_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the whole process (once, whoever calls first)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO whenever it loads, and httpx every request
    # it sends (the LLM's and the MCP services'; a reply logs one line of its own): noise.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    # No thread names in our lines: under gevent each greenlet that logs would otherwise get a
    # `threading` dummy thread object of its own (bench/).
    logging.logThreads = False


def init_request_tracking(app: Flask, service: str, user_of: Callable[[], str | None]) -> None:
    """Give every request an id and log one line when it ends."""
    access_log = logging.getLogger(f"{service}.access")

    @app.before_request
    def _start() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.request_started = time.monotonic()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        started = g.get("request_started", time.monotonic())
        access_log.info(
            "request",
            extra={
                "service": service,
                "method": request.method,
                "path": request.path,  # never the query string
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "user_id": user_of(),
                "rpc_method": g.get("rpc_method"),
            },
        )
        return response


def exposition(extra: list[Collector]) -> bytes:
    """This process's metrics (or every worker's, in multi-process mode) plus `extra`."""
    registry = CollectorRegistry()
    for collector in extra:
        registry.register(collector)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(registry)


def init_metrics_endpoint(app: Flask, extra: Callable[[], list[Collector]] = list) -> None:
    """`GET /metrics`, readable only with `Authorization: Bearer $METRICS_TOKEN`.

    With no METRICS_TOKEN configured the endpoint does not exist (404): never public by
    accident. Under several gunicorn workers, counts are summed through prometheus-client's
    multi-process mode (gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR).
    """

    @app.get("/metrics")
    def metrics() -> Response:
        token = current_app.config.get("METRICS_TOKEN") or ""
        if not token:
            return json_error(404, "Not found.")
        given = bearer_token() or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return json_error(
                401, "Metrics need the metrics token.", headers={"WWW-Authenticate": "Bearer"}
            )
        return Response(exposition(extra()), mimetype=CONTENT_TYPE_LATEST)
