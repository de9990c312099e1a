"""The API described (CONTRACT.md 6.6): `/openapi.json` covers every route, validates as
OpenAPI 3.1, is built from the models the views validate with, and `/api/docs` renders it with
the app's own assets. (Rendering in Chromium: tests/browser; schemathesis: tests/integration.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from pydantic import ValidationError

from app.auth.views import SignupBody
from app.chat.events import WireEvent
from app.chat.replies import ChatBody
from app.validation import ApprovalBody

CONTRACT_EVENTS = {"start", "thinking", "tool", "approval", "content", "error", "done"}
NOT_API = {  # pages for people and the static files; everything else must be documented
    ("GET", "/"),
    ("GET", "/tokens"),
    ("GET", "/auth/login"),
    ("GET", "/auth/signup"),
    ("GET", "/api/docs"),
    ("GET", "/static/{filename}"),
}


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    """The document does not depend on the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_of_the_app_is_documented(app: Flask, document: dict[str, Any]) -> None:
    served = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert served - NOT_API - documented(document) == set()
    assert documented(document) <= served  # nothing documented that the app does not serve


def test_request_bodies_are_the_models_the_views_validate_with(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    signup = document["paths"]["/auth/signup"]["post"]["requestBody"]
    assert signup["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SignupBody"
    }
    assert schemas["SignupBody"]["required"] == ["email", "password"]
    assert schemas["SignupBody"]["properties"]["password"]["minLength"] == (
        SignupBody.model_fields["password"].metadata[0].min_length
    )
    assert set(schemas["ChatBody"]["properties"]) == set(ChatBody.model_fields)
    regenerate = document["paths"]["/agents/conversations/{conversation_id}/regenerate"]["post"]
    assert regenerate["requestBody"]["required"] is False


def test_errors_share_one_component(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("4"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method)


def test_streams_are_event_streams_with_their_event_names(document: dict[str, Any]) -> None:
    for path, method in [
        ("/agents/chat-stream", "post"),
        ("/agents/streams/{stream_id}", "get"),
    ]:
        operation = document["paths"][path][method]
        assert "text/event-stream" in operation["responses"]["200"]["content"]
        for name in CONTRACT_EVENTS:
            assert f"`{name}`" in operation["description"]
    schemas = document["components"]["schemas"]
    for event in WireEvent.__subclasses__():
        assert f"{event.event.capitalize()}Event" in schemas
    assert schemas["DoneEvent"]["required"] == ["status", "conversation_id", "message_id"]


def test_both_auth_schemes_are_described(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["session"]["in"] == "cookie"
    assert schemes["csrf"] == {**schemes["csrf"], "in": "header", "name": "X-CSRFToken"}
    rename = document["paths"]["/agents/conversations/{conversation_id}"]["patch"]
    assert rename["security"] == [{"bearer": []}, {"session": [], "csrf": []}]
    assert document["paths"]["/auth/login"]["post"]["security"] == []


def test_api_docs_page_uses_only_the_apps_own_assets(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/static/") for source in sources)
    assert "<script>" not in html  # no inline script
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.get_data()) > 100


def test_approval_body_takes_only_a_json_boolean() -> None:
    assert ApprovalBody.model_validate({"approve": False}).approve is False
    for wrong in ({}, {"approve": "yes"}, {"approve": 1}):
        with pytest.raises(ValidationError):
            ApprovalBody.model_validate(wrong)
