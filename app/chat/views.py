"""The chat page (the home of a logged-in user)."""

from __future__ import annotations

from flask import current_app, render_template
from flask_login import login_required

from app.chat import bp


@bp.get("/")
@login_required
def index() -> str:
    return render_template("chat/index.html", llm_mode=current_app.config["LLM_MODE"])
