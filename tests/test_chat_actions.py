"""Chat actions of CONTRACT.md 6.4 that need no stream: search and the Markdown download;
conversation timestamps. On SQLite and PostgreSQL (regenerate streams: tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Conversation, Message, User
from tests.conftest import AuthActions
from tests.support.assertions import assert_error


@pytest.fixture
def bearer(auth: AuthActions) -> dict[str, str]:
    return auth.headers()


def add_conversation(app: Flask, title: str, *texts: str, tool_calls: Any = None) -> str:
    """A conversation of user@example.com with alternating user/assistant `texts`."""
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "user@example.com")).one()
        conversation = Conversation(user_id=user.id, title=title)
        db.session.add(conversation)
        db.session.flush()
        for seq, text in enumerate(texts, start=1):
            role = "user" if seq % 2 else "assistant"
            db.session.add(
                Message(
                    conversation_id=conversation.id,
                    seq=seq,
                    role=role,
                    content=text,
                    tool_calls=tool_calls if role == "assistant" else None,
                )
            )
        db.session.commit()
        return conversation.id


def titles(client: FlaskClient, query: str, headers: dict[str, str]) -> list[str]:
    response = client.get("/agents/conversations", query_string={"q": query}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return sorted(c["title"] for c in response.get_json()["conversations"])


def test_search_matches_titles_and_message_text_ignoring_case(
    app: Flask, client: FlaskClient, bearer: dict[str, str]
) -> None:
    add_conversation(app, "Portland homes", "3 bedrooms under 700k", "Here are some.")
    add_conversation(app, "Markets", "How is Seattle trending?", "Prices rose in BOISE.")
    add_conversation(app, "Mortgage", "Monthly payment on 500k?", "About $2,500.")

    assert titles(client, "portland", bearer) == ["Portland homes"]
    assert titles(client, "boise", bearer) == ["Markets"]  # in a reply, other case
    assert titles(client, "SEATTLE", bearer) == ["Markets"]
    assert titles(client, "nowhere", bearer) == []
    assert len(titles(client, "  ", bearer)) == 3  # a blank search lists everything


def test_search_treats_like_wildcards_literally(
    app: Flask, client: FlaskClient, bearer: dict[str, str]
) -> None:
    add_conversation(app, "Rates at 5% down", "What about 5% down?")
    add_conversation(app, "Rates at 50 down", "And 50 down?")
    add_conversation(app, "file_name", "x")
    add_conversation(app, "filename", "y")
    add_conversation(app, "back\\slash", "z")

    assert titles(client, "5%", bearer) == ["Rates at 5% down"]
    assert titles(client, "%", bearer) == ["Rates at 5% down"]
    assert titles(client, "file_", bearer) == ["file_name"]
    assert titles(client, "k\\s", bearer) == ["back\\slash"]


def test_search_sees_only_ones_own_conversations(
    app: Flask, client: FlaskClient, auth: AuthActions, bearer: dict[str, str]
) -> None:
    add_conversation(app, "Portland homes", "hello")
    other = auth.headers(email="other@example.com")
    assert titles(client, "portland", other) == []


def test_bad_searches_are_400_naming_q(client: FlaskClient, bearer: dict[str, str]) -> None:
    for query in ("a" * 201, "port\u0000land"):
        response = client.get("/agents/conversations", query_string={"q": query}, headers=bearer)
        error = assert_error(response, 400, "invalid_request")
        assert set(error["fields"]) == {"q"}


def test_markdown_download_has_every_turn_and_summarised_tool_calls(
    app: Flask, client: FlaskClient, bearer: dict[str, str]
) -> None:
    calls = [
        {
            "call_id": "t1",
            "name": "search_listings",
            "arguments": {"city": "Portland", "max_price": 700000},
            "status": "completed",
            "summary": "Found 14 listings",
            "display": {"kind": "listings", "items": [{"id": "L1"}] * 10},
        }
    ]
    conversation_id = add_conversation(
        app, "Portland / homes ✓", "3 bedrooms in Portland", "Here are 14 homes.", tool_calls=calls
    )
    response = client.get(
        f"/agents/conversations/{conversation_id}?format=markdown", headers=bearer
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="portland-homes.md"'
    text = response.get_data(as_text=True)
    assert text.startswith("# Portland / homes ✓\n")
    assert text.index("## You") < text.index("3 bedrooms in Portland") < text.index("## Assistant")
    assert (
        "- Tool `search_listings(city=Portland, max_price=700000)`: completed, Found 14 listings"
        in text
    )
    assert "Here are 14 homes." in text
    assert "L1" not in text  # the display payload is for the page, not the summary


def test_markdown_download_is_owner_only(
    app: Flask, client: FlaskClient, auth: AuthActions, bearer: dict[str, str]
) -> None:
    conversation_id = add_conversation(app, "Mine", "hello")
    other = auth.headers(email="other@example.com")
    response = client.get(f"/agents/conversations/{conversation_id}?format=markdown", headers=other)
    assert_error(response, 404, "not_found")


def test_rename_moves_updated_at_and_it_never_precedes_created_at(
    app: Flask, client: FlaskClient, bearer: dict[str, str]
) -> None:
    conversation_id = add_conversation(app, "Old title", "hello")
    path = f"/agents/conversations/{conversation_id}"
    before = client.get(path, headers=bearer).get_json()["conversation"]
    assert before["updated_at"] >= before["created_at"]
    with app.app_context():  # make the difference visible at any clock resolution
        conversation = db.session.get(Conversation, conversation_id)
        earlier = datetime.now(UTC) - timedelta(hours=1)
        conversation.created_at = conversation.updated_at = earlier
        db.session.commit()
    renamed = client.patch(path, json={"title": "New title"}, headers=bearer).get_json()
    after = renamed["conversation"]
    assert after["title"] == "New title"
    created, updated = (datetime.fromisoformat(after[key]) for key in ("created_at", "updated_at"))
    assert abs(created - earlier) < timedelta(seconds=1)
    assert updated - earlier > timedelta(minutes=59)
