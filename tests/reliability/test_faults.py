"""What the client does when the link or the server misbehaves.

The server is real (uvicorn on 127.0.0.1). Faults a real server cannot produce on
demand (a 503, a timeout after it committed, a garbled page) come from
:class:`FaultTransport`, an httpx transport that passes every request through to the
real server except those it was told to spoil.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, table

from cs_console.backends import http
from cs_console.backends.base import AuthFailed, BadResponse, Unavailable
from cs_console.backends.http import check_url, parse_retry_after
from cs_console.backends.reference import ReferenceBackend
from cs_console.domain import DeliveryState
from cs_console.secret import Secret
from cs_console.services import conversations
from cs_console.services.context import AgentContext
from cs_console.store import outbox
from cs_console.sync.engine import SyncEngine, SyncLoop
from cs_console.timeutil import utcnow
from tests.harness import LiveServer, client_context

Responder = Callable[[httpx.Request, httpx.BaseTransport], httpx.Response]


@dataclass
class Rule:
    """Spoil the next ``times`` requests matching ``method`` and the path's end."""

    respond: Responder
    method: str | None
    path: str | None
    times: int

    def matches(self, request: httpx.Request) -> bool:
        return (
            self.times > 0
            and (self.method is None or request.method == self.method)
            and (self.path is None or request.url.path.endswith(self.path))
        )


@dataclass
class FaultTransport(httpx.BaseTransport):
    """Passes requests to a real :class:`httpx.HTTPTransport` unless a rule matches."""

    real: httpx.HTTPTransport = field(default_factory=httpx.HTTPTransport)
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str]] = field(default_factory=list)

    def inject(
        self,
        respond: Responder,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
    ) -> None:
        self.rules.append(Rule(respond, method, path, times))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        for rule in self.rules:
            if rule.matches(request):
                rule.times -= 1
                return rule.respond(request, self.real)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


# --- responders ----------------------------------------------------------------------


def answer(
    status: int,
    content: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Responder:
    """A response made up here; the server never sees the request."""

    def respond(request: httpx.Request, real: httpx.BaseTransport) -> httpx.Response:
        return httpx.Response(status, headers=headers or [], content=content, request=request)

    return respond


def forward(request: httpx.Request, real: httpx.BaseTransport) -> tuple[int, bytes]:
    """Send ``request`` to the real server and read its whole answer."""
    response = real.handle_request(request)
    try:
        return response.status_code, response.read()
    finally:
        response.close()


def timeout_after_commit(request: httpx.Request, real: httpx.BaseTransport) -> httpx.Response:
    """The server gets the request and commits it; the answer is lost on the way back."""
    forward(request, real)
    raise httpx.ReadTimeout("timed out (after the server committed)", request=request)


def rewrite(
    change: Callable[[bytes], bytes], content_type: bytes = b"application/json"
) -> Responder:
    """The real server's answer, altered on the way back."""

    def respond(request: httpx.Request, real: httpx.BaseTransport) -> httpx.Response:
        status, body = forward(request, real)
        return httpx.Response(
            status, headers=[(b"content-type", content_type)], content=change(body)
        )

    return respond


def edit_json(change: Callable[[dict[str, object]], None]) -> Responder:
    def apply(body: bytes) -> bytes:
        data = json.loads(body)
        change(data)
        return json.dumps(data).encode()

    return rewrite(apply)


def then(action: Callable[[], object]) -> Responder:
    """Pass the request through, then do ``action`` (e.g. rotate the token)."""

    def respond(request: httpx.Request, real: httpx.BaseTransport) -> httpx.Response:
        response = real.handle_request(request)
        response.read()
        action()
        return response

    return respond


# --- the client under test -------------------------------------------------------------


@dataclass
class Rig:
    ctx: AgentContext
    transport: FaultTransport
    engine: SyncEngine
    server: LiveServer

    def queue(self, body: str, conversation_id: str = "conv-1") -> str:
        queued = conversations.send(self.ctx, conversation_id, body, force=True)
        assert isinstance(queued, conversations.Queued)
        return queued.message_id

    def delivery(self, message_id: str, conversation_id: str = "conv-1") -> DeliveryState:
        rows = conversations.messages(self.ctx, conversation_id)
        return next(m.delivery for m in rows if m.message_id == message_id)

    def snapshot(self) -> dict[str, object]:
        """Row counts of every data table, the cursor, and the pending outbox."""
        tables = (
            "agent",
            "customer",
            "conversation",
            "message",
            "orders",
            "order_event",
            "order_remark",
            "outbox",
        )
        with self.ctx.db.read() as conn:
            counts: dict[str, object] = {
                t: conn.execute(select(func.count()).select_from(table(t))).scalar_one()
                for t in tables
            }
            counts["cursor"] = conn.exec_driver_sql(
                "SELECT value FROM sync_state WHERE key = 'cursor'"
            ).scalar_one()
            counts["conversations"] = conn.exec_driver_sql(
                "SELECT group_concat(id || unread_count || snippet, '|') FROM conversation"
            ).scalar_one()
        return counts


def make_backend(server: LiveServer, token: str, transport: FaultTransport) -> ReferenceBackend:
    return ReferenceBackend(server.url, Secret(token), transport=transport)


@pytest.fixture
def rig(tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]) -> Iterator[Rig]:
    ctx = client_context(tmp_path / "client", live_server, tokens["Lan"])
    transport = FaultTransport()
    engine = SyncEngine(ctx.db, make_backend(live_server, tokens["Lan"], transport))
    engine.run_once()
    yield Rig(ctx, transport, engine, live_server)
    engine.backend.close()
    ctx.close()


