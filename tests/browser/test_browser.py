"""The chat page and the tokens page in a real browser: Debian's Chromium driven by playwright.

The app runs under gunicorn on loopback with the scripted LLM (MCP services unreachable, so
tool lines end "failed"). Screenshots of the chat page mid-stream and finished, at desktop and
phone widths, are written to test-artifacts/ for a human to look at.

Skipped with a reason when /usr/bin/chromium or the playwright package is missing; CI installs
both (apt-get install chromium, pip install playwright). `playwright install` is never used.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect

from tests.support.browser import ARTIFACTS, DESKTOP, NEEDS_CHROMIUM, PHONE
from tests.support.live import LiveServer, SseStream, app_env, start_app
from tests.support.llm_server import ScriptedLLM, Turn

PASSWORD = "securepassword123"
JWT = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")


pytestmark = NEEDS_CHROMIUM

RECORD_EVENT_SOURCES = """
window.__eventIds = [];
window.__sources = [];
window.EventSource = class extends EventSource {
  constructor(...args) {
    super(...args);
    window.__sources.push(this);
  }
  addEventListener(type, listener, options) {
    const recording = (event) => {
      if (event instanceof MessageEvent) window.__eventIds.push(event.lastEventId);
      return listener.call(this, event);
    };
    return super.addEventListener(type, recording, options);
  }
};
"""
ALL_SOURCES_CLOSED = "__sources.length > 0 && __sources.every(source => source.readyState === 2)"

LISTING_REPLY = (
    "## Homes in Portland\n\n"
    "I found **3 active listings** under $700,000:\n\n"
    "| Listing | Address | Price | Beds | Baths | Sqft |\n"
    "|---|---|---:|---:|---:|---:|\n"
    "| L100234 | 1234 SE Division St | $545,000 | 3 | 2 | 1,640 |\n"
    "| L100871 | 88 NE Alberta St | $615,000 | 3 | 2.5 | 1,910 |\n"
    "| L101502 | 4410 N Williams Ave | $689,000 | 4 | 3 | 2,250 |\n\n"
    "- The *Division* home is the best value per square foot.\n"
    "- Ask me for a `mortgage estimate` or [the market](https://example.com/portland).\n"
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[LiveServer]:
    server = start_app(app_env(tmp_path_factory.mktemp("browser"), "sqlite", llm))
    yield server
    server.stop()


def new_page(browser: Browser, live: LiveServer, viewport: dict[str, int] = DESKTOP) -> Page:
    context = browser.new_context(base_url=live.url, viewport=viewport)
    context.set_default_timeout(10_000)
    return context.new_page()


def is_policy_report(message: ConsoleMessage) -> bool:
    """Chromium reports each Content-Security-Policy violation as a console error."""
    return "Content Security Policy" in message.text


def record_problems(page: Page, problems: list[str]) -> None:
    """Collect the page's CSP violations and uncaught script errors into `problems`."""

    def on_console(message: ConsoleMessage) -> None:
        if is_policy_report(message):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))


@pytest.fixture
def problems() -> list[str]:
    """What the page under test reported; every test ends with none."""
    return []


@pytest.fixture
def page(
    browser: Browser, live: LiveServer, llm: ScriptedLLM, problems: list[str]
) -> Iterator[Page]:
    llm.reset()
    page = new_page(browser, live)
    record_problems(page, problems)
    try:
        yield page
        assert problems == [], "the page broke its Content-Security-Policy or threw"
    finally:
        page.context.close()


def sign_up(page: Page, name: str = "Ada") -> str:
    email = f"b{time.monotonic_ns()}@example.com"
    page.goto("/auth/signup")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    chat_ready(page)
    return email


def chat_ready(page: Page) -> None:
    """Wait until the page's script has taken over the composer (ES modules load after HTML)."""
    expect(page.locator("#composer")).to_have_attribute("data-ready", "true")


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), animations="disabled", full_page=full_page)


def last_answer(page: Page) -> Any:
    return page.locator(".msg-assistant").last.locator(".answer")


