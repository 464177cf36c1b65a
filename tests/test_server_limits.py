"""The protocol's limits hold for everything that enters the server, and the change feed
never stops for every agent because of one row: issue 14's 9,000-character customer
message made /changes answer 500 from then on while `doctor` still said ok."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from cs_console import protocol as p
from cs_console.domain import MessageKind
from cs_console.server.limits import CUT_MARK, split_text
from cs_console.server.state import ServerState
from cs_console.services import conversations, sync
from cs_console.services.doctor import Verdict, run_checks
from cs_console.store.models import CONVERSATION, CUSTOMER, MESSAGE
from cs_console.timeutil import utcnow
from tests.harness import LiveServer, client_context

LONG = "".join(f"第{i}行: 我的快递怎么还没到? the parcel has not moved.\n" for i in range(400))


@pytest.fixture
def feed(live_server: LiveServer, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server.url + "/api/v1",
        headers={"Authorization": f"Bearer {tokens['Lan']}"},
        timeout=10,
    ) as client:
        yield client


def pull_all(client: httpx.Client) -> p.ChangePage:
    response = client.get("/changes", params={"since": "0", "limit": 2000})
    assert response.status_code == 200, response.text[:300]
    return p.ChangePage.model_validate_json(response.content)


def test_a_long_customer_message_arrives_in_numbered_parts(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str], feed: httpx.Client
) -> None:
    assert len(LONG) > 2 * p.MAX_BODY_CHARS
    ids = live_server.state.add_customer_message("conv-2", LONG)
    assert len(ids) == 3
    page = pull_all(feed)
    parts = sorted((m for m in page.messages if m.id in ids), key=lambda m: m.created_at)
    assert [m.body[:6] for m in parts] == ["(1/3) ", "(2/3) ", "(3/3) "]
    assert all(len(m.body) <= p.MAX_BODY_CHARS for m in parts)
    assert "".join(m.body[6:] for m in parts) == LONG  # nothing lost
    assert next(c for c in page.conversations if c.id == "conv-2").unread_count == 1 + 3

    # A console syncs on, through the strict protocol models, and shows the parts.
    ctx = client_context(tmp_path / "mei", live_server, tokens["Mei"])
    engine = sync.make_engine(ctx)
    try:
        engine.run_once()
        bodies = [m.body for m in conversations.messages(ctx, "conv-2")]
        assert [body[:6] for body in bodies[-3:]] == ["(1/3) ", "(2/3) ", "(3/3) "]
    finally:
        engine.backend.close()
        ctx.close()


def test_a_customer_message_is_sanitised_on_the_way_in(live_server: LiveServer) -> None:
    [message_id] = live_server.state.add_customer_message("conv-2", "hi\x1b]52;c;SGVsbG8=\x07")
    [stored] = [m for m in live_server.state.changes(0, 1000).messages if m.id == message_id]
    assert stored.body == "hi␛]52;c;SGVsbG8=␇"


def test_split_text_breaks_at_lines_and_keeps_every_character() -> None:
    assert split_text("short") == ["short"]
    parts = split_text("x" * (p.MAX_BODY_CHARS + 1))
    assert [len(part) for part in parts] == [p.MAX_BODY_CHARS, 7 + 6]
    assert all(part.endswith("\n") for part in split_text(LONG)[:-1])


def test_a_stored_row_past_the_limits_is_cut_when_served(
    live_server: LiveServer, feed: httpx.Client
) -> None:
    # Written around every check (an older server, a hand edit): the feed serves it cut.
    with live_server.state.write() as conn:
        conn.execute(update(MESSAGE).where(MESSAGE.c.id == "m-1").values(body="长" * 9000))
        conn.execute(update(CUSTOMER).where(CUSTOMER.c.id == "cus-1").values(name="王" * 300))
    page = pull_all(feed)
    message = next(m for m in page.messages if m.id == "m-1")
    assert len(message.body) == p.MAX_BODY_CHARS
    assert message.body.endswith(CUT_MARK)
    customer = next(c for c in page.customers if c.id == "cus-1")
    assert len(customer.name) == p.MAX_NAME_CHARS
    assert customer.name.endswith(CUT_MARK)


def test_a_row_the_feed_cannot_serve_is_named_in_a_json_error(
    live_server: LiveServer, feed: httpx.Client
) -> None:
    with live_server.state.write() as conn:
        conn.execute(update(CONVERSATION).where(CONVERSATION.c.id == "conv-3").values(status="?"))
    response = feed.get("/changes", params={"since": "0"})
    assert response.status_code == 500
    error = p.ErrorBody.model_validate_json(response.content)
    assert "conversation conv-3 cannot be served" in error.detail


def test_records_loaded_past_the_limits_are_cut(live_server: LiveServer) -> None:
    state = live_server.state
    now = utcnow()
    record = p.MessageRecord.model_construct(
        id="m-long",
        conversation_id="conv-1",
        kind=MessageKind.CUSTOMER,
        author="王芳",
        body="y" * 9000,
        created_at=now,
    )
    state.load_records({"message": [record]})
    [loaded] = [m for m in state.changes(0, 1000).messages if m.id == "m-long"]
    assert len(loaded.body) == p.MAX_BODY_CHARS
    assert loaded.body.endswith(CUT_MARK)


def test_a_published_reply_past_the_limits_is_cut(server_state: ServerState) -> None:
    reply = p.ReplyRecord(
        id="r-1",
        language="en",
        group="greeting",
        title="Hello",
        body="Hello {customer_name}",
        scenario="greeting",
        audience="both",
        updated_at=utcnow(),
    ).model_copy(update={"body": "z" * 9000, "keywords": ["k"] * 60})
    server_state.publish_replies([reply])
    [published] = server_state.changes(0, 1000).replies
    assert published.body.endswith(CUT_MARK)
    assert len(published.body) == p.MAX_BODY_CHARS
    assert len(published.keywords) == 50


def test_the_history_of_two_long_notes_stays_within_the_limit(
    live_server: LiveServer, tokens: dict[str, str], feed: httpx.Client
) -> None:
    def save(notes: str, key: str) -> None:
        response = feed.post(
            "/operations",
            headers={"Idempotency-Key": key},
            json={
                "operation": {
                    "op": "save_case",
                    "id": "case-long",
                    "category": "goods.quality",
                    "notes": notes,
                }
            },
        )
        assert response.status_code == 200, response.text

    save("a" * p.MAX_BODY_CHARS, "k-1")
    save("b" * p.MAX_BODY_CHARS, "k-2")  # "notes: aaa… → bbb…" is twice the limit
    page = pull_all(feed)
    [updated] = [e for e in page.case_events if e.action == "updated"]
    assert updated.changes.startswith("notes: aaa")
    assert updated.changes.endswith(CUT_MARK)


# --- doctor reads the feed ------------------------------------------------------------


def test_doctor_fetches_a_page_of_changes(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    env = {"CS_CONSOLE_BACKEND_URL": live_server.url, "CS_CONSOLE_TOKEN": tokens["Lan"]}
    checks = {c.name: c for c in run_checks(tmp_path, env)}
    assert checks["changes"].verdict is Verdict.OK
    assert "from the start" in checks["changes"].detail

    with live_server.state.write() as conn:
        conn.execute(update(CONVERSATION).where(CONVERSATION.c.id == "conv-3").values(status="?"))
    checks = {c.name: c for c in run_checks(tmp_path, env)}
    assert checks["backend"].verdict is Verdict.OK  # /me still answers...
    failed = checks["changes"]  # ...but sync is stuck, and doctor says so
    assert failed.verdict is Verdict.FAIL
    assert "the change feed fails from the start" in failed.detail
    assert "500" in failed.detail
    assert "tell whoever runs it" in failed.fix


def test_doctor_reads_the_page_this_console_is_stuck_on(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path, live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    try:
        engine.run_once()
    finally:
        engine.backend.close()
        ctx.close()
    env = {"CS_CONSOLE_BACKEND_URL": live_server.url, "CS_CONSOLE_TOKEN": tokens["Lan"]}
    check = {c.name: c for c in run_checks(tmp_path, env)}["changes"]
    assert check.verdict is Verdict.OK
    assert "from where this console stands: 0 record(s)" in check.detail