# --- the link is down or the server fails ------------------------------------------------


def test_connection_refused(rig: Rig) -> None:
    message_id = rig.queue("sent while the server is down")
    rig.server.stop()
    with pytest.raises(Unavailable) as caught:
        rig.engine.run_once()
    assert "cannot reach the server" in str(caught.value)
    assert rig.engine.status().last_error == str(caught.value)
    [entry] = outbox.entries(rig.ctx.db)
    assert (entry.state, entry.attempts) == ("pending", 1)
    assert rig.delivery(message_id) is DeliveryState.QUEUED
    rig.server.start()
    rig.engine.run_once()
    assert rig.server.state.messages_with_body("sent while the server is down") == 1
    assert rig.delivery(message_id) is DeliveryState.SENT


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_keeps_entry_pending(rig: Rig, status: int) -> None:
    body = f"survives a {status}"
    message_id = rig.queue(body)
    rig.transport.inject(
        answer(status, b'{"error": "boom", "detail": ""}'), method="POST", path="/operations"
    )
    with pytest.raises(Unavailable) as caught:
        rig.engine.run_once()
    assert str(status) in str(caught.value)
    [entry] = outbox.entries(rig.ctx.db)
    assert entry.state == "pending"
    assert entry.last_error is not None
    assert str(status) in entry.last_error
    assert rig.delivery(message_id) is DeliveryState.QUEUED
    assert rig.server.state.messages_with_body(body) == 0
    rig.engine.run_once()
    assert rig.server.state.messages_with_body(body) == 1
    assert rig.delivery(message_id) is DeliveryState.SENT


def _retry_after(rig: Rig, value: bytes) -> float | None:
    rig.transport.inject(answer(429, headers=[(b"retry-after", value)]), path="/changes")
    with pytest.raises(Unavailable) as caught:
        rig.engine.run_once()
    assert "slow down" in str(caught.value)
    return caught.value.retry_after


def test_429_retry_after_seconds(rig: Rig) -> None:
    assert _retry_after(rig, b"7") == 7.0
    # The loop never comes back sooner than the server asked.
    loop = SyncLoop(rig.engine, interval=0.1)
    assert loop.next_delay(7.0) >= 7.0


def test_429_retry_after_http_date(rig: Rig) -> None:
    when = format_datetime(utcnow() + timedelta(seconds=30), usegmt=True)
    delay = _retry_after(rig, when.encode())
    assert delay is not None
    assert 25.0 <= delay <= 30.0


def test_429_retry_after_garbage(rig: Rig) -> None:
    assert _retry_after(rig, b"soon, maybe") is None


