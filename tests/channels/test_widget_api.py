"""The web chat widget's endpoint over a real server on 127.0.0.1, as widget_api.md has
it: sessions and their keys, a visitor's own conversation only, long-polls, uploads,
the limits and the guards."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from sqlalchemy import select

from cs_console import protocol as p
from cs_console.domain import MessageKind, Role
from cs_console.sanitize import sanitize
from cs_console.server.channels import widget_tokens
from cs_console.server.channels.guard import solve_pow
from cs_console.server.channels.widget_tokens import rotate, sign_identity
from cs_console.server.inbox import Contact
from cs_console.server.settings import (
    ChannelsSection,
    ServerSettings,
    ServiceSection,
    WidgetSection,
)
from cs_console.server.state import ServerState
from cs_console.store.models import CONVERSATION, CUSTOMER
from cs_console.timeutil import utcnow
from tests.harness import LiveServer, tiny_shop
from tests.test_attachments import png

ORIGIN = "https://shop.example.com"
IDENTITY_SECRET = b"0123456789abcdef-shop-secret"
#: Limits no test reaches unless it means to.
GENEROUS: dict[str, Any] = {
    "per_address_per_minute": 100_000,
    "per_session_per_minute": 100_000,
    "messages_per_minute": 100_000,
    "sessions_per_hour": 100_000,
}


def widget_settings(tmp_path: Path | None = None, **widget: Any) -> ServerSettings:
    """Settings with the widget's limits out of reach (unless given), always open."""
    fields = GENEROUS | {"allowed_origins": [ORIGIN]} | widget
    if tmp_path is not None:
        secret = tmp_path / "identity-secret"
        secret.write_bytes(IDENTITY_SECRET + b"\n")
        fields.setdefault("identity_secret_file", secret)
    return ServerSettings(
        service=ServiceSection(hours="00:00-24:00", timezone="UTC"),
        channels=ChannelsSection(widget=WidgetSection(**fields)),
    )


