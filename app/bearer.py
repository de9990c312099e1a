"""The one reader of `Authorization: Bearer <token>`, for the main app and the MCP services.

werkzeug parses the header (`request.authorization`); this only says whether it names a bearer
token. It imports nothing of `app`, so the MCP server kit can use it too.
"""

from __future__ import annotations

from flask import Request, request


def bearer_token(req: Request | None = None) -> str | None:
    """The token of the request's `Authorization: Bearer` header, or None if there is none."""
    authorization = (req or request).authorization
    if authorization is None or authorization.type != "bearer":
        return None
    return authorization.token or None
