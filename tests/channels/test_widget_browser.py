"""The web chat widget in a real browser (Debian's Chromium driven by Playwright) against
a real server (uvicorn on 127.0.0.1), and an agent answering in the real console.

The widget's panel lives in an *open* shadow root, which Playwright's CSS locators pierce
(closed ones they do not); ``cs-chat-widget`` is its host element.

Skipped when Chromium or Playwright is missing, unless ``CS_REAL_BACKENDS=required`` (CI),
which makes that a failure. Playwright's async API is used because the console's Pilot
runs in the test's event loop, where the sync API refuses to run.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from cs_console import protocol as p
from cs_console.domain import MessageKind, Role
from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState
from tests.harness import LiveServer
from tests.test_attachments import png
from tests.ui_support import composer, live_app, stop_sync, wait_loaded, wait_until

if TYPE_CHECKING:
    from playwright.async_api import Browser, Dialog, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Where the screenshot of the exchange is kept for people to look at (not in git).
OUTPUT = Path(__file__).resolve().parents[1] / "output"
#: How long the widget may take to show something the server has (its long-poll answers
#: as soon as a message is stored, so this is generous).
SEEN_MS = 10_000
WIDGET = "cs-chat-widget"


# --- the server ---------------------------------------------------------------------


def widget_settings(hours: str = "00:00-24:00", **widget: object) -> ServerSettings:
    """The server's settings: the demo page on, agents answering during ``hours``;
    ``widget`` adds to ``[channels.widget]``."""
    section = {"demo_page": True, "shop_name": "莲松家居 Lotus & Pine"} | widget
    return ServerSettings.model_validate(
        {"channels": {"widget": section}, "service": {"hours": hours}}
    )


def closed_hours() -> str:
    """One hour of service, twelve hours away from now (Asia/Shanghai, the default zone)."""
    start = (datetime.now(ZoneInfo("Asia/Shanghai")).hour + 12) % 24
    return f"{start:02d}:00-{start + 1:02d}:00"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ServerState]:
    """An empty shop."""
    found = ServerState(f"sqlite:///{tmp_path / 'server.db'}")
    yield found
    found.close()


@pytest.fixture
def lan(state: ServerState) -> str:
    """The pre-sale agent's token (web chats start as pre-sale)."""
    return state.add_agent("Lan", Role.AGENT, "pre-sale")


@pytest.fixture
def server(state: ServerState, lan: str) -> Iterator[LiveServer]:
    """The server, open all day."""
    running = LiveServer(state, settings=widget_settings()).start()
    yield running
    running.stop()


# --- the browser --------------------------------------------------------------------


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


@pytest.fixture
async def browser(server: LiveServer) -> AsyncIterator[Browser]:
    """Chromium, headless. It depends on ``server`` so that it closes first: its
    long-poll would otherwise hold the server's shutdown."""
    problem = _missing()
    if problem is not None:
        if os.environ.get("CS_REAL_BACKENDS") == "required":
            pytest.fail(problem)
        pytest.skip(problem)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


class Watched:
    """A page and what went wrong on it: script errors, CSP refusals, dialogs."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    def in_widget(self, selector: str) -> Any:
        """A locator inside the widget's (open) shadow root."""
        return self.page.locator(f"{WIDGET} {selector}")

    def assert_clean(self) -> None:
        """No script error, no CSP refusal, no dialog."""
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs


async def new_page(browser: Browser) -> Watched:
    """A desktop-sized page that prefers reduced motion (no half-faded screenshots)."""
    page = await browser.new_page(
        viewport={"width": 1100, "height": 760}, reduced_motion="reduce", locale="zh-CN"
    )
    return Watched(page)


async def open_widget(shop: Watched, server: LiveServer, query: str = "") -> None:
    """The demo shop page, the launcher clicked, the panel in view."""
    await shop.page.goto(f"{server.url}/widget/demo{query}")
    await shop.in_widget(".launcher").click()
    await shop.in_widget(".panel").wait_for(state="visible")


async def customer_writes(shop: Watched, text: str) -> None:
    """Type into the composer and press Enter; wait until the server stored it."""
    box = shop.in_widget("textarea.input")
    await box.wait_for(state="visible")
    await box.fill(text)
    await box.press("Enter")
    stored = shop.in_widget(".msg-customer:not(.msg-pending) .body").filter(has_text=text)
    await stored.wait_for(timeout=SEEN_MS)


