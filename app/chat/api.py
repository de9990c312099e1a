"""The chat API: start, follow, resume and cancel replies; history."""

from __future__ import annotations

import gevent
from flask import Flask, Response, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from app.agent.consent import Consent
from app.chat import bp
from app.chat.actions import (
    begin_regeneration,
    markdown_export,
    matching,
    regenerate_body,
    search_query,
)
from app.chat.events import READER_ENDINGS, Error, as_text, closing, numbered
from app.chat.replies import (
    ChatBody,
    StoredReply,
    agent_run_for,
    begin_turn,
    owned_conversation,
    stored_reply,
)
from app.chat.runner import GENERATION_LOST, Runner
from app.chat.transcript import ReplyInfo
from app.errors import ApiError, json_error
from app.extensions import db, limiter
from app.models import Conversation, Message
from app.streaming.broker import Broker, BrokerError
from app.streaming.reader import Batches, follow_events, nothing_left, sse_body
from app.streaming.sse import Event, parse_last_event_id
from app.validation import CONTROL_CHARS, ApprovalBody, parse_body

# Per user (behind one proxy or office address, users do not share a quota), and only replies
# that start count: a refused start (bad body, too many streams) costs nothing.
chat_limit = limiter.limit(
    lambda: current_app.config["CHAT_RATE_LIMIT"],
    key_func=lambda: f"chat:{current_user.id}",
    deduct_when=lambda response: response.status_code < 400,
)
LEASE_POLL = 1.0  # seconds between looks at a reply whose writer may have died


def _broker() -> Broker:
    return current_app.extensions["broker"]


def _runner() -> Runner:
    return current_app.extensions["runner"]


def _refuse_when_busy() -> None:
    """429 `too_many_streams` when the user already has the most replies running."""
    limit = current_app.config["CHAT_MAX_CONCURRENT_PER_USER"]
    if _broker().active_for(current_user.id) >= limit:
        raise ApiError(
            429,
            f"You already have {limit} replies running; wait for one to finish.",
            code="too_many_streams",
            headers={"Retry-After": "5"},
        )


def _start_reply() -> ReplyInfo:
    body = parse_body(ChatBody)
    _refuse_when_busy()
    info, history, message = begin_turn(current_user, body)
    timeout = current_app.config["APPROVAL_TIMEOUT"]
    consent = Consent.of(timeout, interactive=not _wants_text(), approve=body.approve)
    _runner().start(info, agent_run_for(info.user_id, history, message, consent))
    return info


def _wants_text() -> bool:
    if request.args.get("format") == "text":
        return True
    best = request.accept_mimetypes.best_match(["text/event-stream", "text/plain"])
    return best == "text/plain" and "text/event-stream" not in request.accept_mimetypes


def _stream_response(info: ReplyInfo, after: int) -> Response:
    """The response that reads the stream; decided fully before the body starts."""

    def ending(after: int, reason: str) -> list[Event]:
        error = Error(reason, READER_ENDINGS[reason])
        return numbered(closing(info.conversation_id, info.message_id, "failed", error), after)

    keepalive = current_app.config["SSE_KEEPALIVE"]
    batches = follow_events(_broker(), info.stream_id, after, keepalive, ending)
    db.session.remove()  # the stream may last minutes: give the connection back now
    return _events_response(info.stream_id, batches)


def _events_response(stream_id: str, batches: Batches) -> Response:
    """SSE frames of these batches, or plain text if the client asked for it."""
    if _wants_text():
        response = Response(as_text(batches), mimetype="text/plain")
    else:
        body = sse_body(stream_id, batches, current_app.config["SSE_RETRY"])
        response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.headers["X-Stream-Id"] = stream_id
    return response


def _owned_stream(stream_id: str) -> ReplyInfo:
    stream = _broker().info(stream_id)
    if stream is None or stream.owner != current_user.id:
        raise ApiError(404, "No such stream (it may have expired; see the conversation history).")
    return ReplyInfo.of(stream)


@bp.errorhandler(BrokerError)
def broker_unavailable(error: BrokerError) -> Response:
    """Redis down or restarting: say so, and when to try again, rather than a bare 500."""
    current_app.logger.warning("stream broker unavailable: %s", error)
    return json_error(
        503,
        "Streaming is unavailable for a moment; please try again.",
        code="broker_unavailable",
        headers={"Retry-After": "5"},
    )