def watch(page: Page, selector: str, expression: str, name: str) -> None:
    """Record `expression` (of `el`) into window[name] on every change under `selector`."""
    page.evaluate(
        """([selector, expression, name]) => {
            const el = document.querySelector(selector);
            const read = new Function("el", `return (${expression});`);
            window[name] = [read(el)];
            new MutationObserver(() => window[name].push(read(el))).observe(
              el, {childList: true, subtree: true, characterData: true, attributes: true});
        }""",
        [selector, expression, name],
    )


def wait_until_done(page: Page) -> None:
    expect(page.locator(".msg-assistant").last).to_have_attribute("data-status", re.compile(r"\w"))


def test_signup_chat_streams_progressively_with_thinking_tool_line_and_metrics(
    page: Page, llm: ScriptedLLM, live: LiveServer
) -> None:
    words = " ".join(f"word{n}" for n in range(1, 21))
    llm.script(
        Turn.tool_calls([("search_listings", {"city": "Portland"})], delay=0.2),
        Turn.text(words, chunk_words=1, delay=0.12),
    )
    page.add_init_script(RECORD_EVENT_SOURCES)
    sign_up(page)
    expect(page.locator(".mode")).to_have_text("Model: scripted-model")
    expect(page.get_by_role("link", name="API tokens")).to_be_visible()

    # Keyboard only: Shift+Enter breaks the line, Enter sends.
    page.keyboard.type("Homes in Portland")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("with a garden")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-user .bubble")).to_have_text("Homes in Portland\nwith a garden")
    expect(page.get_by_role("textbox", name="Message")).to_be_disabled()
    expect(page.get_by_role("button", name="Stop")).to_be_focused()
    watch(page, ".msg-assistant:last-of-type", "el.querySelector('.answer').textContent", "texts")
    watch(page, ".msg-assistant:last-of-type .tools", "el.textContent", "tools")

    expect(page.locator(".msg-assistant .thinking")).to_be_visible()
    expect(page.locator(".tool-line")).to_have_attribute("data-status", "failed")
    expect(last_answer(page)).to_contain_text("word3")
    expect(page.locator(".msg-assistant .thinking")).to_be_hidden()
    screenshot(page, "chat-desktop-mid-stream")
    wait_until_done(page)

    expect(last_answer(page)).to_have_text(words)
    texts = [t for t in page.evaluate("window.texts") if t]
    partial = sorted({t for t in texts if t != words}, key=len)
    assert len(partial) >= 5, partial  # the text grew in many steps, not all at once
    assert all(words.startswith(t) for t in partial)
    tools = page.evaluate("window.tools")
    assert any(t.startswith("Searching listings in Portland…") for t in tools), tools
    expect(page.locator(".tool-line")).to_contain_text("Searching listings in Portland: failed")
    metrics = page.locator(".msg-assistant .metrics")
    expect(metrics).to_contain_text("First token")
    expect(metrics).to_contain_text("tokens/s")
    expect(metrics).to_contain_text("1 tool call")
    expect(page.get_by_role("textbox", name="Message")).to_be_enabled()
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    assert page.evaluate(ALL_SOURCES_CLOSED)  # closed on `done`: no reconnect loop
    screenshot(page, "chat-desktop-finished")

    # History survives a reload, tool line and metrics included.
    page.reload()
    expect(page.locator(".conversation-open")).to_have_text("Homes in Portland\nwith a garden")
    expect(last_answer(page)).to_have_text(words)
    expect(page.locator(".tool-line")).to_contain_text("failed")
    expect(page.locator(".msg-assistant .metrics")).to_contain_text("1 tool call")

    # Logout ends the session: the chat page sends you to the login page.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login"))


def test_stop_cancels_the_reply_and_reenables_the_input(page: Page, llm: ScriptedLLM) -> None:
    llm.script(Turn.text(" ".join(["slow"] * 200), delay=0.05))
    sign_up(page)
    page.keyboard.type("Tell me everything")
    page.keyboard.press("Enter")
    expect(last_answer(page)).to_contain_text("slow slow slow")
    page.keyboard.press("Enter")  # focus moved to Stop when the reply started

    expect(page.locator(".msg-assistant .notice")).to_have_text("Stopped.")
    expect(page.locator(".msg-assistant").last).to_have_attribute("data-status", "cancelled")
    message_box = page.get_by_role("textbox", name="Message")
    expect(message_box).to_be_enabled()
    expect(message_box).to_be_focused()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert llm.wait_for(lambda: llm.client_closed, timeout=5)  # the upstream request was closed
    shown = last_answer(page).text_content() or ""
    assert 0 < shown.count("slow") < 200


