"""Starting a reply and storing it: the database side of a chat turn."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import current_app
from pydantic import Field, model_validator
from sqlalchemy import func, select, update

from app.agent.loop import build_messages, run_agent
from app.agent.toolbox import Toolbox
from app.errors import ApiError
from app.extensions import db
from app.metrics import (
    ERROR_CODES,
    LLM_ERRORS,
    REPLIES,
    REPLY_DURATION,
    REPLY_STATUSES,
    TTFT,
    fixed_label,
)
from app.models import Conversation, Message, User, new_id
from app.observability import request_id
from app.streaming.broker import StreamInfo
from app.streaming.runner import Outcome
from app.validation import Body

TITLE_CHARS = 60
log = logging.getLogger(__name__)


class ChatBody(Body):
    """`message` (or its alias `userMessage`) and an optional conversation to continue."""

    multiline: ClassVar[frozenset[str]] = frozenset({"message", "userMessage"})

    message: str | None = Field(default=None)
    userMessage: str | None = Field(default=None)  # the contract's alias
    conversation_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_message(self) -> ChatBody:
        if self.message is None:
            self.message = self.userMessage
        return self

    def text(self, max_chars: int) -> str:
        message = (self.message or "").strip()
        if not message:
            raise ApiError(400, "The message is empty.", fields={"message": "must not be empty"})
        if len(message) > max_chars:
            raise ApiError(
                400,
                f"The message is longer than {max_chars} characters.",
                fields={"message": f"must be at most {max_chars} characters"},
            )
        return message


def owned_conversation(user: User, conversation_id: str) -> Conversation:
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user.id:
        raise ApiError(404, "No such conversation.")
    return conversation


def recent_history(conversation: Conversation, limit: int) -> list[dict[str, str]]:
    """The last `limit` turns with text, oldest first, as the model wants them."""
    rows = db.session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.content != "")
        .order_by(Message.seq.desc())
        .limit(limit)
    ).all()
    return [{"role": m.role, "content": m.content} for m in reversed(rows)]


def begin_turn(user: User, body: ChatBody) -> tuple[StreamInfo, list[dict[str, str]], str]:
    """Store the user message (and a placeholder for the reply) before anything streams."""
    config = current_app.config
    message = body.text(config["CHAT_MAX_MESSAGE_CHARS"])
    if body.conversation_id:
        conversation = owned_conversation(user, body.conversation_id)
        history = recent_history(conversation, config["CHAT_HISTORY_MESSAGES"])
        last_seq = db.session.scalar(
            select(func.coalesce(func.max(Message.seq), 0)).where(
                Message.conversation_id == conversation.id
            )
        )
    else:  # a new conversation: nothing to look up
        title = message if len(message) <= TITLE_CHARS else message[: TITLE_CHARS - 1] + "…"
        conversation = Conversation(id=new_id(), user_id=user.id, title=title)
        db.session.add(conversation)
        history, last_seq = [], 0
    info = StreamInfo(
        stream_id=new_id(),
        user_id=user.id,
        conversation_id=conversation.id,
        message_id=new_id(),
    )
    reply = Message(
        id=info.message_id,
        conversation_id=conversation.id,
        seq=last_seq + 2,
        role="assistant",
        content="",
        status="streaming",
        stream_id=info.stream_id,
    )
    db.session.add(
        Message(conversation_id=conversation.id, seq=last_seq + 1, role="user", content=message)
    )
    db.session.add(reply)
    conversation.updated_at = datetime.now(UTC)
    db.session.commit()
    return info, history, message


def agent_run_for(user_id: str, history: list[dict[str, str]], message: str) -> Any:
    """The reply's agent loop, built lazily inside the generation's greenlet."""
    app = current_app._get_current_object()
    rid = request_id()

    def run() -> Any:
        toolbox = Toolbox(app.extensions["mcp_client"], user_id, rid)
        return run_agent(
            app.extensions["llm_provider"],
            toolbox,
            build_messages(history, message),
            app.config["AGENT_MAX_STEPS"],
        )

    return run


def store_reply(outcome: Outcome) -> None:
    """Write how the reply ended into its placeholder message."""
    db.session.execute(  # one UPDATE; nothing if the conversation was deleted meanwhile
        update(Message)
        .where(Message.id == outcome.info.message_id)
        .values(
            content=outcome.text,
            tool_calls=outcome.tool_calls,
            status=outcome.status,
            metrics=outcome.metrics,
        )
    )
    db.session.commit()
    _record(outcome)


def _record(outcome: Outcome) -> None:
    """One log line and the metrics of a finished reply."""
    metrics = outcome.metrics
    REPLIES.labels(status=fixed_label(outcome.status, REPLY_STATUSES)).inc()
    REPLY_DURATION.observe(metrics["duration_ms"] / 1000)
    if metrics["ttft_ms"] is not None:
        TTFT.observe(metrics["ttft_ms"] / 1000)
    if outcome.error is not None:
        LLM_ERRORS.labels(code=fixed_label(outcome.error.code, ERROR_CODES)).inc()
    log.info(
        "reply finished",
        extra={
            "user_id": outcome.info.user_id,
            "stream_id": outcome.info.stream_id,
            "conversation_id": outcome.info.conversation_id,
            "reply_status": outcome.status,
            "ttft_ms": metrics["ttft_ms"],
            "duration_ms": metrics["duration_ms"],
            "chunks": metrics["chunks"],
            "tool_calls": metrics["tool_calls"],
            "error_code": outcome.error.code if outcome.error else None,
        },
    )