@bp.post("/agents/chat-stream")
@login_required
@chat_limit
def chat_stream() -> Response:
    return _stream_response(_start_reply(), after=0)


@bp.post("/agents/streams")
@login_required
@chat_limit
def create_stream() -> ResponseReturnValue:
    return _accepted(_start_reply())


def _accepted(info: ReplyInfo) -> ResponseReturnValue:
    """202 with where to follow the reply that has just started."""
    return jsonify(
        {
            "stream_id": info.stream_id,
            "conversation_id": info.conversation_id,
            "message_id": info.message_id,
            "stream_url": url_for("chat.follow_stream", stream_id=info.stream_id),
        }
    ), 202


@bp.post("/agents/conversations/<id:conversation_id>/regenerate")
@login_required
@chat_limit
def regenerate(conversation_id: str) -> ResponseReturnValue:
    """Redo the last reply (after editing the last message if a `message` is sent): 202 like
    `POST /agents/streams`; the reply it replaces stays in history as `superseded`."""
    body = regenerate_body()
    _refuse_when_busy()
    info, history, message = begin_regeneration(current_user, conversation_id, body)
    _runner().start(info, agent_run_for(info.user_id, history, message))
    return _accepted(info)


@bp.get("/agents/streams/<id:stream_id>")
@login_required
def follow_stream(stream_id: str) -> Response:
    """Replay after `Last-Event-ID`, then follow; 204 (EventSource stops) if nothing is left."""
    if _broker().info(stream_id) is None:  # perhaps it died with its worker: ask the database
        return _stream_of_a_dead_worker(stream_id, _after(stream_id))
    info = _owned_stream(stream_id)
    after = _after(stream_id)
    if nothing_left(_broker(), stream_id, after):
        return Response(status=204)
    return _stream_response(info, after)


def _after(stream_id: str) -> int:
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    return parse_last_event_id(last_event_id, stream_id)


def _stream_of_a_dead_worker(stream_id: str, after: int) -> Response:
    """The end of a reply whose stream no broker has, for a reader coming back to it.

    With the in-process broker a killed worker's streams die with it, and the browser's
    EventSource retries on the restarted worker. If the database has this user's reply as lost,
    or still `streaming` (its lease then runs out within seconds, or its writer finishes), the
    reader gets the `error` and `done` it missed, numbered on from its `Last-Event-ID`, instead
    of a 404; keep-alives hold it meanwhile. Other ended replies stay 404, as before: their
    text is in the conversation.
    """
    reply = stored_reply(current_user.id, stream_id)  # the `id` converter vetted the id
    if reply is None or (reply.status != "streaming" and reply.error != GENERATION_LOST.code):
        raise ApiError(404, "No such stream (it may have expired; see the conversation history).")
    batches = _ending_of(reply, after, current_app._get_current_object(), _runner())
    db.session.remove()  # the wait may last seconds: give the connection back now
    return _events_response(stream_id, batches)


def _ending_of(reply: StoredReply, after: int, app: Flask, runner: Runner) -> Batches:
    """Keep-alives while the reply is `streaming` (closing it as lost once its lease ran out),
    then its closing events."""
    info = reply.info
    current: StoredReply | None = reply
    while current is not None and current.status == "streaming":
        if current.lease_expired:
            runner.close_orphan(info, current.age_s)
        yield None
        gevent.sleep(LEASE_POLL)
        with app.app_context():
            current = stored_reply(info.user_id, info.stream_id)
    ids = info.conversation_id, info.message_id
    if current is None:  # the conversation was deleted meanwhile
        gone = Error("stream_lost", "This reply no longer exists.")
        yield numbered(closing(*ids, "failed", gone), after)
        return
    error = None
    if current.error == GENERATION_LOST.code:
        error = Error.of(GENERATION_LOST)
    elif current.error is not None:
        error = Error(current.error, "The reply ended with an error; see the conversation history.")
    status = "cancelled" if current.status == "interrupted" else current.status
    yield numbered(closing(*ids, status, error), after)


@bp.post("/agents/streams/<id:stream_id>/cancel")
@login_required
def cancel_stream(stream_id: str) -> ResponseReturnValue:
    """202 while the reply runs; 409 `stream_finished`, with how it ended, once it is done."""
    info = _owned_stream(stream_id)
    progress = _broker().progress(stream_id)
    if progress is not None and progress[1]:
        done = _broker().read(stream_id, progress[0] - 1, timeout=0) or []
        status = done[-1].data["status"] if done else "finished"
        return json_error(
            409,
            f"This reply has already ended ({status}).",
            code="stream_finished",
            extra={"status": status},
        )
    _runner().cancel(info.stream_id)
    return jsonify({"stream_id": info.stream_id, "status": "cancelling"}), 202


