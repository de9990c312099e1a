"""`GET /health`: is this process up, and what does it depend on."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("health", __name__)


def database_state() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure means the same to the caller: not reachable
        db.session.rollback()
        return "unavailable"
    return "ok"


def service_state(mcp_url: str) -> str:
    """An MCP service's own /health (next to its /mcp), asked with a short timeout."""
    parts = urlsplit(mcp_url)
    try:
        response = requests.get(
            urlunsplit((parts.scheme, parts.netloc, "/health", "", "")), timeout=1
        )
    except requests.RequestException:
        return "unavailable"
    return "ok" if response.status_code == 200 else "unavailable"


@bp.get("/health")
def health() -> ResponseReturnValue:
    """200 while the database answers (the app serves history and accounts without the MCP
    services); `status` is "degraded" when any dependency is down."""
    database = database_state()
    services = {
        name: service_state(current_app.config[f"MCP_{name.upper()}_URL"])
        for name in ("listings", "analytics")
    }
    healthy = database == "ok" and all(state == "ok" for state in services.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "service": "app",
        "database": database,
        "mcp_services": services,
        "llm_mode": current_app.config["LLM_MODE"],
    }
    return jsonify(body), 200 if database == "ok" else 503