class Clock:
    """The server's clock, moved on by tests."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(tmp_path: Path, clock: Clock) -> Iterator[ServerState]:
    found = ServerState(f"sqlite:///{tmp_path / 's.db'}", clock=clock)
    yield found
    found.close()


@pytest.fixture
def start(state: ServerState) -> Iterator[Callable[[ServerSettings], LiveServer]]:
    started: list[LiveServer] = []

    def run(settings: ServerSettings) -> LiveServer:
        server = LiveServer(state, settings=settings).start()
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()


@pytest.fixture
def server(start: Callable[[ServerSettings], LiveServer], tmp_path: Path) -> LiveServer:
    return start(widget_settings(tmp_path))


class Visitor:
    """A browser with the widget: its token, and calls made with it."""

    def __init__(self, server: LiveServer, reply: dict[str, Any]) -> None:
        self.server = server
        self.reply = reply
        self.token: str = reply["token"]

    @property
    def id(self) -> str:
        return self.token.split(".")[1]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.headers | kwargs.pop("headers", {})
        return httpx.request(method, self.server.url + path, headers=headers, timeout=30, **kwargs)

    def send(self, body: str, key: str = "key-0001") -> httpx.Response:
        return self.call("POST", "/widget/v1/messages", json={"id": key, "body": body})

    def messages(self, after: str = "", wait: float = 0) -> httpx.Response:
        return self.call("GET", "/widget/v1/messages", params={"after": after, "wait": wait})

    def conversation(self) -> str:
        found = self.server.state.channels.visitor(self.id)
        assert found is not None
        assert found.conversation_id is not None
        return found.conversation_id


def open_session(server: LiveServer, **body: Any) -> httpx.Response:
    payload = {"shop": "demo", "language": "en", "token": None, "identity": None, "pow": None}
    return httpx.post(server.url + "/widget/v1/session", json=payload | body, timeout=30)


def visitor(server: LiveServer, **body: Any) -> Visitor:
    answer = open_session(server, **body)
    assert answer.status_code == 200, answer.text
    return Visitor(server, answer.json())


def agent_caller(state: ServerState, name: str = "Lan") -> Any:
    token = state.add_agent(name, Role.AGENT, None)
    caller = state.authenticate(token)
    assert caller is not None
    return caller


def agent_says(
    state: ServerState,
    caller: Any,
    conversation: str,
    body: str,
    kind: Literal[MessageKind.AGENT, MessageKind.NOTE] = MessageKind.AGENT,
) -> None:
    op = p.SendMessage(id=f"r-{time.time_ns()}", conversation_id=conversation, kind=kind, body=body)
    state.apply(caller, f"k-{time.time_ns()}", op)


# --- sessions -----------------------------------------------------------------------


def test_a_session_says_what_the_script_needs(server: LiveServer) -> None:
    answer = open_session(server, language="zh-CN")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    found = answer.json()
    assert found["token"].startswith("v1.vis-")
    assert found["expires_at"].endswith("Z")
    assert found["agent"] is None
    assert found["open"] is True
    assert found["hours"] == "00:00-24:00"
    assert found["languages"] == ["zh-CN", "en", "vi", "es"]
    assert found["max_chars"] == 4000
    assert found["max_image_bytes"] == 5 * 1024 * 1024
    assert found["shop_name"] == "our shop"
    vis = Visitor(server, found)
    assert server.state.channels.visitor(vis.id) is not None
    assert server.state.channels.visitor(vis.id).language == "zh-CN"  # type: ignore[union-attr]


def test_a_token_resumes_its_visitor_and_its_conversation(server: LiveServer) -> None:
    first = visitor(server)
    assert first.send("hello").status_code == 200
    again = visitor(server, token=first.token)
    assert again.id == first.id
    assert [m["body"] for m in again.messages().json()["messages"]] == ["hello"]


def test_expired_tokens_401_but_resume_within_thirty_days(server: LiveServer, clock: Clock) -> None:
    vis = visitor(server)
    clock.offset = timedelta(days=31)  # past the 30-day session
    answer = vis.messages()
    assert answer.status_code == 401
    assert answer.json()["error"] == "session expired"
    resumed = visitor(server, token=vis.token)
    assert resumed.id == vis.id
    assert resumed.messages().status_code == 200
    clock.offset = timedelta(days=31 + 31)  # the old token expired 31 days ago
    assert visitor(server, token=vis.token).id != vis.id


def test_tampered_and_foreign_tokens_are_401(server: LiveServer) -> None:
    vis = visitor(server)
    head, _, signature = vis.token.rpartition(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other = visitor(server)
    for token in (
        f"{head}.{flipped}",
        vis.token.replace(vis.id, other.id),  # someone else's visitor, this signature
        "v1.vis-x.9999999999.deadbeef." + "A" * 43,  # unknown key
        "x" * 5000,
        "v1....",
    ):
        answer = httpx.get(
            server.url + "/widget/v1/messages",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 401, token
    assert httpx.get(server.url + "/widget/v1/messages", timeout=10).status_code == 401
    # A tampered token in the session call is no resume: a new visitor.
    assert visitor(server, token=f"{head}.{flipped}").id != vis.id


def test_rotation_keeps_old_sessions_and_moves_them_to_the_new_key(
    start: Callable[[ServerSettings], LiveServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(widget_tokens.KeyFile, "CHECK_EVERY_S", 0.0)
    keys = tmp_path / "keys" / "widget-secret"
    server = start(widget_settings(tmp_path, secret_file=keys))
    assert keys.stat().st_mode & 0o777 == 0o600
    vis = visitor(server)
    assert vis.send("before the rotation").status_code == 200
    old_key = vis.token.split(".")[3]
    time.sleep(0.01)  # a new modification time
    rotate(keys)
    assert vis.messages().status_code == 200  # the old key still checks
    resumed = visitor(server, token=vis.token)
    assert resumed.id == vis.id
    new_key = resumed.token.split(".")[3]
    assert new_key != old_key
    assert new_key == widget_tokens.WidgetKeys.load(keys).current.id
    assert [m["body"] for m in resumed.messages().json()["messages"]] == ["before the rotation"]
    rotate(keys)  # twice: the first key is gone (keep=2)
    time.sleep(0.01)
    rotate(keys)
    assert vis.messages().status_code == 401


# --- identity ------------------------------------------------------------------------


def test_a_signed_identity_links_the_visitor_to_the_shop_customer(
    server: LiveServer,
) -> None:
    tiny_shop(server.state)  # cus-2 is alice@example.com
    identity = sign_identity(
        IDENTITY_SECRET, {"email": "Alice@Example.com", "name": "Alice", "orders": []}
    )
    vis = visitor(server, identity=identity)
    assert vis.send("where is my parcel?").status_code == 200
    with server.state.read() as conn:
        customer = conn.execute(
            select(CONVERSATION.c.customer_id).where(CONVERSATION.c.id == vis.conversation())
        ).scalar_one()
    assert customer == "cus-2"


def test_a_wrong_or_expired_identity_leaves_the_visitor_anonymous(
    server: LiveServer,
) -> None:
    tiny_shop(server.state)
    forged = sign_identity(b"not the shop's secret at all!!", {"email": "alice@example.com"})
    expired = sign_identity(IDENTITY_SECRET, {"email": "alice@example.com", "exp": 1})
    for identity in (forged, expired, "junk", "a.b", "." * 5000):
        vis = visitor(server, identity=identity)
        assert vis.send("hi").status_code == 200
        with server.state.read() as conn:
            customer = conn.execute(
                select(CONVERSATION.c.customer_id).where(CONVERSATION.c.id == vis.conversation())
            ).scalar_one()
        assert customer != "cus-2"


# --- messages ---------------------------------------------------------------------------


def test_a_send_is_stored_once_per_client_key(server: LiveServer) -> None:
    vis = visitor(server)
    first = vis.send("only once", key="same-key-1")
    second = vis.send("only once", key="same-key-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert server.state.messages_with_body("only once") == 1
    (message,) = first.json()["messages"]
    assert message["from"] == "customer"
    assert message["body"] == "only once"
    assert message["at"].endswith("Z")
    assert message["attachments"] == []


def test_bad_message_fields_are_422(server: LiveServer) -> None:
    vis = visitor(server)
    for body in (
        {"id": "short", "body": "x"},
        {"id": "bad key!", "body": "x"},
        {"id": "x" * 65, "body": "x"},
        {"id": "good-key-1", "body": ""},
        {"id": "good-key-1", "body": "   \n "},
        {"id": "good-key-1", "body": "x" * 4001},
        {"id": "good-key-1", "body": 5},
        {"id": "good-key-1"},
    ):
        answer = vis.call("POST", "/widget/v1/messages", json=body)
        assert answer.status_code == 422, body
        assert set(answer.json()) == {"error", "detail"}
    for raw in (
        b'{"id": "good-key-1", "body": "\\ud800"}',
        b"not json",
        b"[1]",
        b"[" * 10_000 + b"]" * 10_000,
        b"\xff\xfe",
    ):
        answer = vis.call("POST", "/widget/v1/messages", content=raw)
        assert answer.status_code in (413, 422), raw[:10]
    assert vis.send("x" * 4000).status_code == 200


def test_markup_and_escapes_are_stored_sanitised_and_returned_as_json(
    server: LiveServer,
) -> None:
    vis = visitor(server)
    body = "<img src=x onerror=alert(1)> [@click=app.quit] \x1b]52;c;aGk=\x07 \u202eevil"
    answer = vis.send(body)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    (message,) = answer.json()["messages"]
    assert "\x1b" not in message["body"]
    assert "\u202e" not in message["body"]
    assert message["body"] == sanitize(body)
    assert "<img src=x" in message["body"]  # plain text for textContent, not HTML
    assert server.state.messages_with_body(sanitize(body)) == 1
    assert server.state.messages_with_body(body) == 0


def test_long_poll_answers_within_a_second_of_an_agent_reply(server: LiveServer) -> None:
    vis = visitor(server)
    (mine,) = vis.send("anyone there?").json()["messages"]
    caller = agent_caller(server.state)
    found: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        found["answer"] = vis.messages(after=mine["id"], wait=20)
        found["done"] = time.monotonic()
        found["took"] = found["done"] - started

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)
    assert "answer" not in found  # held
    replied = time.monotonic()
    agent_says(server.state, caller, vis.conversation(), "yes, Lan here")
    thread.join(timeout=5)
    assert found["done"] - replied < 1.0
    messages = found["answer"].json()["messages"]
    assert [(m["from"], m["author"], m["body"]) for m in messages] == [
        ("agent", "Lan", "yes, Lan here")
    ]


def test_a_long_poll_with_nothing_new_ends_after_wait(server: LiveServer) -> None:
    vis = visitor(server)
    started = time.monotonic()
    answer = vis.messages(wait=1)
    assert answer.status_code == 200
    assert answer.json() == {"messages": [], "agent": None, "open": True}
    assert 0.9 < time.monotonic() - started < 3
    for wait in ("26", "-1", "abc", "1e3", "nan"):
        assert vis.call("GET", "/widget/v1/messages", params={"wait": wait}).status_code == 422


def test_too_many_long_polls_per_session_are_429(server: LiveServer) -> None:
    vis = visitor(server)
    threads = [threading.Thread(target=vis.messages, kwargs={"wait": 2}) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.4)
    answer = vis.messages(wait=2)
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) >= 1
    for thread in threads:
        thread.join()


def test_notes_are_never_seen_by_the_customer(server: LiveServer) -> None:
    vis = visitor(server)
    vis.send("hello")
    caller = agent_caller(server.state)
    agent_says(server.state, caller, vis.conversation(), "customer seems angry", MessageKind.NOTE)
    agent_says(server.state, caller, vis.conversation(), "Hello! How can I help?")
    bodies = [m["body"] for m in vis.messages().json()["messages"]]
    assert bodies == ["hello", "Hello! How can I help?"]


def test_a_visitor_reads_only_its_own_conversation(server: LiveServer) -> None:
    alice, mallory = visitor(server), visitor(server)
    (first,) = alice.send("alice's secret").json()["messages"]
    assert mallory.messages().json()["messages"] == []
    assert mallory.messages(after=first["id"]).json()["messages"] == []
    mallory.send("mallory here")
    assert [m["body"] for m in mallory.messages().json()["messages"]] == ["mallory here"]
    uploaded = alice.call(
        "PUT",
        "/widget/v1/attachments",
        params={"id": "photo-0001", "name": "p.png"},
        content=png(1, 1),
    )
    attachment = uploaded.json()["messages"][0]["attachments"][0]["id"]
    assert alice.call("GET", f"/widget/v1/attachments/{attachment}").status_code == 200
    stolen = mallory.call("GET", f"/widget/v1/attachments/{attachment}")
    assert stolen.status_code == 404
    assert mallory.call("GET", "/widget/v1/attachments/..%2F..%2Fs.db").status_code == 404


# --- attachments -----------------------------------------------------------------------


def test_an_image_upload_becomes_a_message_and_downloads_safely(server: LiveServer) -> None:
    vis = visitor(server)
    data = png(1, 1)
    answer = vis.call(
        "PUT",
        "/widget/v1/attachments",
        params={"id": "photo-0001", "name": '<b>"evil".html'},
        content=data,
    )
    assert answer.status_code == 200, answer.text
    (message,) = answer.json()["messages"]
    (attachment,) = message["attachments"]
    assert attachment["type"] == "image/png"
    assert attachment["size"] == len(data)
    again = vis.call(
        "PUT", "/widget/v1/attachments", params={"id": "photo-0001", "name": "x"}, content=data
    )
    assert again.json() == answer.json()  # a retried upload stores nothing more
    got = vis.call("GET", f"/widget/v1/attachments/{attachment['id']}")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "private, no-store"


def test_uploads_other_than_images_are_415_and_empty_422(server: LiveServer) -> None:
    vis = visitor(server)
    for content in (b"just some text\n", b"%PDF-1.4 ...", b"<html><script>"):
        answer = vis.call(
            "PUT",
            "/widget/v1/attachments",
            params={"id": "file-0001", "name": "a.png"},
            content=content,
        )
        assert answer.status_code == 415, content
    empty = vis.call(
        "PUT", "/widget/v1/attachments", params={"id": "file-0001", "name": "a"}, content=b""
    )
    assert empty.status_code == 422


def test_oversized_bodies_are_413_declared_or_streamed(
    start: Callable[[ServerSettings], LiveServer], tmp_path: Path
) -> None:
    server = start(widget_settings(tmp_path, max_image_bytes=2048))
    vis = visitor(server)
    big_image = png(1, 1) + b"\x00" * 4096

    def streamed(data: bytes) -> Iterator[bytes]:
        for index in range(0, len(data), 512):
            yield data[index : index + 512]

    declared = vis.call(
        "PUT", "/widget/v1/attachments", params={"id": "big-00001"}, content=big_image
    )
    assert declared.status_code == 413
    chunked = vis.call(
        "PUT", "/widget/v1/attachments", params={"id": "big-00001"}, content=streamed(big_image)
    )
    assert chunked.status_code == 413
    json_body = b'{"id": "key-00001", "body": "' + b"x" * 17_000 + b'"}'
    assert vis.call("POST", "/widget/v1/messages", content=json_body).status_code == 413
    assert vis.call("POST", "/widget/v1/messages", content=streamed(json_body)).status_code == 413
    # Declared size is checked before the token: no token, still 413.
    assert httpx.post(server.url + "/widget/v1/messages", content=json_body).status_code == 413


# --- guards -------------------------------------------------------------------------


def test_cors_allows_the_shop_and_the_server_itself_and_refuses_others(
    server: LiveServer,
) -> None:
    vis = visitor(server)
    allowed = vis.call("GET", "/widget/v1/messages", headers={"Origin": ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in allowed.headers["vary"]
    assert "access-control-allow-credentials" not in allowed.headers
    own = vis.call("GET", "/widget/v1/messages", headers={"Origin": server.url})
    assert own.status_code == 200
    assert own.headers["access-control-allow-origin"] == server.url
    for origin in ("https://evil.example.com", "null", "https://shop.example.com.evil.com"):
        refused = vis.call("GET", "/widget/v1/messages", headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert "access-control-allow-origin" not in refused.headers
        session = httpx.post(
            server.url + "/widget/v1/session", json={}, headers={"Origin": origin}, timeout=10
        )
        assert session.status_code == 403
    preflight = httpx.options(
        server.url + "/widget/v1/messages",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-methods"] == "GET, POST, PUT"
    assert preflight.headers["access-control-allow-headers"] == "authorization, content-type"
    assert preflight.headers["access-control-max-age"] == "600"
    evil = httpx.options(
        server.url + "/widget/v1/session",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert evil.status_code == 403
    assert "access-control-allow-origin" not in evil.headers


def test_an_address_over_its_rate_gets_429_with_retry_after(
    start: Callable[[ServerSettings], LiveServer], tmp_path: Path
) -> None:
    server = start(widget_settings(tmp_path, per_address_per_minute=5))
    vis = visitor(server)
    statuses = [vis.messages().status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    refused = vis.messages()
    assert refused.json()["error"] == "too many requests"
    assert int(refused.headers["retry-after"]) >= 1


def test_a_session_over_its_message_rate_gets_429(
    start: Callable[[ServerSettings], LiveServer], tmp_path: Path
) -> None:
    server = start(widget_settings(tmp_path, messages_per_minute=2))
    vis = visitor(server)
    assert vis.send("one", key="key-00001").status_code == 200
    assert vis.send("two", key="key-00002").status_code == 200
    refused = vis.send("three", key="key-00003")
    assert refused.status_code == 429
    assert "retry-after" in refused.headers
    # Another session is not held back by this one.
    assert visitor(server).send("other", key="key-00001").status_code == 200


def test_proof_of_work_is_asked_once_an_address_opens_too_many_sessions(
    start: Callable[[ServerSettings], LiveServer], tmp_path: Path
) -> None:
    server = start(widget_settings(tmp_path, sessions_per_hour=1, pow_bits=8))
    first = visitor(server)
    asked = open_session(server)
    assert asked.status_code == 428
    found = asked.json()
    assert found["error"] == "proof of work required"
    assert found["difficulty"] == 8
    challenge = found["challenge"]
    assert len(challenge) == 80
    assert int(challenge, 16) >= 0
    # A resume is never asked.
    assert visitor(server, token=first.token).id == first.id
    nonce = solve_pow(challenge, 8)
    wrong = str(int(nonce) + 1) if nonce != "0" else "1"
    solved = open_session(server, pow={"challenge": challenge, "nonce": nonce})
    assert solved.status_code == 200
    assert Visitor(server, solved.json()).id != first.id
    # The same solution again is refused: a challenge is good once.
    replayed = open_session(server, pow={"challenge": challenge, "nonce": nonce})
    assert replayed.status_code == 428
    forged = open_session(server, pow={"challenge": "ab" * 40, "nonce": "1"})
    assert forged.status_code == 428
    fresh = open_session(server).json()["challenge"]
    if solve_pow(fresh, 8) != wrong:
        bad = open_session(server, pow={"challenge": fresh, "nonce": wrong})
        assert bad.status_code in (200, 428)  # the wrong nonce may solve it by chance


# --- typing, the offline form, static files ---------------------------------------------


def test_typing_is_204_and_reaches_the_conversation(server: LiveServer) -> None:
    vis = visitor(server)
    assert vis.call("POST", "/widget/v1/typing", json={}).status_code == 204  # none yet
    vis.send("hi")
    answer = vis.call("POST", "/widget/v1/typing", json={})
    assert answer.status_code == 204
    with server.state.read() as conn:
        typing_at = conn.execute(
            select(CONVERSATION.c.customer_typing_at).where(CONVERSATION.c.id == vis.conversation())
        ).scalar_one()
    assert typing_at is not None


def test_the_offline_form_tells_the_email_but_never_links_by_it(server: LiveServer) -> None:
    # Bob is a customer with orders; a stranger types his address into the form.
    bob = server.state.channels.open_conversation("email", Contact(email="bob@example.com"))
    vis = visitor(server)
    form = {"name": "Bob <b>", "email": "bob@example.com", "body": "call me back"}
    answer = vis.call("POST", "/widget/v1/offline", json=form)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}
    assert vis.call("POST", "/widget/v1/offline", json=form).status_code == 200  # once
    messages = vis.messages().json()["messages"]
    assert len(messages) == 1
    assert messages[0]["body"].startswith("call me back")
    assert "bob@example.com" in messages[0]["body"]
    with server.state.read() as conn:
        email = conn.execute(
            select(CUSTOMER.c.email)
            .join(CONVERSATION, CONVERSATION.c.customer_id == CUSTOMER.c.id)
            .where(CONVERSATION.c.id == vis.conversation())
        ).scalar_one()
    assert email is None  # told in the text, not trusted as who they are
    assert vis.conversation() != bob
    for bad in (
        form | {"email": "not an email"},
        form | {"body": ""},
        form | {"name": "x" * 201},
        {"email": "bob@example.com"},
    ):
        assert vis.call("POST", "/widget/v1/offline", json=bad).status_code == 422, bad


def test_static_files_are_served_or_a_json_404(
    start: Callable[[ServerSettings], LiveServer], tmp_path: Path
) -> None:
    from cs_console.server.channels.widget_api import STATIC

    without_demo = start(widget_settings(tmp_path))
    assert httpx.get(without_demo.url + "/widget/demo", timeout=10).status_code == 404
    server = start(widget_settings(tmp_path, demo_page=True))
    for path, name, kind in (
        ("/widget.js", "widget.js", "text/javascript; charset=utf-8"),
        ("/widget.css", "widget.css", "text/css; charset=utf-8"),
        ("/widget/demo", "demo.html", "text/html; charset=utf-8"),
        ("/widget/demo.css", "demo.css", "text/css; charset=utf-8"),
    ):
        answer = httpx.get(server.url + path, timeout=10)
        if (STATIC / name).is_file():
            assert answer.status_code == 200
            assert answer.headers["content-type"] == kind
            assert answer.headers["x-content-type-options"] == "nosniff"
            if name != "demo.html":
                assert answer.headers["cache-control"] == "public, max-age=300"
            else:
                assert "default-src 'self'" in answer.headers["content-security-policy"]
        else:
            assert answer.status_code == 404
            assert answer.headers["content-type"].startswith("application/json")


def test_the_agent_of_the_conversation_is_named(server: LiveServer) -> None:
    vis = visitor(server)
    vis.send("hi")
    caller = agent_caller(server.state)
    state = server.state
    state.apply(
        caller,
        "assign-1",
        p.Assign.model_validate({"conversation_id": vis.conversation(), "assignee": "Lan"}),
    )
    assert vis.messages().json()["agent"] == "Lan"
    assert visitor(server, token=vis.token).reply["agent"] == "Lan"