# --- the server's side ----------------------------------------------------------------


def conversation_of(state: ServerState, body: str) -> str:
    """The conversation holding the customer's message ``body``."""
    for message in state.changes(0, 10_000).messages:
        if message.body == body:
            return message.conversation_id
    raise AssertionError(f"the server has no message {body!r}")


def agent_replies(server: LiveServer, token: str, conversation_id: str, body: str) -> None:
    """An agent's reply through the agents' API (what the console sends)."""
    operation = p.SendMessage(
        id=uuid.uuid4().hex, conversation_id=conversation_id, kind=MessageKind.AGENT, body=body
    )
    response = httpx.post(
        server.url + "/api/v1/operations",
        content=p.OperationEnvelope(operation=operation).model_dump_json(),
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text


def conversation_count(state: ServerState) -> int:
    """How many conversations the server holds."""
    return len(state.changes(0, 10_000).conversations)


# --- the tests ------------------------------------------------------------------------


async def test_a_customer_and_an_agent_talk_through_the_widget(
    browser: Browser, server: LiveServer, state: ServerState, lan: str, tmp_path: Path
) -> None:
    shop = await new_page(browser)
    await open_widget(shop, server)
    # The header names the agent once the session is open, in the page's language.
    await shop.in_widget(".shop-name").wait_for()
    assert await shop.in_widget("textarea.input").evaluate(
        "node => node === node.getRootNode().activeElement"
    ), "the composer has the focus when the panel opens"

    question = "你好，我想买青瓷茶杯套装，今天下单什么时候发货？"
    await customer_writes(shop, question)

    photo = tmp_path / "cup.png"
    photo.write_bytes(png(120, 80, colours=((31, 111, 92), (230, 196, 120))))
    await shop.in_widget("input[type=file]").set_input_files(str(photo))
    image = shop.in_widget(".msg-customer:not(.msg-pending) img.attachment-image")
    await image.wait_for(timeout=SEEN_MS)
    await wait_for_image(shop, image)
    assert conversation_count(state) == 1

    # The agent, in the real console, opens the conversation and answers with a quick
    # reply by its key (Alt+S: zh-CN "one moment, I'll check"), then Enter.
    app = live_app(tmp_path / "console", server.url, lan)
    answer = "马上帮您查一下"
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await wait_until(pilot, lambda: app.replies is not None)
        await pilot.press("enter")
        await wait_until(pilot, lambda: composer(app).has_focus)
        await pilot.press("alt+s")
        await wait_until(pilot, lambda: answer in composer(app).text, what="the quick reply")
        sent = composer(app).text.strip()
        await pilot.press("enter")
        # The customer sees it in the widget (Playwright's wait lets the console run).
        reply = shop.in_widget(".msg-agent .body").filter(has_text=answer)
        await reply.wait_for(timeout=SEEN_MS)
        await stop_sync(pilot)

    assert (await reply.text_content() or "").strip() == sent
    assert await shop.in_widget(".msg-agent .author").last.text_content() == "Lan"
    await shop.in_widget(".agent-line").filter(has_text="Lan").wait_for(timeout=SEEN_MS)
    shop.assert_clean()

    OUTPUT.mkdir(exist_ok=True)
    for path in (OUTPUT / "widget.png", tmp_path / "widget.png"):
        await shop.page.screenshot(path=str(path))
        print(f"widget screenshot: {path}")


async def wait_for_image(shop: Watched, image: Any) -> None:
    """Until the ``<img>`` shows decoded pixels from a blob: URL the script made."""
    await image.evaluate(
        "img => img.complete && img.naturalWidth > 0 ? true : "
        "new Promise((ok, fail) => { img.onload = () => ok(true); img.onerror = fail; })"
    )
    source = await image.get_attribute("src")
    assert source is not None
    assert source.startswith("blob:"), source


async def test_outside_the_service_hours_the_offline_form_takes_a_message(
    browser: Browser, server: LiveServer, state: ServerState, lan: str
) -> None:
    server.stop()
    closed = LiveServer(state, settings=widget_settings(closed_hours())).start()
    try:
        shop = await new_page(browser)
        await open_widget(shop, closed, "?lang=en")
        form = shop.in_widget("form.offline")
        await form.wait_for(state="visible", timeout=SEEN_MS)
        assert await shop.in_widget("form.composer").is_hidden()
        assert closed_hours() in (await shop.in_widget(".offline-hours").text_content() or "")
        await shop.in_widget("input[name=name]").fill("Alice Brown")
        await shop.in_widget("input[name=email]").fill("alice@example.com")
        body = "Do you ship the celadon set to Hanoi?"
        await shop.in_widget("textarea[name=message]").fill(body)
        await shop.in_widget("form.offline button[type=submit]").click()
        thanks = shop.in_widget(".offline-thanks")
        await thanks.wait_for(state="visible", timeout=SEEN_MS)
        assert "alice@example.com" in (await thanks.text_content() or "")
        # The server signs the message with the name and address the form gave.
        stored = [m.body for m in state.changes(0, 10_000).messages if body in m.body]
        assert len(stored) == 1, stored
        assert "alice@example.com" in stored[0]
        shop.assert_clean()
        await shop.page.close()
    finally:
        closed.stop()


async def test_hostile_agent_text_shows_literally(
    browser: Browser, server: LiveServer, state: ServerState, lan: str
) -> None:
    shop = await new_page(browser)
    await open_widget(shop, server)
    question = "在吗？"
    await customer_writes(shop, question)
    hostile = "<img src=x onerror=alert(1)> [b]x[/b] <script>alert(2)</script> &lt;i&gt;"
    agent_replies(server, lan, conversation_of(state, question), hostile)
    reply = shop.in_widget(".msg-agent .body").filter(has_text="onerror")
    await reply.wait_for(timeout=SEEN_MS)
    assert await reply.text_content() == hostile
    # Nothing of it became an element: the body holds one text node and no children.
    assert await reply.evaluate("node => node.children.length") == 0
    assert await shop.in_widget("img").count() == 0
    assert await shop.page.locator("script:not([src])").count() == 0
    await shop.page.wait_for_timeout(300)  # an onerror would have fired by now
    shop.assert_clean()


async def test_a_reload_resumes_the_conversation(
    browser: Browser, server: LiveServer, state: ServerState, lan: str
) -> None:
    shop = await new_page(browser)
    await open_widget(shop, server)
    question = "我的订单还没发货"
    await customer_writes(shop, question)
    agent_replies(server, lan, conversation_of(state, question), "亲，今天下午发出")
    await shop.in_widget(".msg-agent .body").filter(has_text="今天下午").wait_for(timeout=SEEN_MS)

    await shop.page.reload()
    await shop.in_widget(".launcher").click()
    await shop.in_widget(".msg-agent .body").filter(has_text="今天下午").wait_for(timeout=SEEN_MS)
    await shop.in_widget(".msg-customer .body").filter(has_text=question).wait_for()
    # The same visitor: a message after the reload lands in the same conversation.
    await customer_writes(shop, "好的，谢谢")
    assert conversation_count(state) == 1
    assert conversation_of(state, "好的，谢谢") == conversation_of(state, question)

    # Esc closes the panel; an answer that comes meanwhile shows on the launcher.
    await shop.page.keyboard.press("Escape")
    await shop.in_widget(".panel").wait_for(state="hidden")
    agent_replies(server, lan, conversation_of(state, question), "不客气～")
    badge = shop.in_widget(".badge")
    await badge.wait_for(state="visible", timeout=SEEN_MS)
    assert await badge.text_content() == "1"
    await shop.in_widget(".launcher").click()
    await badge.wait_for(state="hidden")
    shop.assert_clean()


async def test_a_busy_address_proves_its_work_and_chats(
    browser: Browser, server: LiveServer, state: ServerState, lan: str
) -> None:
    server.stop()
    strict = LiveServer(state, settings=widget_settings(sessions_per_hour=1, pow_bits=12)).start()
    try:
        statuses: list[int] = []
        for number in (1, 2):
            # Each visitor in a fresh context (its own localStorage): a new session each.
            context = await browser.new_context(reduced_motion="reduce")
            shop = Watched(await context.new_page())
            shop.page.on(
                "response",
                lambda response: (
                    statuses.append(response.status)
                    if response.url.endswith("/widget/v1/session")
                    else None
                ),
            )
            await open_widget(shop, strict, "?lang=vi")
            await customer_writes(shop, f"Xin chào, tôi là khách số {number}")
            shop.assert_clean()
            await context.close()
        # The second new session from the address was asked for, and passed, the proof.
        assert statuses == [200, 428, 200], statuses
        assert conversation_count(state) == 2
    finally:
        strict.stop()
