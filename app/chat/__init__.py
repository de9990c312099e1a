"""Chat: the chat page, the /agents API with its event streams, and /sse/health."""

from flask import Blueprint

bp = Blueprint("chat", __name__)

from app.chat import api, views  # noqa: E402,F401  (registers the routes)