def test_429_retry_after_unicode_digit_garbage(rig: Rig) -> None:
    assert _retry_after(rig, "²".encode()) is None


def test_timeout_after_server_committed_does_not_double(rig: Rig) -> None:
    body = "the answer got lost, the message did not"
    message_id = rig.queue(body)
    rig.transport.inject(timeout_after_commit, method="POST", path="/operations")
    with pytest.raises(Unavailable) as caught:
        rig.engine.run_once()
    assert "did not answer in time" in str(caught.value)
    assert rig.server.state.messages_with_body(body) == 1  # committed on the server
    assert rig.delivery(message_id) is DeliveryState.QUEUED
    rig.engine.run_once()
    rig.engine.run_once()
    assert rig.server.state.messages_with_body(body) == 1
    assert rig.delivery(message_id) is DeliveryState.SENT
    assert outbox.entries(rig.ctx.db) == []
    pushes = [s for s in rig.transport.seen if s == ("POST", "/api/v1/operations")]
    assert len(pushes) == 2  # the retry carried the same key and was answered from it


def test_garbled_answer_after_commit_does_not_double(rig: Rig) -> None:
    body = "committed, then answered with an HTML page"
    message_id = rig.queue(body)
    rig.transport.inject(
        rewrite(lambda _: b"<html><body>OK</body></html>", b"text/html"),
        method="POST",
        path="/operations",
    )
    with pytest.raises(BadResponse):
        rig.engine.run_once()
    assert outbox.entries(rig.ctx.db)[0].state == "pending"
    rig.engine.run_once()
    assert rig.server.state.messages_with_body(body) == 1
    assert rig.delivery(message_id) is DeliveryState.SENT


# --- answers we must not accept -------------------------------------------------------------


def _cursor_as_number(data: dict[str, object]) -> None:
    data["cursor"] = int(str(data["cursor"]))


def _naive_times(data: dict[str, object]) -> None:
    messages = data["messages"]
    assert isinstance(messages, list)
    assert messages
    for m in messages:
        stamp = str(m["created_at"])
        m["created_at"] = stamp.removesuffix("Z").removesuffix("+00:00")


