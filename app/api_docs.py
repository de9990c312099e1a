"""`GET /openapi.json` (the document of app/openapi.py) and `GET /api/docs`, which renders it.

The page is Swagger UI served from `app/static/vendor/swagger-ui/` (the swagger-ui-dist npm
package, vendored): no CDN, and its start-up is a script file, so the pages' CSP holds.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template

bp = Blueprint("api_docs", __name__)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """Built once per process: the routes and models do not change while it runs."""
    from app.openapi import build_document

    document = current_app.extensions.get("openapi_document")
    if document is None:
        document = current_app.extensions["openapi_document"] = build_document(current_app)
    return jsonify(document)


@bp.get("/api/docs")
def api_docs() -> str:
    return render_template("api_docs.html")
