"""Reading request bodies and path ids, with errors in the one shape.

Every JSON body the API accepts passes through `parse_body`, which is also where text that
no field may hold is refused: C0 control characters (NUL above all: PostgreSQL's `text` cannot
store it, so it was a 500 there and fine on SQLite). Tab and newline are text in fields a
model names as multi-line (a chat message). Path ids are matched by the `id` URL converter, so
a malformed one is a 404 before any view or query runs.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, TypeVar

from flask import Flask, request
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from app.errors import ApiError

MAX_JSON_DEPTH = 32  # nothing the API accepts nests deeper than a few levels
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_CHARS_BUT_TAB_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Model = TypeVar("Model", bound=BaseModel)


class Body(BaseModel):
    """Base of the request bodies: `multiline` names the fields that may hold tab and newline."""

    multiline: ClassVar[frozenset[str]] = frozenset()


class ApprovalBody(Body):
    """`POST /agents/streams/<stream_id>/approvals/<call_id>` (CONTRACT.md 6.3): a JSON `true`
    runs the waiting tool call, `false` declines it; nothing else (no "yes", no 1) is taken."""

    approve: bool = Field(strict=True)


class IdConverter(BaseConverter):
    """`<id:name>`: the ids the app makes (32 lower-case hex digits); anything else is a 404."""

    regex = "[0-9a-f]{32}"


def init_validation(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter


def field_errors(error: ValidationError) -> dict[str, str]:
    """`{"email": "value is not a valid email address"}` from pydantic's error list."""
    fields: dict[str, str] = {}
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "body"
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        fields.setdefault(name, message)
    return fields


def _depth(value: Any) -> int:
    """How deeply `value` nests lists and objects (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def json_sent_as_a_form() -> bool:
    """`curl -d '{"message": "hi"}'` without a content type sends a JSON object as a form.

    Read it as JSON: that is what the sender meant and what the seed's examples do. A browser
    form never sends it (it percent-encodes the brace), so login and signup answer it as API
    calls: a token in the body, no session, hence nothing for CSRF to protect. A logged-in
    session's writes still need their CSRF token whatever the body (app/auth/identity.py).
    """
    if request.mimetype != "application/x-www-form-urlencoded":
        return False
    return request.get_data(cache=True).lstrip()[:1] == b"{"


def json_object() -> dict[str, Any]:
    """The request's JSON object body: 415 for another content type, 413 past the size limit
    (announced or not), 400 for anything that is not a JSON object of sane depth."""
    if not (request.is_json or json_sent_as_a_form()):
        raise ApiError(415, "Send a JSON body with Content-Type: application/json.")
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH if the length is announced
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()  # chunked: werkzeug stops reading at the limit, silently
    try:
        data = json.loads(raw)
    except RecursionError:  # `[[[[…` thousands deep: json.loads gives up before any depth check
        raise ApiError(400, f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise ApiError(400, "The body is not valid JSON.") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise ApiError(400, f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return data


def control_character_errors(data: dict[str, Any], multiline: frozenset[str]) -> dict[str, str]:
    """Fields whose text holds a control character (nested values are named `a.b`)."""
    fields: dict[str, str] = {}
    pending: list[tuple[str, Any]] = list(data.items())
    while pending:
        name, value = pending.pop()
        if isinstance(value, dict):
            pending.extend((f"{name}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((f"{name}.{index}", item) for index, item in enumerate(value))
        elif isinstance(value, str):
            pattern = CONTROL_CHARS_BUT_TAB_NEWLINE if name in multiline else CONTROL_CHARS
            if pattern.search(value):
                fields[name] = "must not contain control characters"
    return fields


def parse_body(model: type[Model]) -> Model:
    """Validate the JSON body against `model`; 400 with one message per bad field."""
    data = json_object()
    multiline = model.multiline if issubclass(model, Body) else frozenset()
    for name in multiline:  # a Windows line end is a newline
        if isinstance(data.get(name), str):
            data[name] = data[name].replace("\r\n", "\n")
    fields = control_character_errors(data, multiline)
    if fields:
        raise ApiError(400, "Some fields hold control characters.", fields=fields)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(400, "Some fields are invalid.", fields=field_errors(error)) from None
