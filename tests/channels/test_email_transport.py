"""The email channel against real mail servers (see ``mailservers.py``): Dovecot holds
the shop's and the customer's mailboxes, Postfix (or aiosmtpd where Postfix cannot
run) takes the submissions. Mail in becomes conversations; replies go out once each,
even when the line is cut at the worst moments."""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import os
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cs_console import protocol as p
from cs_console.domain import MessageKind, Role
from cs_console.server.agents import Caller
from cs_console.server.channel_desk import Contact
from cs_console.server.channels.email_channel import EmailChannel, check_email
from cs_console.server.channels.email_imap import MailboxReader
from cs_console.server.channels.email_smtp import ReplySender, dot_stuffed, retry_delay
from cs_console.server.settings import ChannelsSection, EmailSection, ServerSettings
from cs_console.server.state import ServerState
from cs_console.server.tables import EMAIL_OUTBOX
from cs_console.store.models import ATTACHMENT, CONVERSATION, MESSAGE
from tests.channels.mailservers import (
    CUSTOMER,
    REFUSED,
    REFUSED_WORDS,
    SHOP,
    FaultProxy,
    MailServers,
    servers_or_skip,
)

pytestmark = pytest.mark.real_backend


@pytest.fixture(scope="module")
def servers() -> Iterator[MailServers]:
    # CS_TEST_SMTP=aiosmtpd runs the suite against the fallback even where Postfix runs.
    prefer = "aiosmtpd" if os.environ.get("CS_TEST_SMTP") == "aiosmtpd" else "postfix"
    with servers_or_skip(prefer=prefer) as running:
        print(f"\nsubmission server: {running.smtp_kind} {running.smtp_note}".rstrip())
        yield running


def settings_for(
    servers: MailServers, home: Path, *, smtp_port: int | None = None, **changes: Any
) -> ServerSettings:
    (home / "mail-password").write_text(servers.password + "\n")
    (home / "mail-password").chmod(0o600)
    values: dict[str, Any] = {
        "enabled": True,
        "address": SHOP,
        "display_name": "Example Shop",
        "imap_host": "127.0.0.1",
        "imap_port": servers.imaps_port,
        "imap_security": "tls",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port or servers.submission_port,
        "smtp_security": "starttls" if smtp_port is None else "none",
        "username": SHOP,
        "password_file": Path("mail-password"),
        "ca_file": servers.ca_file,
        "poll_interval_s": 1.0,
    }
    return ServerSettings(
        channels=ChannelsSection(email=EmailSection(**(values | changes))), base=home
    )


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ServerState]:
    server = ServerState(f"sqlite:///{tmp_path / 'server.db'}", mail_domain="example.test")
    yield server
    server.close()


@pytest.fixture
def agent(state: ServerState) -> Caller:
    caller = state.authenticate(state.add_agent("Mei", Role.AGENT, None))
    assert caller is not None
    return caller


@pytest.fixture
def reader(servers: MailServers, state: ServerState, tmp_path: Path) -> Iterator[MailboxReader]:
    found = MailboxReader(state, settings_for(servers, tmp_path))
    found.start()
    wait_until(found.idle.is_set, what="the reader to catch up")
    yield found
    found.stop()


def wait_until(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "it") -> Any:
    until = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > until:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def handled(reader: MailboxReader) -> int:
    s = reader.stats
    return s.taken + s.automatic + s.ignored + s.skipped


def new_id() -> str:
    return f"<{uuid.uuid4().hex}@customer.example.test>"