def _first_events(url: str, cookies: list[dict[str, Any]], count: int) -> list[Any]:
    """Read the first `count` events of a stream as the browser's session, then hang up."""
    jar = {c["name"]: c["value"] for c in cookies}
    response = requests.get(url, cookies=jar, stream=True, timeout=(5, 10))
    stream = SseStream(response)
    events = stream.take(count)
    stream.close()
    return events


def test_dropped_connection_resumes_with_nothing_lost_or_doubled(
    page: Page, llm: ScriptedLLM
) -> None:
    words = " ".join(f"w{n}" for n in range(1, 41))
    llm.script(Turn.text(words, delay=0.05))
    page.add_init_script(RECORD_EVENT_SOURCES)  # what the browser received, in order
    sign_up(page)
    connections = []

    def cut_first_connection(route: Route) -> None:
        """The first connection gets 8 events then ends, repeating event 7 as a proxy might."""
        connections.append(route.request.url)
        if len(connections) > 1:
            route.continue_()
            return
        events = _first_events(route.request.url, page.context.cookies(), 8)
        frames = [
            f"id: {e.id}\nevent: {e.event}\ndata: {json.dumps(e.data)}\n\n"
            for e in [*events, events[6]]
        ]
        route.fulfill(
            status=200,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
            body="retry: 200\n\n" + "".join(frames),
        )

    page.route("**/agents/streams/*", cut_first_connection)
    watch(page, "#connection", "el.dataset.state", "states")
    page.keyboard.type("Count for me")
    page.keyboard.press("Enter")
    wait_until_done(page)

    expect(last_answer(page)).to_have_text(words)
    assert page.locator(".msg-assistant").last.get_attribute("data-status") == "completed"
    assert len(connections) == 2, connections  # one reconnect; closed on `done`, no more
    received = [int(i.rsplit(":", 1)[1]) for i in page.evaluate("window.__eventIds")]
    last = received[-1]
    # The reconnect sent Last-Event-ID (...:7, the repeat), so the server replayed from 8;
    # the page dropped the repeated 7 and 8 itself.
    assert received == [*range(1, 9), 7, *range(8, last + 1)]
    assert "reconnecting" in page.evaluate("window.states")
    assert page.evaluate(ALL_SOURCES_CLOSED)
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    page.reload()
    expect(last_answer(page)).to_have_text(words)


def test_a_stream_the_server_will_not_resume_shows_what_history_saved(
    page: Page, llm: ScriptedLLM
) -> None:
    llm.script(Turn.text(" ".join(["slow"] * 60), delay=0.1))
    page.add_init_script(RECORD_EVENT_SOURCES)
    sign_up(page)
    connections = []

    def expired(route: Route) -> None:
        """Every attempt to follow the stream gets 204, as for an expired or unknown stream."""
        connections.append(route.request.url)
        route.fulfill(status=204)

    page.route("**/agents/streams/*", expired)
    page.keyboard.type("Tell me slowly")
    page.keyboard.press("Enter")

    reply = page.locator(".msg-assistant").last
    expect(reply).to_have_attribute("data-status", "interrupted")  # reloaded from history
    expect(reply.locator(".notice")).to_contain_text("the connection was lost")
    expect(page.get_by_role("textbox", name="Message")).to_be_enabled()
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    assert page.evaluate(ALL_SOURCES_CLOSED)
    assert len(connections) == 1, connections  # a 204 is final: no reconnect
    # Nobody reads the reply: the server stops it after the detach grace, closing the upstream
    # (before the next test scripts its own turn, which this reply would otherwise take).
    assert llm.wait_for(lambda: llm.client_closed, timeout=15)


