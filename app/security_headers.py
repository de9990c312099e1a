"""Protective response headers, the same for all three processes.

Every response says `X-Content-Type-Options: nosniff`, so a browser never runs a JSON body or
an upload as a script or a page. HTML pages also get a Content-Security-Policy that allows only
our own scripts, styles and connections (no inline script or style, no eval), may not be framed
(`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for browsers older than CSP 2), and send
the referrer only to our own origin. The pages are built for this: scripts and styles come from
`app/static/`, and scripts set styles through `element.style`, which CSP allows.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    )
)
EVERY_RESPONSE = {"X-Content-Type-Options": "nosniff"}
HTML_RESPONSES = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def init_security_headers(app: Flask) -> None:
    """Add the headers to every response of `app`, error pages included."""

    @app.after_request
    def _protect(response: Response) -> Response:
        headers = dict(EVERY_RESPONSE)
        if response.mimetype == "text/html":
            headers.update(HTML_RESPONSES)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
