"""A customer who writes by email gets an answer from the console: the whole way, on
real servers. The customer submits a mail (GBK subject) through Postfix into Dovecot;
the server's reader turns it into an email conversation; the agent, in the real console
(Textual's Pilot), opens it, sees who the reply goes to and under which subject, and
answers with a quick reply; the server's sender submits it through Postfix; the
customer finds exactly one answer in their mailbox, threaded to their mail."""

from __future__ import annotations

from collections.abc import Iterator
from email.header import Header
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from cs_console.domain import Role
from cs_console.server.channels.email_channel import EmailChannel
from cs_console.server.channels.email_parse import parse_mail
from cs_console.server.state import ServerState
from tests.channels.mailservers import CUSTOMER, SHOP, MailServers, servers_or_skip
from tests.channels.test_email_transport import settings_for
from tests.harness import LiveServer
from tests.ui_support import composer, live_app, stop_sync, wait_loaded, wait_until

pytestmark = pytest.mark.real_backend

SUBJECT = "订单 1042 还没收到"


@pytest.fixture(scope="module")
def servers() -> Iterator[MailServers]:
    with servers_or_skip() as running:
        yield running


def gbk_mail() -> EmailMessage:
    """A mail as a Chinese mail client sends it: subject and body in GBK."""
    mail = EmailMessage()
    mail["From"] = f"王芳 <{CUSTOMER}>"
    mail["To"] = SHOP
    mail["Subject"] = Header(SUBJECT, "gbk").encode()
    mail["Message-ID"] = make_msgid(domain="customer.example.test")
    mail.set_content("你好，我上周的订单还没收到，麻烦帮我查一下物流。", charset="gbk")
    return mail


async def test_a_mail_customer_gets_one_answer_from_the_console(
    servers: MailServers, tmp_path: Path
) -> None:
    state = ServerState(f"sqlite:///{tmp_path / 'server.db'}", mail_domain="example.test")
    lan = state.add_agent("Lan", Role.AGENT, None)
    settings = settings_for(servers, tmp_path)
    channel = EmailChannel(state, settings)
    server = LiveServer(state, settings=settings).start()
    channel.start()
    try:
        reader = channel.reader
        assert reader is not None
        await _wait(lambda: reader.idle.is_set(), "the reader")
        first = gbk_mail()
        servers.submit(first)
        await _wait(lambda: state.count("conversation") == 1, "the customer's mail")

        app = live_app(tmp_path / "console", server.url, lan)
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_loaded(pilot)
            await wait_until(pilot, lambda: app.replies is not None)
            await pilot.press("enter")
            await wait_until(pilot, lambda: composer(app).has_focus)
            # Whom the reply goes to, and the subject it will carry, before it goes.
            line = app.screen.query_one("#reply-to")
            await wait_until(
                pilot,
                lambda: line.display and CUSTOMER in str(line.render()),
                what="the recipient above the composer",
            )
            shown = str(line.render())
            assert f"Re: {SUBJECT} [#conv-" in shown
            assert "王芳" in shown
            await pilot.press("alt+s")  # a zh-CN quick reply: "one moment, I'll check"
            await wait_until(pilot, lambda: bool(composer(app).text.strip()), what="the reply")
            sent = composer(app).text.strip()
            await pilot.press("enter")
            found = await _wait_mail(pilot, servers, sent)
            await stop_sync(pilot)
    finally:
        channel.stop()
        server.stop()
        state.close()

    assert len(found) == 1, "one reply, one email"
    mail = parse_mail(found[0])
    assert mail.body.strip().startswith(sent)
    assert mail.related[0] == str(first["Message-ID"]).strip("<>")
    assert SUBJECT in mail.subject
    assert mail.subject.startswith("Re: ")
    assert mail.contact.name == "Lan (Example Shop)"  # who answered, for which shop


async def _wait(check: object, what: str, timeout: float = 20.0) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.05)


async def _wait_mail(pilot: object, servers: MailServers, text: str) -> list[bytes]:
    """The customer's mails holding ``text`` once one arrived (waits up to 30 s,
    letting the console run)."""
    import asyncio
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [
            raw
            for raw in servers.wait_for_mail(CUSTOMER, lambda _raw: True, count=0)
            if text in parse_mail(raw).body
        ]
        if found:
            await asyncio.sleep(2)  # a second copy would have come by now
            return [
                raw
                for raw in servers.wait_for_mail(CUSTOMER, lambda _raw: True, count=0)
                if text in parse_mail(raw).body
            ]
        await asyncio.sleep(0.2)
    raise AssertionError("no answer reached the customer's mailbox")
