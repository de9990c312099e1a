"""The one app factory of the MCP services: config, logs, health, metrics and the /mcp blueprint.

`mcp_listings` and `mcp_analytics` differ only in their tools and their data; everything a
service process needs around them is built here, the same way for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import Counter
from sqlalchemy import Engine, text
from werkzeug.exceptions import HTTPException

from app.errors import json_error
from app.mcp.dataset import install_sessions, make_engine
from app.mcp.protocol import method_label
from app.mcp.server import create_mcp_blueprint
from app.mcp.tools import ToolRegistry
from app.observability import configure_logging, init_metrics_endpoint, init_request_tracking
from app.security_headers import init_security_headers
from app.settings import Settings

MCP_REQUESTS = Counter(
    "estate_mcp_requests_total", "JSON-RPC requests to an MCP service.", ["method", "status"]
)
EnsureLoaded = Callable[[Engine], bool]


def _json_errors(app: Flask) -> None:
    """Every error of a service is JSON in the one shape; there are no pages here."""

    def http_error(error: HTTPException) -> Response:
        return json_error(error.code or 500, error.description or "Error")

    def unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error", exc_info=error)
        return json_error(500, "Something went wrong on our side.")

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def _count_rpc(app: Flask) -> None:
    """Count the /mcp requests of authenticated callers, by JSON-RPC method and HTTP status.

    The labels come from fixed sets: the methods the server knows (anything else is "other")
    and the statuses it answers with. Requests without a valid token are not counted (the
    access log has them), so no anonymous caller can add a series; nothing here reads the body.
    """

    @app.after_request
    def _count(response: Response) -> Response:
        if request.path == "/mcp" and g.get("mcp_principal") is not None:
            method = method_label(g.get("rpc_method"))
            MCP_REQUESTS.labels(method=method, status=str(response.status_code)).inc()
        return response


def create_service_app(
    service: str,
    registry: ToolRegistry,
    ensure_loaded: EnsureLoaded,
    *,
    server_name: str,
    instructions: str,
    overrides: dict[str, Any] | None = None,
) -> Flask:
    """Build one MCP service: `service` is "listings" or "analytics"."""
    config = Settings().service_config(service)
    config.update(overrides or {})
    app = Flask(config["SERVICE"], instance_path=config["INSTANCE_PATH"])
    app.config.update(config)
    configure_logging(app.config["LOG_LEVEL"])
    init_request_tracking(app, config["SERVICE"], user_of=lambda: g.get("mcp_subject"))
    init_security_headers(app)
    _count_rpc(app)
    _json_errors(app)
    engine = make_engine(app.config["DATABASE_URL"])
    ensure_loaded(engine)  # the first start of a new database loads the bundled dataset
    install_sessions(app, engine)
    app.register_blueprint(
        create_mcp_blueprint(registry, server_name=server_name, instructions=instructions)
    )
    init_metrics_endpoint(app)

    @app.get("/health")
    def health() -> ResponseReturnValue:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # any failure means the same here: not reachable
            database = "unavailable"
        body = {
            "status": "ok" if database == "ok" else "degraded",
            "service": app.config["SERVICE"],
            "database": database,
            "tools": len(registry),
        }
        return jsonify(body), 200 if database == "ok" else 503

    return app