APPROVAL_LAG = 1.0  # seconds an answer waits for its approval event to reach this worker
MAX_CALL_ID_CHARS = 128  # providers make ids like "call_abc123"; ours are shorter still


@bp.post("/agents/streams/<id:stream_id>/approvals/<call_id>")
@login_required
def answer_approval(stream_id: str, call_id: str) -> ResponseReturnValue:
    """Approve or decline a tool call waiting for consent, in whichever process runs it.

    The stream's own events say whether the call asked (else 404) and whether it is still
    waiting (else 409 `approval_closed`: answered, timed out, or the reply ended).
    """
    info = _owned_stream(stream_id)
    if len(call_id) > MAX_CALL_ID_CHARS or CONTROL_CHARS.search(call_id):
        raise ApiError(404, "No such approval request.")
    approve = parse_body(ApprovalBody).approve
    events = _broker().read(stream_id, 0, timeout=0) or []
    asked = any(e.name == "approval" and e.data.get("call_id") == call_id for e in events)
    if not asked and events and events[-1].name != "done":
        # Another worker's Redis copy may trail the reader's by a batch: wait for it briefly.
        events += _broker().read(stream_id, events[-1].seq, timeout=APPROVAL_LAG) or []
        asked = any(e.name == "approval" and e.data.get("call_id") == call_id for e in events)
    if not asked:
        raise ApiError(404, "No such approval request.")
    ended = any(
        e.name == "done"
        or (
            e.name == "tool"
            and e.data.get("call_id") == call_id
            and e.data.get("status") != "started"
        )
        for e in events
    )
    if ended:
        raise ApiError(
            409,
            "This call is no longer waiting for an answer (answered, expired or stopped).",
            code="approval_closed",
        )
    _runner().answer(info.stream_id, call_id, approve)
    decision = "approved" if approve else "declined"
    return jsonify({"stream_id": stream_id, "call_id": call_id, "status": decision}), 200


@bp.get("/sse/health")
def sse_health() -> ResponseReturnValue:
    config = current_app.config
    broker = _broker()
    return jsonify(
        {
            "status": "ok",
            **broker.stats(),
            "broker": broker.kind,
            "keepalive_s": config["SSE_KEEPALIVE"],
            "timeout_s": config["SSE_TIMEOUT"],
            "retry_ms": config["SSE_RETRY"],
        }
    )


class RenameBody(BaseModel):
    title: str = Field(min_length=1, max_length=200)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, title: str) -> str:
        title = title.strip()
        if not title:
            raise ValueError("must not be blank")
        return title


@bp.get("/agents/conversations")
@login_required
def list_conversations() -> ResponseReturnValue:
    """Newest first; `?q=` keeps those whose title or messages contain it."""
    query = search_query()
    statement = select(Conversation).where(Conversation.user_id == current_user.id)
    if query is not None:
        statement = matching(statement, query)
    conversations = db.session.scalars(
        statement.order_by(Conversation.updated_at.desc()).limit(200)
    )
    return jsonify({"conversations": [c.to_dict() for c in conversations]})


@bp.get("/agents/conversations/<id:conversation_id>")
@login_required
def get_conversation(conversation_id: str) -> ResponseReturnValue:
    conversation = owned_conversation(current_user, conversation_id)
    messages = db.session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)
    ).all()
    if request.args.get("format") == "markdown":
        return markdown_export(conversation, list(messages))
    return jsonify(
        {"conversation": conversation.to_dict(), "messages": [m.to_dict() for m in messages]}
    )


@bp.patch("/agents/conversations/<id:conversation_id>")
@login_required
def rename_conversation(conversation_id: str) -> ResponseReturnValue:
    conversation = owned_conversation(current_user, conversation_id)
    conversation.title = parse_body(RenameBody).title
    db.session.commit()
    return jsonify({"conversation": conversation.to_dict()})


@bp.delete("/agents/conversations/<id:conversation_id>")
@login_required
def delete_conversation(conversation_id: str) -> ResponseReturnValue:
    db.session.delete(owned_conversation(current_user, conversation_id))
    db.session.commit()
    return "", 204
