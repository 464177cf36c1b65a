"""The Chatwoot adapter against a fake Chatwoot that checks every request against the
vendored OpenAPI document (tests/chatwoot_fake.py) and answers like the real server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from cs_console import protocol as p
from cs_console.backends import chatwoot_mapping as cw
from cs_console.backends.base import AuthFailed, BadResponse, Refused, Unavailable
from cs_console.backends.chatwoot import ChatwootBackend
from cs_console.domain import ConversationStatus, FlagColour, Group, MessageKind, Role
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.services import replies as replies_service
from cs_console.settings import Settings
from cs_console.store import outbox
from cs_console.store import replies as store_replies
from cs_console.store.db import Database
from cs_console.store.models import CONVERSATION, CUSTOMER, MESSAGE
from cs_console.sync.engine import SyncEngine
from cs_console.timeutil import utcnow
from tests.chatwoot_fake import (
    SPEC_PATH,
    FakeChatwoot,
    FakeChatwootServer,
    SpecValidator,
    SpecViolation,
)

BIG = 7  # the conversation with a long history
TEAMS = {"Presales": Group.PRE_SALE, "Kundendienst": Group.AFTER_SALE}


def shop() -> FakeChatwoot:
    """30 conversations (more than a page of 25); conversation 7 has 45 messages."""
    fake = FakeChatwoot()
    fake.teams = [
        {"id": 1, "name": "Presales", "description": "", "allow_auto_assign": False},
        {"id": 2, "name": "Kundendienst", "description": "", "allow_auto_assign": False},
    ]
    fake.canned = [
        {"id": 1, "account_id": 3, "short_code": "hi", "content": "Hello \x1b]52;c;cHdu\x07!"},
        {"id": 2, "account_id": 3, "short_code": "ship", "content": "It ships in 48 hours."},
    ]
    start = int(time.time()) - 10_000
    for number in range(1, 31):
        fake.add_contact(100 + number, f"Customer {number}", email=f"c{number}@example.com")
        fake.add_conversation(
            number,
            100 + number,
            last_activity_at=start + number * 10,
            team=2 if number % 3 == 0 else (1 if number % 3 == 1 else None),
            assignee=12 if number == 2 else None,
            unread=1,
        )
        fake.add_message(number, f"question {number}", created_at=start + number * 10)
    for index in range(44):
        kind = [0, 1, 2][index % 3]
        fake.add_message(
            BIG,
            f"history {index}",
            message_type=kind,
            private=index == 10,
            sender=11 if kind == 1 else None,
            created_at=start + 100 + index,
        )
    fake.conversations[5]["status"] = "snoozed"
    fake.conversations[5]["snoozed_until"] = int(time.time()) + 3600
    return fake


@pytest.fixture
def fake() -> FakeChatwoot:
    return shop()


@pytest.fixture
def server(fake: FakeChatwoot) -> Iterator[FakeChatwootServer]:
    running = FakeChatwootServer(fake).start()
    yield running
    running.stop()
    assert fake.violations == [], "the adapter sent requests the spec does not allow"


def backend_for(server: FakeChatwootServer, **kwargs: object) -> ChatwootBackend:
    return ChatwootBackend(
        server.url,
        Secret(server.fake.token),
        server.fake.account_id,
        team_groups=TEAMS,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def backend(server: FakeChatwootServer) -> Iterator[ChatwootBackend]:
    adapter = backend_for(server)
    yield adapter
    adapter.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = Database(tmp_path / "store.db")
    yield store
    store.close()


def count(db: Database, table: object, *where: object) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


# --- pulling into a real store --------------------------------------------------------


def test_a_full_pull_brings_every_conversation_contact_and_message(
    backend: ChatwootBackend, db: Database, fake: FakeChatwoot
) -> None:
    report = SyncEngine(db, backend).run_once()

    assert report.pages == 2  # 30 conversations, 25 a page
    assert count(db, CONVERSATION) == 30
    assert count(db, CUSTOMER) == 30
    assert count(db, MESSAGE, MESSAGE.c.conversation_id == "cw:v7") == 45
    assert count(db, MESSAGE) == 30 + 44
    with db.read() as conn:
        kinds = dict(
            conn.execute(
                select(MESSAGE.c.body, MESSAGE.c.kind).where(MESSAGE.c.conversation_id == "cw:v7")
            ).all()
        )
        conversations = {row.id: row for row in conn.execute(select(CONVERSATION)).all()}
        customer = conn.execute(select(CUSTOMER).where(CUSTOMER.c.id == "cw:c103")).one()
    assert kinds["history 0"] == MessageKind.CUSTOMER.value
    assert kinds["history 1"] == MessageKind.AGENT.value
    assert kinds["history 2"] == MessageKind.SYSTEM.value
    assert kinds["history 10"] == MessageKind.NOTE.value  # private outgoing
    assert conversations["cw:v3"].group == Group.AFTER_SALE.value  # team Kundendienst
    assert conversations["cw:v4"].group == Group.PRE_SALE.value  # team Presales
    assert conversations["cw:v2"].assignee == "Mei"
    assert conversations["cw:v5"].status == ConversationStatus.SNOOZED.value
    assert conversations["cw:v5"].snoozed_until is not None
    assert conversations["cw:v1"].unread_count == 1
    assert (customer.name, customer.email) == ("Customer 3", "c3@example.com")
    page_requests = [q.get("page") for m, t, q, _ in fake.requests if t.endswith("/conversations")]
    assert page_requests == ["1", "2"]
    # More than 20 messages: the adapter went back with before=<oldest id seen>.
    befores = [q for m, t, q, _ in fake.requests if t.endswith("/messages") and "before" in q]
    assert len(befores) == 2


def test_the_next_pull_reads_only_what_moved(
    backend: ChatwootBackend, db: Database, fake: FakeChatwoot
) -> None:
    engine = SyncEngine(db, backend)
    engine.run_once()
    fake.requests.clear()
    with fake.lock:
        fake.add_message(12, "are you there?")

    engine.run_once()

    assert count(db, MESSAGE, MESSAGE.c.body == "are you there?") == 1
    conversation_pages = [t for m, t, q, _ in fake.requests if t.endswith("/conversations")]
    message_reads = [t for m, t, q, _ in fake.requests if t.endswith("/messages")]
    assert len(conversation_pages) == 1
    # Conversation 12 moved; 30 sits on the watermark (whole seconds), so it is read again.
    assert len(message_reads) == 2


def test_a_long_backlog_arrives_whole_across_message_pages(
    backend: ChatwootBackend, db: Database, fake: FakeChatwoot
) -> None:
    engine = SyncEngine(db, backend)
    engine.run_once()
    with fake.lock:
        for index in range(53):
            fake.add_message(BIG, f"burst {index}")

    engine.run_once()

    assert count(db, MESSAGE, MESSAGE.c.body.like("burst %")) == 53


def test_me_maps_administrators_to_supervisors(
    server: FakeChatwootServer, fake: FakeChatwoot
) -> None:
    fake.me = {"id": 13, "name": "Sofia", "role": "administrator"}
    adapter = backend_for(server)
    try:
        me = adapter.me()
    finally:
        adapter.close()
    assert (me.agent.name, me.agent.role) == ("Sofia", Role.SUPERVISOR)
    assert me.server_id == backend_for(server).server_id  # stable for url + account


# --- pushing --------------------------------------------------------------------------


def test_send_note_assign_snooze_and_resolve_reach_chatwoot(
    backend: ChatwootBackend, fake: FakeChatwoot
) -> None:
    until = utcnow() + timedelta(hours=2)
    backend.push(
        "k1", p.SendMessage(id="m1", conversation_id="cw:v4", kind=MessageKind.AGENT, body="Hi!")
    )
    backend.push(
        "k2", p.SendMessage(id="m2", conversation_id="cw:v4", kind=MessageKind.NOTE, body="VIP")
    )
    backend.push("k3", p.Assign(conversation_id="cw:v4", assignee="Mei"))
    backend.push("k4", p.Assign(conversation_id="cw:v4", group=Group.AFTER_SALE))
    backend.push(
        "k5",
        p.SetStatus(
            conversation_id="cw:v4", status=ConversationStatus.SNOOZED, snoozed_until=until
        ),
    )
    backend.push("k6", p.SetStatus(conversation_id="cw:v4", status=ConversationStatus.RESOLVED))

    stored = {m["content"]: m for m in fake.messages[4]}
    assert stored["Hi!"]["message_type"] == 1
    assert stored["Hi!"]["private"] is False
    assert stored["VIP"]["private"] is True
    conv = fake.conversations[4]
    assert conv["team"] == 2
    assert conv["assignee"] is None
    assert conv["status"] == "resolved"
    bodies = [body for m, t, q, body in fake.requests if m == "POST"]
    assert {"status": "snoozed", "snoozed_until": int(until.timestamp())} in bodies
    assert {"assignee_id": 12} in bodies
    assert fake.violations == []


def test_other_operations_are_refused_and_mark_read_is_kept_locally(
    backend: ChatwootBackend,
) -> None:
    result = backend.push("k", p.MarkRead(conversation_id="cw:v1"))
    assert result.applied
    assert result.result == {"kept": "locally"}
    with pytest.raises(Refused) as refused:
        backend.push(
            "k2", p.AddRemark(id="r1", order_id="o1", flag=FlagColour.RED, text="courier matter")
        )
    assert refused.value.status == 501
    assert "Chatwoot cannot add remark" in str(refused.value)


def test_a_retry_after_a_timeout_does_not_send_twice(
    server: FakeChatwootServer, fake: FakeChatwoot
) -> None:
    adapter = backend_for(server, timeout=0.5)
    fake.slow_seconds = 1.5
    fake.fault("/conversations/9/messages", "slow-after-apply", method="POST")
    op = p.SendMessage(
        id="m-9", conversation_id="cw:v9", kind=MessageKind.AGENT, body="Refund is on its way"
    )
    try:
        with pytest.raises(Unavailable, match="did not answer in time"):
            adapter.push("key-9", op)
        assert [m["content"] for m in fake.messages[9]].count(op.body) == 1  # applied

        result = adapter.push("key-9", op)

        assert result.result["posted"] is False
        assert [m["content"] for m in fake.messages[9]].count(op.body) == 1
        # The same words on purpose, under a new key, are a new message.
        again = p.SendMessage(
            id="m-10", conversation_id="cw:v9", kind=MessageKind.AGENT, body=op.body
        )
        assert adapter.push("key-10", again).result["posted"] is True
        assert [m["content"] for m in fake.messages[9]].count(op.body) == 2
    finally:
        adapter.close()


def test_a_reply_we_sent_is_one_row_before_and_after_a_restart(
    backend: ChatwootBackend, db: Database, server: FakeChatwootServer
) -> None:
    engine = SyncEngine(db, backend)
    engine.run_once()
    outbox.record(
        db,
        p.SendMessage(id="local-1", conversation_id="cw:v2", kind=MessageKind.AGENT, body="ok"),
        author="me",
    )
    assert _ids_with_body(db, "ok") == ["local-1"]  # shown at once, before any network

    engine.run_once()  # push (Chatwoot gives it its own id), then pull it back

    [only] = _ids_with_body(db, "ok")
    assert only.startswith("cw:m")
    # A restart: a new adapter with no memory of the send pulls the conversation again.
    fresh = backend_for(server)
    try:
        SyncEngine(db, fresh).run_once()
    finally:
        fresh.close()
    assert _ids_with_body(db, "ok") == [only]


def _ids_with_body(db: Database, body: str) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(MESSAGE.c.id).where(MESSAGE.c.body == body)).scalars())


def test_canned_responses_are_imported_sanitised(backend: ChatwootBackend) -> None:
    page = backend.pull("")
    replies = {r.title: r.body for r in page.replies}
    assert replies["ship"] == "It ships in 48 hours."
    assert "\x1b" not in replies["hi"]
    assert "\x07" not in replies["hi"]


# --- bad backends -----------------------------------------------------------------


def test_rate_limit_gives_a_retry_time(backend: ChatwootBackend, fake: FakeChatwoot) -> None:
    fake.fault("/conversations", "429")
    with pytest.raises(Unavailable, match="slow down") as caught:
        backend.pull("")
    assert caught.value.retry_after == 7.0


def test_a_refused_token_says_what_to_do(
    server: FakeChatwootServer, db: Database, fake: FakeChatwoot
) -> None:
    adapter = ChatwootBackend(server.url, Secret("expired"), fake.account_id)
    try:
        with pytest.raises(AuthFailed, match="Access Token") as caught:
            SyncEngine(db, adapter).run_once()
    finally:
        adapter.close()
    assert "Invalid Access Token" in str(caught.value)
    assert "configuration" in str(caught.value)


def test_a_deleted_conversation_is_refused_for_good(
    backend: ChatwootBackend, fake: FakeChatwoot
) -> None:
    del fake.conversations[6]
    with pytest.raises(Refused, match="deleted") as caught:
        backend.push("k", p.SetStatus(conversation_id="cw:v6", status=ConversationStatus.OPEN))
    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("html200", BadResponse, "web page"),
        ("html404", BadResponse, "check the URL"),
        ("html500", Unavailable, "had a problem (500)"),
        ("truncated", BadResponse, "cut short"),
    ],
)
def test_html_pages_and_truncated_json_are_clear_errors(
    backend: ChatwootBackend, fake: FakeChatwoot, kind: str, error: type[Exception], words: str
) -> None:
    fake.fault("/conversations", kind)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        backend.pull("")


def test_an_envelope_of_the_wrong_shape_is_a_bad_response() -> None:
    # The messages endpoint's shape ({"payload": [...]}) where the list's belongs.
    with pytest.raises(BadResponse, match=r"data\.payload"):
        cw.conversation_list({"payload": []})
    with pytest.raises(BadResponse, match="not a list"):
        cw.message_list({"payload": {"id": 1}})
    with pytest.raises(BadResponse, match="unknown status"):
        cw.conversation_record(
            {"id": 1, "status": "archived", "meta": {"sender": {"id": 2}}, "last_activity_at": 1},
            {},
        )


def test_the_cursor_is_printable_and_a_foreign_one_starts_over() -> None:
    cursor = cw.encode_cursor(10, 20, 3)
    assert cw.decode_cursor(cursor) == (10, 20, 3)
    assert cw.decode_cursor("") == cw.decode_cursor("42") == cw.decode_cursor('{"w":true}')
    p.ChangePage(server_id="cw-x", cursor=cursor, has_more=False)


# --- the validation itself ----------------------------------------------------------


def test_the_fake_rejects_requests_the_spec_does_not_allow(
    server: FakeChatwootServer, fake: FakeChatwoot
) -> None:
    base = f"{server.url}/api/v1/accounts/{fake.account_id}"
    auth = {"api_access_token": fake.token}
    wrong = [
        httpx.post(
            f"{base}/conversations/1/toggle_status", json={"status": "closed"}, headers=auth
        ),
        httpx.post(f"{base}/conversations/1/messages", json={"text": "hi"}, headers=auth),
        httpx.get(f"{base}/conversations", params={"page": "two"}, headers=auth),
        httpx.get(f"{base}/conversations/1/messages", params={"since": "5"}, headers=auth),
        httpx.get(f"{base}/conversations"),
    ]
    assert [r.status_code for r in wrong] == [400] * 5
    assert len(fake.violations) == 5
    assert "closed" in fake.violations[0]
    fake.violations.clear()  # these were on purpose


def test_the_validator_knows_the_vendored_document() -> None:
    validator = SpecValidator.load()
    path = "/api/v1/accounts/3/conversations/1/toggle_status"
    headers = {"api_access_token": "t", "content-type": "application/json"}
    ok = json.dumps({"status": "snoozed", "snoozed_until": 1700000000}).encode()
    assert validator.check("POST", path, [], headers, ok).endswith("/toggle_status")
    bad = json.dumps({"status": "snoozed", "snoozed_until": "tomorrow"}).encode()
    with pytest.raises(SpecViolation, match="snoozed_until"):
        validator.check("POST", path, [], headers, bad)
    with pytest.raises(SpecViolation, match="integer"):
        validator.check("GET", "/api/v1/accounts/x/agents", [], headers, b"")
    document = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    assert document["openapi"] == "3.0.4"


def test_canned_responses_become_quick_replies_through_sync(
    backend: ChatwootBackend, db: Database, fake: FakeChatwoot, tmp_path: Path
) -> None:
    fake.canned.append(
        {
            "id": 3,
            "account_id": 3,
            "short_code": "Hi Name!",
            "content": "Hi {{contact.name}}, your ticket {{conversation.id}} is open {ok}.",
        }
    )
    SyncEngine(db, backend).run_once()

    shop = store_replies.shop_replies(db)
    library, issues = replies_service.load(Settings(paths=Paths(tmp_path)), shop)
    assert issues == []
    named = library.get("en.chatwoot.c3-hi-name")
    assert named is not None
    assert named.body == "Hi {customer_name}, your ticket {fill:conversation id} is open {{ok}}."
    greeting = library.get("en.chatwoot.c1-hi")
    assert greeting is not None
    assert "\x1b" not in greeting.body  # sanitised like every backend text

    # Withdrawn in Chatwoot: withdrawn here at the next read of the canned responses.
    fake.canned = [c for c in fake.canned if c["id"] != 2]
    backend._canned_at = None  # the next sweep reads them again (normally every 10 min)
    SyncEngine(db, backend).run_once()
    ids = {r.id for r in store_replies.shop_replies(db) if not r.deleted}
    assert "en.chatwoot.c2-ship" not in ids
    assert "en.chatwoot.c3-hi-name" in ids
