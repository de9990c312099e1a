"""The chat page (the home of a logged-in user); its behaviour lives in static/js/chat.js."""

from __future__ import annotations

from flask import current_app, render_template
from flask_login import login_required

from app.chat import bp


@bp.get("/")
@login_required
def index() -> str:
    config = current_app.config
    offline = config["LLM_MODE"] == "offline"
    return render_template(
        "chat/index.html",
        llm_mode=config["LLM_MODE"],
        llm_model=None if offline else config["LLM_MODEL"],
        max_message_chars=config["CHAT_MAX_MESSAGE_CHARS"],
    )
