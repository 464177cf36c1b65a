"""The inbox every customer channel writes through, and the mail queue agents' email
replies wait in: over a real SQLite file, through ServerState."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pytest
from sqlalchemy import select

from cs_console import protocol as p
from cs_console.domain import MessageKind, Role
from cs_console.mail_subject import reply_subject
from cs_console.server.inbox import Contact, IncomingFile
from cs_console.server.settings import (
    ServerSettingsError,
    ServiceSection,
    load_server_settings,
)
from cs_console.server.state import Caller, ServerState
from cs_console.store.models import CONVERSATION, MESSAGE
from tests.test_attachments import png

PNG = png(1, 1)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ServerState]:
    found = ServerState(f"sqlite:///{tmp_path / 'server.db'}", mail_domain="shop.example")
    yield found
    found.close()


def agent(state: ServerState, name: str = "Lan") -> Caller:
    caller = state.authenticate(state.add_agent(name, Role.AGENT, None))
    assert caller is not None
    return caller


def reply(
    state: ServerState,
    caller: Caller,
    conv: str,
    body: str,
    kind: Literal[MessageKind.AGENT, MessageKind.NOTE],
) -> str:
    message_id = f"msg-{abs(hash((conv, body, kind))) % 10**12}"
    op = p.SendMessage(id=message_id, conversation_id=conv, kind=kind, body=body)
    state.apply(caller, f"key-{message_id}", op)
    return message_id


def test_a_customer_is_found_by_email_whatever_its_case(state: ServerState) -> None:
    first = state.channels.open_conversation("web", Contact(name="Ana", email="Ana@Shop.ES"))
    second = state.channels.open_conversation("email", Contact(email="ana@shop.es"))
    with state.read() as conn:
        owners = {
            row[0]
            for row in conn.execute(
                CONVERSATION.select().with_only_columns(CONVERSATION.c.customer_id)
            )
        }
    assert first != second
    assert len(owners) == 1
    assert state.count("customer") == 1


def test_the_same_key_stores_once_and_files_ride_on_the_message(state: ServerState) -> None:
    conv = state.channels.open_conversation("web", Contact(name="Minh"))
    first = state.channels.customer_writes(conv, "ảnh nè", [IncomingFile("a.png", PNG)], key="k1")
    again = state.channels.customer_writes(conv, "ảnh nè", [IncomingFile("a.png", PNG)], key="k1")
    assert first == again
    assert state.messages_with_body("ảnh nè") == 1
    seen = state.channels.customer_view(conv)
    assert [len(m.attachments) for m in seen] == [1]
    found = state.channels.customer_attachment(conv, seen[0].attachments[0].id)
    assert found is not None
    assert found[1].read_bytes() == PNG


def test_a_customer_never_sees_a_note_nor_another_conversation(state: ServerState) -> None:
    lan = agent(state)
    mine = state.channels.open_conversation("web", Contact(name="Ana"))
    theirs = state.channels.open_conversation("web", Contact(name="Bo"))
    state.channels.customer_writes(mine, "hola")
    state.channels.customer_writes(theirs, "secret", [IncomingFile("b.png", PNG)])
    reply(state, lan, mine, "internal: refund her", MessageKind.NOTE)
    reply(state, lan, mine, "¡Hola Ana!", MessageKind.AGENT)
    seen = state.channels.customer_view(mine)
    assert [(m.kind, m.body) for m in seen] == [("customer", "hola"), ("agent", "¡Hola Ana!")]
    assert state.channels.customer_view(mine, after=seen[0].id)[0].body == "¡Hola Ana!"
    other_file = state.channels.customer_view(theirs)[0].attachments[0].id
    assert state.channels.customer_attachment(mine, other_file) is None
    assert state.channels.agent_of(mine) == "Lan"


def test_an_email_reply_is_queued_once_with_its_thread_and_a_note_never(
    state: ServerState,
) -> None:
    lan = agent(state)
    conv = state.channels.mail_arrived(
        mail_id="a1@customer.example",
        related=(),
        subject_conversation=None,
        contact=Contact(name="王芳", email="wang@customer.example"),
        subject="订单没收到",
        body="你好，我的订单还没到",
        files=(),
        source=b"raw",
    )
    assert conv is not None
    again = state.channels.mail_arrived(
        mail_id="a1@customer.example",
        related=(),
        subject_conversation=None,
        contact=Contact(email="wang@customer.example"),
        subject="订单没收到",
        body="你好，我的订单还没到",
        files=(),
        source=b"raw",
    )
    assert again is None  # read twice, stored once
    note = reply(state, lan, conv, "check the carrier", MessageKind.NOTE)
    answer = reply(state, lan, conv, "您好，已为您查询", MessageKind.AGENT)
    assert state.channels.mail_state(note) is None
    assert state.channels.mail_state(answer) == "pending"
    (queued,) = state.channels.mail_due()
    assert queued.to_address == "wang@customer.example"
    assert queued.subject == f"Re: 订单没收到 [#{conv}]"
    assert queued.in_reply_to == "a1@customer.example"
    assert queued.mail_id.endswith("@shop.example")
    assert queued.agent_name == "Lan"
    # The customer's answer to our mail threads back by its In-Reply-To.
    back = state.channels.mail_arrived(
        mail_id="a2@customer.example",
        related=(queued.mail_id,),
        subject_conversation=None,
        contact=Contact(email="wang@customer.example"),
        subject="Re: 订单没收到",
        body="谢谢",
        files=(),
        source=b"raw2",
    )
    assert back == conv
    assert state.channels.mail_source(state.channels.customer_view(conv)[-1].id) == b"raw2"


def test_a_reply_on_a_chat_channel_queues_no_email(state: ServerState) -> None:
    lan = agent(state)
    conv = state.channels.open_conversation("web", Contact(name="Ana", email="ana@x.es"))
    state.channels.customer_writes(conv, "hola")
    assert state.channels.mail_state(reply(state, lan, conv, "hola", MessageKind.AGENT)) is None


def test_a_send_interrupted_before_the_dot_goes_again_after_it_never(
    state: ServerState,
) -> None:
    lan = agent(state)
    conv = state.channels.open_conversation("email", Contact(email="c@x.example"), subject="s")
    state.channels.customer_writes(conv, "hi")
    first = reply(state, lan, conv, "one", MessageKind.AGENT)
    second = reply(state, lan, conv, "two", MessageKind.AGENT)
    assert state.channels.mail_begin(first)
    assert state.channels.mail_begin(second)
    assert not state.channels.mail_begin(first)  # taken
    state.channels.mail_dot(second)
    assert state.channels.mail_recover() == 2  # a crash: the server starts again
    assert state.channels.mail_state(first) == "pending"
    assert state.channels.mail_state(second) == "unconfirmed"


def test_reply_subject_has_one_re_and_one_number() -> None:
    assert reply_subject("RE: 回复：Re: 发票 [#conv-1]", "conv-1") == "Re: 发票 [#conv-1]"
    assert reply_subject(None, "conv-2") == "Re: [#conv-2]"


def test_service_hours_over_midnight() -> None:
    late = ServiceSection(hours="20:00-02:00", timezone="UTC")
    assert late.is_open(datetime(2026, 1, 1, 1, 0, tzinfo=UTC))
    assert not late.is_open(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    assert ServiceSection(hours="09:00-24:00", timezone="UTC").is_open(
        datetime(2026, 1, 1, 23, 59, tzinfo=UTC)
    )


def test_a_wrong_setting_names_where(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text('[channels.widget]\nallowed_origins = ["https://shop.example/"]\n')
    with pytest.raises(ServerSettingsError, match=r"channels\.widget\.allowed_origins"):
        load_server_settings(path)
    path.write_text("[service]\nhours = '9-5'\n")
    with pytest.raises(ServerSettingsError, match=r"service\.hours"):
        load_server_settings(path)
    assert load_server_settings(tmp_path / "missing.toml").service.hours == "09:00-24:00"


def test_a_subject_number_threads_only_the_customers_own_mail(state: ServerState) -> None:
    def mail(mail_id: str, sender: str) -> str | None:
        return state.channels.mail_arrived(
            mail_id=mail_id,
            related=(),
            subject_conversation=conv,
            contact=Contact(email=sender),
            subject=f"Re: order [#{conv}]",
            body="hello",
            files=(),
            source=b"",
        )

    conv = state.channels.open_conversation("email", Contact(email="ana@x.es"), subject="order")
    assert mail("m1@x.es", "Ana@X.es") == conv
    stranger = mail("m2@evil.example", "someone@evil.example")
    assert stranger not in (None, conv)


def test_an_email_that_failed_is_told_to_the_agents_not_the_customer(state: ServerState) -> None:
    lan = agent(state)
    conv = state.channels.open_conversation("email", Contact(email="c@x.example"), subject="s")
    state.channels.customer_writes(conv, "hi")
    sent = reply(state, lan, conv, "answer", MessageKind.AGENT)
    assert state.channels.mail_begin(sent)
    state.channels.mail_done(sent, "failed", "550 no such user")
    with state.read() as conn:
        events = conn.execute(
            select(MESSAGE.c.body).where(
                MESSAGE.c.conversation_id == conv, MESSAGE.c.kind == "system"
            )
        ).all()
    assert [e[0] for e in events] == [
        "The email with this reply could not be sent: 550 no such user"
    ]
    assert [m.body for m in state.channels.customer_view(conv)] == ["hi", "answer"]


def test_a_server_without_a_mailbox_says_a_reply_was_not_mailed(tmp_path: Path) -> None:
    state = ServerState(f"sqlite:///{tmp_path / 'nomail.db'}", mail_domain=None)
    try:
        lan = agent(state)
        conv = state.channels.open_conversation("email", Contact(email="c@x.example"))
        state.channels.customer_writes(conv, "hi")
        sent = reply(state, lan, conv, "answer", MessageKind.AGENT)
        assert state.channels.mail_state(sent) is None  # nothing queued to go out later
        with state.read() as conn:
            events = conn.execute(
                select(MESSAGE.c.body).where(
                    MESSAGE.c.conversation_id == conv, MESSAGE.c.kind == "system"
                )
            ).all()
        assert len(events) == 1
        assert "no mailbox" in events[0][0]
    finally:
        state.close()


def test_a_file_the_agent_attaches_goes_with_the_email(state: ServerState) -> None:
    from cs_console.server.channels.email_compose import compose_reply, mail_bytes
    from cs_console.server.channels.email_parse import parse_mail
    from cs_console.timeutil import utcnow

    lan = agent(state)
    conv = state.channels.open_conversation("email", Contact(email="c@x.example"), subject="s")
    state.channels.customer_writes(conv, "the invoice please")
    state.upload_attachment(lan, "att-invoice", "发票.png", PNG)
    ref = p.AttachmentRef(
        id="att-invoice", file_name="发票.png", content_type="image/png", size=len(PNG)
    )
    op = p.SendMessage(
        id="msg-with-file", conversation_id=conv, kind=MessageKind.AGENT, attachments=[ref]
    )
    state.apply(lan, "key-with-file", op)  # no text: the file alone is the reply
    (queued,) = state.channels.mail_due()
    files = state.channels.reply_files(queued.message_id)
    assert files == [("发票.png", "image/png", PNG)]
    mail = compose_reply(
        queued,
        from_address="service@shop.example",
        display_name="Shop",
        signature="",
        agent_name="",
        now=utcnow(),
        files=files,
    )
    parsed = parse_mail(mail_bytes(mail))
    assert [(f.file_name, f.data) for f in parsed.files] == [("发票.png", PNG)]
