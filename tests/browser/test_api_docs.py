"""`/api/docs` renders the app's OpenAPI document in a real Chromium (CONTRACT.md 6.6), with
the assets the app serves and under the pages' CSP: no request leaves the app's origin, and
the console shows no CSP violation. A screenshot goes to test-artifacts/api-docs.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, expect

from tests.support.browser import NEEDS_CHROMIUM
from tests.support.live import ROOT, LiveServer, app_env, start_app
from tests.support.llm_server import ScriptedLLM

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[LiveServer]:
    server = start_app(app_env(tmp_path_factory.mktemp("docs"), "sqlite", llm))
    yield server
    server.stop()


def test_api_docs_renders_every_operation_from_the_apps_own_assets(
    live: LiveServer, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []
    console: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(live.url) else elsewhere.append(request.url),
    )
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(f"{live.url}/api/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Estate Assistant API")
    expect(page.locator(".opblock").first).to_be_visible()
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/agents/conversations/{conversation_id}/regenerate" in summaries
    assert "/auth/login" in summaries
    document = page.request.get(f"{live.url}/openapi.json").json()
    count = sum(len(operations) for operations in document["paths"].values())
    assert page.locator(".opblock").count() == count

    page.locator(".opblock-summary-path", has_text="/auth/login").first.click()
    body = page.locator(".opblock-body").first
    expect(body).to_contain_text('"password": "string"')  # LoginBody, the view's own model
    expect(body).to_contain_text("Malformed or invalid input")  # the shared Error answers
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "test-artifacts" / "api-docs.png"), full_page=False)
    assert elsewhere == []  # no CDN, no font or image from another origin
    assert not [line for line in console if "Content Security Policy" in line], console
    page.close()


def test_try_it_out_works_for_a_logged_in_browser(live: LiveServer, browser: Browser) -> None:
    """A session write from the docs page carries the CSRF token, as the app's pages do."""
    requests.post(
        f"{live.url}/auth/signup",
        json={"email": "docs@example.com", "password": "securepassword123"},
        timeout=10,
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live.url}/auth/login")
    page.fill("input[name=email]", "docs@example.com")
    page.fill("input[name=password]", "securepassword123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")
    page.goto(f"{live.url}/api/docs")

    block = page.locator(".opblock-post", has=page.locator("[data-path='/auth/tokens']"))
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.locator("textarea.body-param__text").fill('{"name": "from the docs"}')
    block.get_by_role("button", name="Execute").click()
    expect(block.locator(".live-responses-table tbody .response-col_status").first).to_have_text(
        "201"
    )
    listed = page.request.get(f"{live.url}/auth/tokens").json()["tokens"]
    assert [token["name"] for token in listed] == ["from the docs"]
    page.close()