BAD_PAGES: dict[str, tuple[Responder, str]] = {
    "truncated JSON": (rewrite(lambda body: body[: len(body) // 2]), "Invalid JSON"),
    "HTML error page with 200": (
        answer(
            200,
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            [(b"content-type", b"text/html")],
        ),
        "Invalid JSON",
    ),
    "empty 200": (answer(200), "Invalid JSON"),
    "cursor as a number": (edit_json(_cursor_as_number), "cursor: Input should be a valid string"),
    "naive timestamps": (edit_json(_naive_times), "created_at: Input should have timezone info"),
}


@pytest.mark.parametrize("fault", list(BAD_PAGES))
def test_bad_page_is_refused_and_store_unchanged(rig: Rig, fault: str) -> None:
    rig.server.state.add_customer_message("conv-2", "new since the last pull")
    before = rig.snapshot()
    respond, reason = BAD_PAGES[fault]
    rig.transport.inject(respond, method="GET", path="/changes")
    with pytest.raises(BadResponse) as caught:
        rig.engine.run_once()
    assert "cannot accept" in str(caught.value)
    assert reason in str(caught.value)
    assert rig.snapshot() == before
    status = rig.engine.status()
    assert not status.online
    assert status.last_error == str(caught.value)
    # Once the server answers properly, the page goes in.
    rig.engine.run_once()
    assert rig.snapshot() != before
    bodies = [m.body for m in conversations.messages(rig.ctx, "conv-2")]
    assert bodies[-1] == "new since the last pull"


def test_oversized_answer_is_refused(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", 2048)
    rig.server.state.add_customer_message("conv-2", "x" * 4000)
    before = rig.snapshot()
    # As the real server sends it, with a Content-Length.
    with pytest.raises(BadResponse, match="too large"):
        rig.engine.run_once()
    assert rig.snapshot() == before

    # Streamed without a Content-Length: the cap holds while reading.
    def chunked(request: httpx.Request, real: httpx.BaseTransport) -> httpx.Response:
        _, body = forward(request, real)
        chunks = (body[i : i + 256] for i in range(0, len(body), 256))
        return httpx.Response(200, content=chunks, request=request)

    rig.transport.inject(chunked, method="GET", path="/changes")
    with pytest.raises(BadResponse, match="too large"):
        rig.engine.run_once()
    assert rig.snapshot() == before


def test_redirect_is_not_followed(rig: Rig) -> None:
    rig.transport.inject(
        answer(302, headers=[(b"location", (rig.server.url + "/api/v1/changes").encode())]),
        method="GET",
        path="/changes",
    )
    rig.transport.seen.clear()
    before = rig.snapshot()
    with pytest.raises(BadResponse, match="redirected"):
        rig.engine.run_once()
    assert rig.transport.seen == [("GET", "/api/v1/changes")]
    assert rig.snapshot() == before


def test_redirect_on_push_keeps_entry(rig: Rig) -> None:
    body = "redirected, not lost"
    rig.queue(body)
    rig.transport.inject(
        answer(307, headers=[(b"location", b"https://elsewhere.example/api/v1/operations")]),
        method="POST",
    )
    with pytest.raises(BadResponse, match="redirected"):
        rig.engine.run_once()
    assert [e.state for e in outbox.entries(rig.ctx.db)] == ["pending"]
    rig.engine.run_once()
    assert rig.server.state.messages_with_body(body) == 1


def test_401_mid_queue_keeps_the_rest_pending(rig: Rig, tokens: dict[str, str]) -> None:
    bodies = [f"auth test {i}" for i in range(3)]
    ids = [rig.queue(b) for b in bodies]
    new_token: list[str] = []

    def rotate() -> None:  # the admin issues Lan a new token; the old one stops working
        new_token.append(rig.server.state.rotate_token("Lan"))

    rig.transport.inject(then(rotate), method="POST", path="/operations")
    with pytest.raises(AuthFailed):
        rig.engine.run_once()
    status = rig.engine.status()
    assert status.last_error is not None
    assert "refused the token" in status.last_error
    entries = outbox.entries(rig.ctx.db)
    assert [e.state for e in entries] == ["pending", "pending"]
    assert [rig.delivery(i) for i in ids] == [
        DeliveryState.SENT,
        DeliveryState.QUEUED,
        DeliveryState.QUEUED,
    ]
    assert [rig.server.state.messages_with_body(b) for b in bodies] == [1, 0, 0]

    rig.engine.backend.close()
    rig.engine = SyncEngine(rig.ctx.db, make_backend(rig.server, new_token[0], FaultTransport()))
    rig.engine.run_once()
    assert [rig.server.state.messages_with_body(b) for b in bodies] == [1, 1, 1]
    assert [rig.delivery(i) for i in ids] == [DeliveryState.SENT] * 3
    assert outbox.depth(rig.ctx.db) == 0


# --- the helpers on their own -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("86400", 3600.0),  # capped at an hour
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: now
        ("Wed, 21 Oct 2015 07:28:00 -0000", None),  # no zone: garbage
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_future_date() -> None:
    value = format_datetime(utcnow() + timedelta(seconds=120), usegmt=True)
    delay = parse_retry_after(value)
    assert delay is not None
    assert 115.0 <= delay <= 120.0


def test_parse_retry_after_superscript_digit() -> None:
    assert parse_retry_after("²") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("http://127.8.9.10", "http://127.8.9.10"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://shop.example.com/", "https://shop.example.com"),
    ],
)
def test_check_url_accepts(url: str, expected: str) -> None:
    assert check_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example.com",
        "http://10.0.0.5:8000",
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example",
        "http://0.0.0.0:8000",
    ],
)
def test_check_url_refuses_plain_http_off_this_machine(url: str) -> None:
    with pytest.raises(ValueError, match="plain http"):
        check_url(url)
    assert check_url(url, insecure=True) == url
    with pytest.raises(ValueError, match="plain http"):
        ReferenceBackend(url, Secret("t"))


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "file:///etc/passwd", "127.0.0.1:8000", ""])
def test_check_url_refuses_other_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        check_url(url, insecure=True)
