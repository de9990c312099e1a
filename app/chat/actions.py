"""Chat actions of CONTRACT.md 6.4: regenerate the last reply, search, export as Markdown.

Regenerating keeps what it replaces: the earlier reply stays in the conversation with status
`superseded` (shown in history, never sent to the model again), and the new reply is a new
message after it, streamed exactly like `POST /agents/streams`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Response, current_app, request
from pydantic import Field
from sqlalchemy import Select, exists, func, or_, select, update

from app.chat.replies import ChatBody, lease_end, owned_conversation
from app.chat.transcript import ReplyInfo
from app.errors import ApiError
from app.extensions import db
from app.models import Conversation, Message, User, new_id
from app.validation import CONTROL_CHARS, Body, parse_body

SUPERSEDED = "superseded"
MAX_QUERY_CHARS = 200
LIKE_ESCAPE = "\\"


class RegenerateBody(Body):
    """An optional new text for the last user message, replacing it before the reply is redone."""

    multiline: ClassVar[frozenset[str]] = frozenset({"message"})

    message: str | None = Field(default=None)


def regenerate_body() -> RegenerateBody:
    """The body if one was sent: an empty request regenerates without editing."""
    if not request.content_length and not request.get_data(cache=True):
        return RegenerateBody()
    return parse_body(RegenerateBody)


def begin_regeneration(
    user: User, conversation_id: str, body: RegenerateBody
) -> tuple[ReplyInfo, list[dict[str, str]], str]:
    """Supersede the last reply and store a placeholder for its replacement.

    Returns what `agent_run_for` needs, like `begin_turn`: the reply, the history before the
    last user message, and that message (edited if the body says so).
    """
    config = current_app.config
    conversation = owned_conversation(user, conversation_id)
    question = db.session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.role == "user")
        .order_by(Message.seq.desc())
        .limit(1)
    ).first()
    if question is None:
        raise ApiError(409, "This conversation has no message to answer.", code="nothing_to_redo")
    later = Message.conversation_id == conversation.id, Message.seq > question.seq
    running = db.session.scalar(select(exists().where(*later, Message.status == "streaming")))
    if running:
        raise ApiError(
            409,
            "A reply to this message is still being written; cancel it first.",
            code="reply_running",
        )
    if body.message is not None:
        question.content = ChatBody(message=body.message).text(config["CHAT_MAX_MESSAGE_CHARS"])
    db.session.execute(
        update(Message)
        .where(*later, Message.role == "assistant", Message.status != SUPERSEDED)
        .values(status=SUPERSEDED, lease_expires_at=None)
    )
    last_seq = db.session.scalar(
        select(func.max(Message.seq)).where(Message.conversation_id == conversation.id)
    )
    info = ReplyInfo(
        stream_id=new_id(),
        user_id=user.id,
        conversation_id=conversation.id,
        message_id=new_id(),
    )
    db.session.add(
        Message(
            id=info.message_id,
            conversation_id=conversation.id,
            seq=(last_seq or 0) + 1,
            role="assistant",
            content="",
            status="streaming",
            stream_id=info.stream_id,
            lease_expires_at=lease_end(),
        )
    )
    conversation.updated_at = datetime.now(UTC)
    history = _history_before(conversation, question.seq, config["CHAT_HISTORY_MESSAGES"])
    message = question.content
    db.session.commit()
    return info, history, message


def _history_before(conversation: Conversation, seq: int, limit: int) -> list[dict[str, str]]:
    """The last `limit` turns before `seq` that the model should see, oldest first."""
    rows = db.session.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.seq < seq,
            Message.content != "",
            Message.status != SUPERSEDED,
        )
        .order_by(Message.seq.desc())
        .limit(limit)
    ).all()
    return [{"role": m.role, "content": m.content} for m in reversed(rows)]


def search_query() -> str | None:
    """`?q=`, stripped; None when absent or blank. Too long or control characters: 400."""
    query = (request.args.get("q") or "").strip()
    if not query:
        return None
    if len(query) > MAX_QUERY_CHARS:
        raise ApiError(
            400,
            f"The search is longer than {MAX_QUERY_CHARS} characters.",
            fields={"q": f"must be at most {MAX_QUERY_CHARS} characters"},
        )
    if CONTROL_CHARS.search(query):
        raise ApiError(
            400, "The search holds control characters.", fields={"q": "must not contain them"}
        )
    return query


def matching(statement: Select[Any], query: str) -> Select[Any]:
    """Conversations whose title or any message contains `query`, case-insensitively.

    `%` and `_` in the query are literal (escaped for LIKE); ILIKE on PostgreSQL, lower() LIKE
    lower() on SQLite (there case folding covers ASCII letters only).
    """
    escaped = re.sub(r"([\\%_])", r"\\\1", query)
    pattern = f"%{escaped}%"
    in_messages = exists().where(
        Message.conversation_id == Conversation.id,
        Message.content.ilike(pattern, escape=LIKE_ESCAPE),
    )
    return statement.where(or_(Conversation.title.ilike(pattern, escape=LIKE_ESCAPE), in_messages))


def markdown_export(conversation: Conversation, messages: list[Message]) -> Response:
    """The conversation as a Markdown file to download: each turn, its tool calls summarised."""
    lines = [f"# {conversation.title}", ""]
    lines.append(f"_Exported {_when(datetime.now(UTC))} from Estate Assistant._")
    for message in messages:
        who = "You" if message.role == "user" else "Assistant"
        lines += ["", f"## {who} · {_when(message.created_at)}", ""]
        for call in message.tool_calls or []:
            lines.append(f"- {_tool_line(call)}")
        if message.tool_calls:
            lines.append("")
        lines.append(message.content or "_(no text)_")
        if message.status != "completed":
            note = f"_Reply {message.status}"
            note += f" ({message.error})._" if message.error else "._"
            lines += ["", note]
    response = Response("\n".join(lines) + "\n", mimetype="text/markdown")
    response.headers["Content-Disposition"] = f'attachment; filename="{_file_name(conversation)}"'
    return response


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _tool_line(call: dict[str, Any]) -> str:
    """`search_listings(city=Portland, max_price=700000)`: completed, Found 14 listings."""
    arguments = call.get("arguments") or {}
    shown = ", ".join(f"{key}={value}" for key, value in arguments.items())
    line = f"Tool `{call.get('name', '?')}({shown})`: {call.get('status', '?')}"
    detail = call.get("summary") or call.get("error")
    return f"{line}, {detail}" if detail else line


def _file_name(conversation: Conversation) -> str:
    """A header-safe ASCII file name from the title (`conversation.md` if nothing is left)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", conversation.title).strip("-").lower()[:60]
    return f"{slug or 'conversation'}.md"