def test_model_markup_and_script_links_stay_inert(page: Page, llm: ScriptedLLM) -> None:
    reply = (
        'Look <img src=x onerror="window.__xss=1"> here <script>window.__xss=2</script>\n\n'
        "[click me](javascript:alert(1)) [data](data:text/html,<b>x</b>) "
        "[fine](https://example.com/ok) **bold** <a href=javascript:alert(2)>raw</a>"
    )
    llm.script(Turn.text(reply, chunk_words=3, delay=0.01))
    sign_up(page)
    page.keyboard.type("Show me something")
    page.keyboard.press("Enter")
    wait_until_done(page)

    for _ in range(2):  # as streamed, then as loaded from history
        answer = last_answer(page)
        expect(answer).to_contain_text('<img src=x onerror="window.__xss=1">')
        assert answer.locator("img, script, iframe").count() == 0
        hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.href)")
        assert hrefs == ["https://example.com/ok"]
        expect(answer.locator("strong")).to_have_text("bold")
        assert page.evaluate("window.__xss") is None
        page.reload()


INJECT_INLINE_SCRIPT = """() => {
    const script = document.createElement("script");
    script.textContent = "window.__inline = 1";
    document.body.append(script);
}"""


def test_pages_run_under_a_policy_that_refuses_inline_script(
    page: Page, llm: ScriptedLLM, problems: list[str]
) -> None:
    llm.script(Turn.text("A **short** answer with a [link](https://example.com/).", chunk_words=2))
    sign_up(page)
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    wait_until_done(page)
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("csp check")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_have_text(JWT)
    assert problems == []  # the chat and the tokens pages did all that under the policy

    # Script injected into the page (as an XSS would) does not run, and is reported.
    with page.expect_console_message(is_policy_report):
        page.evaluate(INJECT_INLINE_SCRIPT)
    assert page.evaluate("window.__inline") is None
    assert len(problems) == 1 and "script-src" in problems[0]
    problems.clear()  # the one violation made on purpose


