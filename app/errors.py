"""The one error shape of every JSON endpoint, and HTML error pages for browsers.

Every error body is `{"error": {"code", "message", "fields"?}}`. Whether a client gets JSON or
an HTML page is content negotiation: a browser navigating to a page (Accept prefers text/html)
gets HTML; fetch, EventSource, curl and API clients get JSON.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

# The stable machine-readable code for each status.
CODES: dict[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
}


class ApiError(Exception):
    """Raised anywhere in a request to answer with the one error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.fields = fields
        self.headers = headers or {}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def json_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The error response; `extra` adds top-level members beside `error` (e.g. a `status`)."""
    response = jsonify(
        {**error_body(code or CODES.get(status, "error"), message, fields), **(extra or {})}
    )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_html() -> bool:
    """True for a browser navigating to a page, false for API and EventSource clients."""
    if request.is_json:
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > 0


MESSAGES: dict[int, str] = {
    400: "The request is malformed.",
    401: "Authentication required.",
    403: "You are not allowed to do this.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "The request body is too large.",
    415: "Send a JSON body with Content-Type: application/json.",
    429: "Too many requests; slow down.",
    500: "Something went wrong on our side.",
}


def _http_error(error: HTTPException) -> Response | tuple[str, int]:
    status = error.code or 500
    headers: dict[str, str] = {}
    if isinstance(error, RateLimitExceeded):
        headers["Retry-After"] = str(_seconds_until_reset(error))
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    code = None
    message = MESSAGES.get(status) or error.description or "Error"
    if isinstance(error, CSRFError):
        # The session is authenticated but this request did not prove it came from our pages.
        status, code, message = 403, "csrf_failed", f"{error.description} Reload the page."
    if wants_html():
        return render_template("error.html", status=status, message=message), status
    return json_error(status, message, code=code, headers=headers)


def _seconds_until_reset(error: RateLimitExceeded) -> int:
    """The real wait: until the window of the limit that was hit resets (at least 1 s)."""
    from app.extensions import limiter

    breached = limiter.current_limit
    if breached is None:  # not known here: a whole window is the longest wait
        return error.limit.limit.get_expiry()
    return max(1, math.ceil(breached.reset_at - time.time()))


def _api_error(error: ApiError) -> Response:
    return json_error(
        error.status, error.message, code=error.code, fields=error.fields, headers=error.headers
    )


def _unexpected(error: Exception) -> Response | tuple[str, int]:
    log.exception("unhandled error", exc_info=error)
    return _http_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
