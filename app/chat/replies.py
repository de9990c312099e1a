"""Starting a reply and storing it: the database side of a chat turn.

A reply's placeholder message is `streaming`, with a lease that the process writing it renews
(`ReplyLeases`, called by the runner's housekeeper). Every way a reply ends, its writer storing
it or another process finding the lease run out, is one conditional UPDATE of a `streaming`
message: the first to close a reply wins, and the other changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar

from flask import current_app
from pydantic import Field, model_validator
from sqlalchemy import bindparam, func, insert, select, update

from app.agent.consent import Consent
from app.agent.loop import build_messages, run_agent
from app.agent.toolbox import Toolbox
from app.chat.transcript import Outcome, ReplyInfo
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
from app.validation import Body

TITLE_CHARS = 60
# How long a reply's lease lasts without renewal. The runner renews it every few seconds
# (HOUSEKEEPING_INTERVAL); a reply whose process died is closed at most this long plus one
# housekeeping interval after the death, within the contract's SSE_DETACH_GRACE + 15 s.
LEASE_SECONDS = 10.0
log = logging.getLogger(__name__)


class ChatBody(Body):
    """`message` (or its alias `userMessage`) and an optional conversation to continue."""

    multiline: ClassVar[frozenset[str]] = frozenset({"message", "userMessage"})

    message: str | None = Field(default=None)
    userMessage: str | None = Field(default=None)  # the contract's alias
    conversation_id: str | None = Field(default=None, max_length=64)
    # Tools approved ahead by name (CONTRACT.md 6.3), e.g. ["send_listing_report"].
    approve: list[Annotated[str, Field(max_length=100)]] = Field(default=[], max_length=20)

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


def recent_history(conversation_id: str, limit: int) -> list[dict[str, str]]:
    """The last `limit` turns with text, oldest first, as the model wants them."""
    rows = db.session.execute(_HISTORY, {"conversation": conversation_id, "limit": limit}).all()
    return [{"role": role, "content": content} for role, content in reversed(rows)]


def begin_turn(user: User, body: ChatBody) -> tuple[ReplyInfo, list[dict[str, str]], str]:
    """Store the user message (and a placeholder for the reply) before anything streams.

    Plain INSERTs and UPDATEs rather than the ORM's unit of work: a turn's rows are new and
    never read back here, and the ORM's flush cost a reply three times as much CPU (bench/).
    """
    config = current_app.config
    message = body.text(config["CHAT_MAX_MESSAGE_CHARS"])
    now = datetime.now(UTC)  # one moment: a new conversation is never updated before it was made
    if body.conversation_id:
        conversation_id = owned_conversation(user, body.conversation_id).id
        history = recent_history(conversation_id, config["CHAT_HISTORY_MESSAGES"])
        last_seq = db.session.scalar(_LAST_SEQ, {"conversation": conversation_id})
        db.session.execute(_TOUCH_CONVERSATION, {"conversation": conversation_id, "now": now})
    else:  # a new conversation: nothing to look up
        title = message if len(message) <= TITLE_CHARS else message[: TITLE_CHARS - 1] + "…"
        conversation_id = new_id()
        db.session.execute(
            _NEW_CONVERSATION,
            {
                "id": conversation_id,
                "user_id": user.id,
                "title": title,
                "created_at": now,
                "updated_at": now,
            },
        )
        history, last_seq = [], 0
    info = ReplyInfo(
        stream_id=new_id(), user_id=user.id, conversation_id=conversation_id, message_id=new_id()
    )
    turn = {
        "conversation_id": conversation_id,
        "tool_calls": None,
        "metrics": None,
        "error": None,
        "created_at": now,
    }
    db.session.execute(
        _NEW_MESSAGES,
        [
            {
                **turn,
                "id": new_id(),
                "seq": last_seq + 1,
                "role": "user",
                "content": message,
                "status": "completed",
                "stream_id": None,
                "lease_expires_at": None,
            },
            {
                **turn,
                "id": info.message_id,
                "seq": last_seq + 2,
                "role": "assistant",
                "content": "",
                "status": "streaming",
                "stream_id": info.stream_id,
                "lease_expires_at": lease_end(),
            },
        ],
    )
    db.session.commit()
    return info, history, message


# The statements of a turn, built once: building one cost about as much as running it (bench/).
_CONVERSATIONS, _MESSAGES = Conversation.__table__, Message.__table__
_HISTORY = (
    select(_MESSAGES.c.role, _MESSAGES.c.content)
    .where(
        _MESSAGES.c.conversation_id == bindparam("conversation"),
        _MESSAGES.c.content != "",
        _MESSAGES.c.status != "superseded",  # a regenerated reply is history, not context
    )
    .order_by(_MESSAGES.c.seq.desc())
    .limit(bindparam("limit"))
)
_LAST_SEQ = select(func.coalesce(func.max(_MESSAGES.c.seq), 0)).where(
    _MESSAGES.c.conversation_id == bindparam("conversation")
)
_NEW_CONVERSATION = insert(_CONVERSATIONS)
_NEW_MESSAGES = insert(_MESSAGES)
_TOUCH_CONVERSATION = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation"))
    .values(updated_at=bindparam("now"))
)
_STORE_REPLY = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("message"), _MESSAGES.c.status == "streaming")
    .values(
        content=bindparam("new_content"),
        tool_calls=bindparam("new_tool_calls"),
        status=bindparam("new_status"),
        metrics=bindparam("new_metrics"),
        error=bindparam("new_error"),
        lease_expires_at=None,
    )
)


def agent_run_for(
    user_id: str, history: list[dict[str, str]], message: str, consent: Consent | None = None
) -> Any:
    """The reply's agent loop, built lazily inside the generation's greenlet.

    Every reply asks before a tool acts outside the app (CONTRACT.md 6.3): without a `consent`
    given (approvals ahead, a plain-text reader), the user is asked. The runner finds it as
    `run.consent`, to hand it the user's answers.
    """
    app = current_app._get_current_object()
    rid = request_id()
    if consent is None:
        consent = Consent.of(app.config["APPROVAL_TIMEOUT"], interactive=True, approve=[])

    def run() -> Any:
        toolbox = Toolbox(app.extensions["mcp_client"], user_id, rid, consent)
        return run_agent(
            app.extensions["llm_provider"],
            toolbox,
            build_messages(history, message),
            app.config["AGENT_MAX_STEPS"],
        )

    run.consent = consent  # type: ignore[attr-defined]
    return run


def store_reply(outcome: Outcome) -> None:
    """Write how the reply ended into its placeholder message, unless it was closed already.

    One UPDATE of a message still `streaming`: nothing if the conversation was deleted
    meanwhile, or if another closer (a process that found its lease run out) came first. It
    runs on a connection of its own, past the ORM session, which added two thirds to its CPU
    (bench/).
    """
    with db.engine.begin() as connection:
        stored = connection.execute(
            _STORE_REPLY,
            {
                "message": outcome.info.message_id,
                "new_content": outcome.text,
                "new_tool_calls": outcome.tool_calls,
                "new_status": outcome.status,
                "new_metrics": outcome.metrics,
                "new_error": outcome.error.code if outcome.error else None,
            },
        )
    if stored.rowcount:
        _record(outcome)


def lease_end() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)


class ReplyLeases:
    """The leases of replies being written, in the messages table (the runner's `Leases`).

    A broker-independent liveness record: with the in-process broker a killed worker takes its
    streams with it, and even Redis may have lost them, but the database still knows which
    replies were being written and until when their writer was alive. Renewal is one UPDATE per
    housekeeping interval per process, however many replies it writes.
    """

    def renew(self, message_ids: list[str]) -> None:
        db.session.execute(
            update(Message)
            .where(Message.id.in_(message_ids), Message.status == "streaming")
            .values(lease_expires_at=lease_end())
        )
        db.session.commit()

    def expired(self, limit: int = 100) -> list[tuple[ReplyInfo, float]]:
        """Replies still `streaming` whose lease ran out, with their age in seconds."""
        now = datetime.now(UTC)
        rows = db.session.execute(
            select(Message, Conversation.user_id)
            .join(Conversation, Message.conversation_id == Conversation.id)
            .where(Message.status == "streaming", Message.lease_expires_at < now)
            .limit(limit)
        ).all()
        return [(_info(message, user_id), _age(message, now)) for message, user_id in rows]


@dataclass(frozen=True)
class StoredReply:
    """What the database knows of a reply, for a reader whose stream the broker has not."""

    info: ReplyInfo
    status: str
    error: str | None
    lease_expired: bool
    age_s: float


def stored_reply(user_id: str, stream_id: str) -> StoredReply | None:
    """The reply of `stream_id` if it is this user's (by the stream id index), else None."""
    row = db.session.execute(
        select(Message, Conversation.user_id)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(Message.stream_id == stream_id, Message.role == "assistant")
    ).first()
    if row is None or row[1] != user_id:
        return None
    message, now = row[0], datetime.now(UTC)
    return StoredReply(
        info=_info(message, user_id),
        status=message.status,
        error=message.error,
        lease_expired=message.lease_expires_at is not None and message.lease_expires_at < now,
        age_s=_age(message, now),
    )


def _info(message: Message, user_id: str) -> ReplyInfo:
    return ReplyInfo(
        stream_id=message.stream_id or "",
        user_id=user_id,
        conversation_id=message.conversation_id,
        message_id=message.id,
    )


def _age(message: Message, now: datetime) -> float:
    return max((now - message.created_at).total_seconds(), 0.0)


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