def test_markdown_renderer_builds_tables_lists_code_and_headings(page: Page) -> None:
    sign_up(page)
    shape = page.evaluate(
        """async (text) => {
            const { render } = await import("/static/js/markdown.js");
            const box = document.createElement("div");
            box.append(render(text));
            return {
              heading: box.querySelector("h4").textContent,
              headers: [...box.querySelectorAll("th")].map(th => th.textContent),
              labels: [...box.querySelectorAll("tbody tr:first-child td")]
                .map(td => td.dataset.label + "=" + td.textContent),
              align: box.querySelector("tbody td:nth-child(3)").style.textAlign,
              items: [...box.querySelectorAll("ul > li > em, ol > li")].map(n => n.textContent),
              nested: box.querySelectorAll("ul ul li").length,
              code: box.querySelector("pre code").textContent,
              inlineCode: box.querySelector("p code").textContent,
            };
        }""",
        "## Results\n\n| Id | City | Price |\n|---|---|--:|\n| L1 | Bend | $1 |\n\n"
        "- *one*\n  - inner\n- *two*\n\n1. first\n2. second\n\n```\n<b>x</b>\n```\n\nuse `a<b`",
    )
    assert shape == {
        "heading": "Results",
        "headers": ["Id", "City", "Price"],
        "labels": ["Id=L1", "City=Bend", "Price=$1"],
        "align": "right",
        "items": ["one", "two", "first", "second"],
        "nested": 1,
        "code": "<b>x</b>",
        "inlineCode": "a<b",
    }


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_listing_reply_is_readable_on_desktop_and_phone(
    browser: Browser, live: LiveServer, llm: ScriptedLLM, device: str
) -> None:
    llm.reset()
    llm.script(
        Turn.tool_calls([("search_listings", {"city": "Portland", "max_price": 700000})]),
        Turn.text(LISTING_REPLY, chunk_words=2, delay=0.05),
    )
    page = new_page(browser, live, DESKTOP if device == "desktop" else PHONE)
    problems: list[str] = []
    record_problems(page, problems)
    try:
        sign_up(page)
        page.keyboard.type("Find 3-bedroom homes in Portland under $700,000")
        page.keyboard.press("Enter")
        expect(last_answer(page).locator("table")).to_be_visible()
        screenshot(page, f"listings-{device}-mid-stream")
        wait_until_done(page)
        rows = last_answer(page).locator("tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.first.locator("td").nth(2)).to_have_attribute("data-label", "Price")
        page.evaluate(
            "document.querySelector('.messages').scrollTo({top: 1e6, behavior: 'instant'})"
        )
        screenshot(page, f"listings-{device}-finished")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"]  # nothing sticks out sideways

        sidebar = page.locator("#sidebar")
        if device == "phone":
            expect(sidebar).to_be_hidden()
            expect(last_answer(page).locator("thead")).to_be_hidden()  # rows are cards
            toggle = page.get_by_role("button", name="Show conversations")
            toggle.click()
            expect(sidebar).to_be_visible()
            expect(toggle).to_have_attribute("aria-expanded", "true")
            screenshot(page, "sidebar-phone-open")
            page.keyboard.press("Escape")
            expect(sidebar).to_be_hidden()
        else:
            expect(sidebar).to_be_visible()
            expect(last_answer(page).locator("thead")).to_be_visible()
        assert problems == []
    finally:
        page.context.close()


def test_sidebar_opens_renames_and_deletes_conversations(page: Page, llm: ScriptedLLM) -> None:
    llm.script(Turn.text("First reply."), Turn.text("Second reply."))
    sign_up(page)
    for question in ["First question", "Second question"]:
        page.get_by_role("button", name="+ New conversation").click()
        page.get_by_role("textbox", name="Message").fill(question)
        page.keyboard.press("Enter")
        wait_until_done(page)
    titles = page.locator(".conversation-open")
    expect(titles).to_have_text(["Second question", "First question"])

    titles.nth(1).click()
    expect(last_answer(page)).to_have_text("First reply.")
    expect(page.locator("#conversation-title")).to_have_text("First question")

    page.get_by_role("button", name="Rename “First question”").click()
    rename = page.get_by_role("textbox", name="New title")
    rename.fill("Portland search")
    rename.press("Enter")
    # A rename is an update: the list, newest update first, moves it to the top.
    expect(titles).to_have_text(["Portland search", "Second question"])
    expect(page.locator("#conversation-title")).to_have_text("Portland search")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete “Portland search”").click()
    expect(titles).to_have_text(["Second question"])
    expect(page.locator("#welcome")).to_be_visible()
    page.reload()
    expect(titles).to_have_text(["Second question"])


def test_tokens_page_creates_shows_once_revokes_and_mints_mcp_tokens(
    page: Page, live: LiveServer
) -> None:
    sign_up(page)
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.locator("#token-empty")).to_be_visible()

    page.get_by_label("Name").fill("laptop script")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_have_text(JWT)
    token = page.locator("#new-token").text_content() or ""
    curl = page.locator("#curl-example").text_content() or ""
    assert f"Bearer {token}" in curl and f"{live.url}/agents/chat-stream" in curl
    expect(page.get_by_role("button", name="Copy token")).to_be_focused()
    page.get_by_role("button", name="Copy token").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    rows = page.locator("#token-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("laptop script")
    me = requests.get(f"{live.url}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200

    page.reload()
    expect(page.locator("#token-created")).to_be_hidden()  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke token “laptop script”").click()
    expect(rows).to_have_count(0)
    me = requests.get(f"{live.url}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401

    page.get_by_role("button", name="Get an analytics token").click()
    expect(page.locator("#mcp-url")).to_have_text(live.env["MCP_ANALYTICS_URL"])
    expect(page.locator("#mcp-expiry")).to_contain_text("in 15 minutes")
    expect(page.locator("#mcp-token")).to_have_text(JWT)
    mcp_token = page.locator("#mcp-token").text_content() or ""
    config = json.loads(page.locator("#mcp-config").text_content() or "{}")
    assert config["mcpServers"]["estate-analytics"]["headers"]["Authorization"] == (
        f"Bearer {mcp_token}"
    )
    screenshot(page, "tokens-desktop", full_page=True)
