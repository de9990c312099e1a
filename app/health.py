"""`GET /health`: is this process up, and what does it depend on."""

from __future__ import annotations

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


@bp.get("/health")
def health() -> ResponseReturnValue:
    database = database_state()
    body = {
        "status": "ok" if database == "ok" else "degraded",
        "service": "app",
        "database": database,
        "llm_mode": current_app.config["LLM_MODE"],
    }
    return jsonify(body), 200 if database == "ok" else 503
