"""Reading JSON request bodies into pydantic models, with errors in the one shape."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from app.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)


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


def json_object() -> dict:
    """The request's JSON object body: 415 for another content type, 400 for anything else."""
    if not request.is_json:
        raise ApiError(415, "Send a JSON body with Content-Type: application/json.")
    data = request.get_json(silent=True)  # a body over the size limit still raises 413
    if data is None:
        raise ApiError(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return data


def parse_body(model: type[Model]) -> Model:
    """Validate the JSON body against `model`; 400 with one message per bad field."""
    try:
        return model.model_validate(json_object())
    except ValidationError as error:
        fields = field_errors(error)
        raise ApiError(400, "Some fields are invalid.", fields=fields) from None
