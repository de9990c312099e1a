"""CORS for the JSON API and the stream routes: off unless `CORS_ORIGINS` lists origins.

Only listed origins get CORS headers, always with credentials allowed for exactly that origin
(never `*`). HTML pages never get them: the page routes that also take JSON (login, signup)
get CORS on their JSON POST only.
"""

from __future__ import annotations

from flask import Flask, Response, request

from app.errors import json_error

API_PREFIXES = ("/agents/", "/auth/me", "/auth/tokens", "/auth/mcp-token", "/sse/health")
JSON_POST_ONLY = ("/auth/login", "/auth/signup")
ALLOWED_METHODS = "GET, POST, PATCH, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, Last-Event-ID, X-CSRFToken, X-Request-Id"
EXPOSED_HEADERS = "X-Stream-Id, X-Request-Id, Retry-After"


def _is_api(path: str, method: str) -> bool:
    if path.startswith(API_PREFIXES) or path == "/.well-known/jwks.json":
        return True
    return path in JSON_POST_ONLY and method == "POST"


def _allow(response: Response, origin: str) -> Response:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.vary.add("Origin")
    return response


def init_cors(app: Flask) -> None:
    origins = frozenset(app.config["CORS_ORIGINS"])
    if not origins:
        return

    @app.before_request
    def _preflight() -> Response | None:
        asked = request.headers.get("Access-Control-Request-Method")
        if request.method != "OPTIONS" or not asked or not _is_api(request.path, asked):
            return None
        origin = request.headers.get("Origin", "")
        if origin not in origins:
            return json_error(403, "This origin may not call the API.", code="origin_not_allowed")
        response = _allow(Response(status=204), origin)
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
        return response

    @app.after_request
    def _headers(response: Response) -> Response:
        origin = request.headers.get("Origin", "")
        if origin in origins and _is_api(request.path, request.method):
            _allow(response, origin)
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response