def customer_mail(subject: str, body: str, *, reply_to: list[str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Li Wei <{CUSTOMER}>"
    msg["To"] = SHOP
    msg["Subject"] = subject
    msg["Message-ID"] = new_id()
    msg["Date"] = email.utils.formatdate()
    if reply_to:
        msg["In-Reply-To"] = reply_to[-1]
        msg["References"] = " ".join(reply_to)
    msg.set_content(body)
    return msg


def raw(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=email.policy.SMTP)


def gbk_mail(subject: str, body: str) -> bytes:
    encoded = base64.b64encode(subject.encode("gbk")).decode()
    text = base64.b64encode(body.encode("gbk")).decode()
    return (
        f"From: =?gbk?b?{base64.b64encode('李伟'.encode('gbk')).decode()}?= <{CUSTOMER}>\r\n"
        f"To: {SHOP}\r\nSubject: =?gbk?b?{encoded}?=\r\nMessage-ID: {new_id()}\r\n"
        f"Date: {email.utils.formatdate()}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{text}\r\n"
    ).encode()


def bounce_mail() -> bytes:
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@example.test>\r\nTo: {SHOP}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {new_id()}\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\n\r\n"
        "Final-Recipient: rfc822; nobody@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "\r\n--b1--\r\n"
    ).encode()


def auto_reply_mail() -> bytes:
    return (
        f"From: {CUSTOMER}\r\nTo: {SHOP}\r\nSubject: Automatic reply: out of office\r\n"
        f"Message-ID: {new_id()}\r\nAuto-Submitted: auto-replied\r\n"
        "X-Autoreply: yes\r\nContent-Type: text/plain\r\n\r\nI am away until Monday.\r\n"
    ).encode()


def conversations(state: ServerState) -> list[dict[str, Any]]:
    with state.read() as conn:
        rows = conn.execute(select(CONVERSATION).order_by(CONVERSATION.c.id)).mappings()
        return [dict(r) for r in rows]


def bodies(state: ServerState, conversation_id: str) -> list[str]:
    with state.read() as conn:
        rows = conn.execute(
            select(MESSAGE.c.body)
            .where(MESSAGE.c.conversation_id == conversation_id)
            .order_by(MESSAGE.c.seq)
        ).all()
    return [str(r[0]) for r in rows]


def reply(state: ServerState, agent: Caller, conversation_id: str, body: str, kind: Any) -> str:
    message_id = f"msg-{uuid.uuid4().hex[:16]}"
    op = p.SendMessage(id=message_id, conversation_id=conversation_id, kind=kind, body=body)
    state.apply(agent, f"key-{message_id}", op)
    return message_id


def header(raw_mail: bytes, name: str) -> str:
    return str(email.message_from_bytes(raw_mail, policy=email.policy.default)[name] or "")


# --- mail in ----------------------------------------------------------------------------


def test_mail_in_becomes_the_right_conversations(
    servers: MailServers, state: ServerState, reader: MailboxReader
) -> None:
    servers.deliver(gbk_mail("订单 1042 还没有发货", "你好，我的订单什么时候发货？"))
    thread: list[str] = []
    for n in range(5):
        msg = customer_mail(
            "Where is my parcel?" if n == 0 else "Re: Where is my parcel?",
            f"thread part {n}",
            reply_to=list(thread),
        )
        thread.append(str(msg["Message-ID"]))
        servers.deliver(raw(msg))
    with_file = customer_mail("Broken cup", "a photo of the cup")
    with_file.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image", "png", filename="cup.png")
    servers.deliver(raw(with_file))
    servers.deliver(bounce_mail())
    servers.deliver(auto_reply_mail())
    own = customer_mail("copy of our reply", "ours")
    own.replace_header("From", SHOP)
    servers.deliver(raw(own), sender=SHOP)

    wait_until(lambda: handled(reader) >= 10, what="ten mails handled")
    assert reader.stats.automatic == 2, reader.stats  # the bounce, the auto-reply
    assert reader.stats.ignored == 1, reader.stats  # our own address
    assert reader.stats.skipped == 0, reader.stats
    found = conversations(state)
    assert len(found) == state.count("conversation") == 3
    assert all(c["channel"] == "email" for c in found)
    by_subject = {str(c["subject"]): c for c in found}
    gbk = next(c for s, c in by_subject.items() if "订单" in s)
    parcel = by_subject["Where is my parcel?"]
    cup = by_subject["Broken cup"]
    assert gbk["subject"] == "订单 1042 还没有发货"
    assert any("什么时候发货" in b for b in bodies(state, gbk["id"]))
    assert [b for b in bodies(state, parcel["id"]) if "thread part" in b] == [
        f"thread part {n}" for n in range(5)
    ]
    with state.read() as conn:
        files = conn.execute(
            select(ATTACHMENT.c.file_name)
            .join(MESSAGE, MESSAGE.c.id == ATTACHMENT.c.message_id)
            .where(MESSAGE.c.conversation_id == cup["id"])
        ).all()
    assert [f[0] for f in files] == ["cup.png"]
    assert state.messages_with_body("I am away until Monday.") == 0


def test_idle_wakes_the_reader_promptly(
    servers: MailServers, state: ServerState, reader: MailboxReader
) -> None:
    latencies = []
    for n in range(3):
        want = reader.stats.taken + 1
        started = time.monotonic()
        servers.deliver(raw(customer_mail(f"idle {n}", f"idle body {n}")))
        wait_until(lambda: reader.stats.taken >= want, timeout=10, what="the reader")  # noqa: B023
        latencies.append(time.monotonic() - started)
        wait_until(reader.idle.is_set, what="the reader to idle again")
    print(f"\nIDLE delivery-to-conversation latency: {', '.join(f'{x:.3f}' for x in latencies)} s")
    assert reader.stats.connects == 1  # woken by IDLE, never reconnected
    assert max(latencies) < 2.0
    started = time.monotonic()
    reader.stop()
    stopped = time.monotonic() - started
    print(f"stop() took {stopped:.3f} s")
    assert stopped < 2.0


def test_reader_reconnects_and_polls_without_idle(
    servers: MailServers, state: ServerState, tmp_path: Path
) -> None:
    reader = MailboxReader(state, settings_for(servers, tmp_path), backoff=(0.2,), use_idle=False)
    reader.start()
    try:
        wait_until(reader.idle.is_set, what="the reader")
        servers.kick(SHOP)  # the server drops the connection
        servers.deliver(raw(customer_mail("after a kick", "sent while reconnecting")))
        wait_until(lambda: reader.stats.taken == 1, what="the mail after the reconnect")
        assert reader.stats.connects == 2
        assert reader.stats.errors >= 1
        wait_until(reader.idle.is_set, what="the reader to wait again")
        started = time.monotonic()
        servers.deliver(raw(customer_mail("polled", "found by polling")))
        wait_until(lambda: reader.stats.taken == 2, what="the polled mail")
        assert time.monotonic() - started < 2.5  # poll_interval_s is 1
    finally:
        reader.stop()
    assert state.messages_with_body("found by polling") == 1


def test_reader_starts_at_the_folder_end_and_resumes(
    servers: MailServers, state: ServerState, tmp_path: Path
) -> None:
    servers.deliver(raw(customer_mail("old mail", "old before the first start")))
    settings = settings_for(servers, tmp_path)
    first = MailboxReader(state, settings)
    first.start()
    wait_until(first.idle.is_set, what="the first reader")
    first.stop()
    servers.deliver(raw(customer_mail("while stopped", "sent while the reader was stopped")))
    second = MailboxReader(state, settings)
    second.start()
    try:
        wait_until(lambda: second.stats.taken == 1, what="the mail sent while stopped")
    finally:
        second.stop()
    assert state.messages_with_body("old before the first start") == 0
    assert state.messages_with_body("sent while the reader was stopped") == 1


# --- replies out ------------------------------------------------------------------------


def test_reply_reaches_the_customer_and_the_answer_threads_back(
    servers: MailServers, state: ServerState, agent: Caller, tmp_path: Path
) -> None:
    channel = EmailChannel(state, settings_for(servers, tmp_path))
    channel.start()
    assert channel.reader is not None
    reader = channel.reader
    try:
        wait_until(reader.idle.is_set, what="the reader")
        first = customer_mail("My order 1042", "Has my order shipped?")
        servers.submit(first)  # through the submission server, as a mail client would
        wait_until(lambda: reader.stats.taken == 1, what="the customer's mail")
        [conv] = conversations(state)

        note = reply(state, agent, conv["id"], "internal: check the warehouse", MessageKind.NOTE)
        assert state.channels.mail_state(note) is None
        text = f"It left the warehouse today ({uuid.uuid4().hex[:8]})."
        sent = reply(state, agent, conv["id"], text, MessageKind.AGENT)
        channel.wake()
        wait_until(lambda: state.channels.mail_state(sent) == "sent", what="the reply sent")

        [mail] = servers.wait_for_mail(CUSTOMER, lambda r: text.encode() in r)
        assert header(mail, "In-Reply-To") == first["Message-ID"]
        assert first["Message-ID"] in header(mail, "References")
        subject = header(mail, "Subject")
        assert f"[#{conv['id']}]" in subject
        assert "My order 1042" in subject
        assert SHOP in header(mail, "From")
        assert not servers.wait_for_mail(CUSTOMER, lambda r: b"check the warehouse" in r, count=0)

        answer = customer_mail(
            f"Re: {subject}",
            "Thank you!",
            reply_to=[str(first["Message-ID"]), header(mail, "Message-ID")],
        )
        servers.submit(answer)
        wait_until(lambda: reader.stats.taken == 2, what="the customer's answer")
        assert state.count("conversation") == 1
        assert "Thank you!" in bodies(state, conv["id"])
    finally:
        channel.stop()


def test_a_refused_recipient_fails_with_the_servers_words(
    servers: MailServers, state: ServerState, agent: Caller, tmp_path: Path
) -> None:
    conv = state.channels.mail_arrived(
        mail_id=new_id(),
        related=[],
        subject_conversation=None,
        contact=Contact(name="Nobody", email=REFUSED),
        subject="Refused",
        body="hello",
        files=[],
        source=b"",
    )
    assert conv is not None
    sender = ReplySender(state, settings_for(servers, tmp_path), delays=(0.3,), timeout=5)
    sent = reply(state, agent, conv, "This will be refused.", MessageKind.AGENT)
    sender.start()
    try:
        wait_until(lambda: state.channels.mail_state(sent) == "failed", what="the reply failed")
    finally:
        sender.stop()
    with state.read() as conn:
        error = conn.execute(
            select(EMAIL_OUTBOX.c.last_error).where(EMAIL_OUTBOX.c.message_id == sent)
        ).scalar_one()
    assert "550" in error
    assert REFUSED_WORDS in error
    assert sender.counts == {"sent": 0, "unconfirmed": 0, "failed": 1, "retry": 0}


@pytest.fixture
def proxy(servers: MailServers) -> Iterator[FaultProxy]:
    found = FaultProxy(servers.plain_submission_port)
    yield found
    found.close()


@pytest.mark.parametrize(
    ("fault", "ends", "attempts"),
    [("drop_after_data", "sent", 2), ("drop_after_dot", "unconfirmed", 1)],
)
def test_one_reply_is_one_email_when_the_line_is_cut(
    servers: MailServers,
    state: ServerState,
    agent: Caller,
    proxy: FaultProxy,
    tmp_path: Path,
    fault: Any,
    ends: str,
    attempts: int,
) -> None:
    conv = state.channels.mail_arrived(
        mail_id=new_id(),
        related=[],
        subject_conversation=None,
        contact=Contact(name="Li Wei", email=CUSTOMER),
        subject="Cut line",
        body="hello",
        files=[],
        source=b"",
    )
    assert conv is not None
    proxy.arm(fault)
    sender = ReplySender(
        state, settings_for(servers, tmp_path, smtp_port=proxy.port), delays=(0.3,), timeout=5
    )
    text = f"Exactly once {fault} {uuid.uuid4().hex[:8]}"
    sent = reply(state, agent, conv, text, MessageKind.AGENT)
    sender.start()
    try:
        wait_until(lambda: state.channels.mail_state(sent) == ends, what=f"the reply {ends}")
        assert proxy.fired == 1
        servers.wait_for_mail(CUSTOMER, lambda r: text.encode() in r)
        time.sleep(1.5)  # a second copy, were there one, would be delivered by now
        copies = servers.wait_for_mail(CUSTOMER, lambda r: text.encode() in r)
        assert len(copies) == 1
        assert state.channels.mail_state(sent) == ends  # never sent again
        assert proxy.connections == attempts
        assert sender.counts["retry"] == attempts - 1
    finally:
        sender.stop()


# --- the doctor's check -----------------------------------------------------------------


def test_check_email_ok_and_wrong_password(servers: MailServers, tmp_path: Path) -> None:
    settings = settings_for(servers, tmp_path)
    checks = check_email(settings)
    assert [ok for _, ok, _ in checks] == [True, True], checks
    starttls = settings_for(
        servers, tmp_path, imap_port=servers.imap_port, imap_security="starttls"
    )
    assert all(ok for _, ok, _ in check_email(starttls))

    (tmp_path / "wrong").write_text("not-the-password\n")
    wrong = settings_for(servers, tmp_path, password_file=Path("wrong"))
    checks = check_email(wrong)
    assert [ok for _, ok, _ in checks] == [False, False], checks
    assert all("login refused" in detail for _, _, detail in checks), checks

    missing = settings_for(servers, tmp_path, folder="Nowhere")
    imap = check_email(missing)[0]
    assert not imap[1]
    assert "Nowhere" in imap[2], imap

    closed = settings_for(servers, tmp_path, imap_port=1, smtp_port=1)
    checks = check_email(closed)
    assert all(not ok and "unreachable" in detail for _, ok, detail in checks), checks

    untrusted = settings_for(servers, tmp_path, ca_file=None)  # the system's CAs only
    checks = check_email(untrusted)
    assert all("not trusted" in detail for _, _, detail in checks), checks

    plain_on_tls = settings_for(servers, tmp_path, imap_port=servers.imap_port)  # tls vs 143
    imap = check_email(plain_on_tls)[0]
    assert not imap[1]
    assert "TLS failed" in imap[2], imap


# --- the pieces without a server ----------------------------------------------------------


def test_retry_delays_grow_and_give_up_after_a_day() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4, 5, 6)] == [30, 120, 600, 1800, 3600, 3600]
    attempts = 1
    while retry_delay(attempts) is not None:
        attempts += 1
    waited = sum(retry_delay(n) or 0 for n in range(1, attempts))
    assert 24 * 3600 <= waited < 25 * 3600


def test_dot_stuffing_and_line_ends() -> None:
    assert dot_stuffed(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n"
    assert dot_stuffed(b".\r\n") == b"..\r\n"  # a lone dot never ends the data early
