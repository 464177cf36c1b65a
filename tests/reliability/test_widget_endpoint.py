"""The web chat widget's public endpoint under hostile traffic: random payloads at every
endpoint, oversized bodies, and a flood from one address while a customer on another
address goes on chatting.

* Random requests (hypothesis, the style of test_random_payloads.py): never a 5xx,
  every 4xx a JSON error body.
* Oversized bodies, declared or streamed: 413, never a 5xx.
* A flood: one address sends as fast as one client can for 10 s, aiming at 1,000
  requests a second, from another process (so the load generator does not share the
  server's interpreter); meanwhile a customer from 127.0.0.2 sends and long-polls. The
  flood is held back (mostly 429), nothing is a 5xx, and every request of the other
  customer succeeds. The figures are printed (``-s``) for docs/RELIABILITY.md.

30 examples per fuzz test by default; ``CS_RELIABILITY_FULL=1`` runs 500. The flood
runs in every run (about 15 s).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_console import protocol as p
from cs_console.domain import MessageKind, Role
from cs_console.server.channels.widget_tokens import sign_identity
from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState
from tests.channels.test_widget_api import (
    IDENTITY_SECRET,
    ORIGIN,
    widget_settings,
)
from tests.harness import LiveServer
from tests.test_attachments import png

FULL = os.environ.get("CS_RELIABILITY_FULL") == "1"
EXAMPLES = 500 if FULL else 30
FLOOD_SECONDS = 10.0
FLOOD_TARGET_PER_S = 1000

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not FULL,
)

ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("POST", "/widget/v1/session"),
    ("GET", "/widget/v1/messages"),
    ("POST", "/widget/v1/messages"),
    ("PUT", "/widget/v1/attachments"),
    ("GET", "/widget/v1/attachments/att-x"),
    ("POST", "/widget/v1/typing"),
    ("POST", "/widget/v1/offline"),
    ("OPTIONS", "/widget/v1/messages"),
    ("GET", "/widget.js"),
    ("GET", "/widget.css"),
    ("GET", "/widget/demo"),
)


@dataclass(frozen=True)
class Widget:
    """A server with the widget (limits out of reach) and a visitor's token."""

    server: LiveServer
    token: str


def start_server(
    state: ServerState, settings: ServerSettings, host: str = "127.0.0.1"
) -> LiveServer:
    return LiveServer(state, settings=settings, host=host).start()


@pytest.fixture(scope="module")
def widget(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Widget]:
    folder = tmp_path_factory.mktemp("widget")
    state = ServerState(f"sqlite:///{folder / 'server.db'}")
    server = start_server(state, widget_settings(folder, demo_page=True, pow_bits=8))
    answer = httpx.post(server.url + "/widget/v1/session", json={}, timeout=10)
    token = answer.json()["token"]
    # A conversation with an image, so reads and downloads go all the way.
    httpx.post(
        server.url + "/widget/v1/messages",
        json={"id": "seed-0001", "body": "hello"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    yield Widget(server, token)
    server.stop()
    state.close()


def check_answer(response: httpx.Response) -> None:
    """No 5xx; a 4xx carries the contract's JSON error body."""
    status = response.status_code
    assert status < 500, f"{status}: {response.text[:300]}"
    if 400 <= status < 500 and response.request.method != "HEAD":
        assert response.headers.get("content-type", "").startswith("application/json"), (
            f"{status} with {response.headers.get('content-type')!r}: {response.text[:200]}"
        )
        p.ErrorBody.model_validate_json(response.content)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
junk_text = st.text(
    st.sampled_from("\x00\x1b\x7f\x85\x9b\u202e\u2066\u200b\ufeff\uffff[]<>/\\\"'&")
    | st.characters(),
    max_size=200,
)


@st.composite
def widget_bodies(draw: st.DrawFn) -> bytes:
    """A body of one of the widget's calls with a field swapped, dropped or junked."""
    valid: list[dict[str, Any]] = [
        {"shop": "demo", "language": "en", "token": None, "identity": None, "pow": None},
        {"id": "key-00001", "body": "hello"},
        {"name": "Bob", "email": "bob@example.com", "body": "call me"},
        {},
    ]
    found = dict(draw(st.sampled_from(valid)))
    field = draw(st.sampled_from([*sorted(found), "pow", "identity", "token", "extra"]))
    how = draw(st.sampled_from(["replace", "drop", "junk", "keep"]))
    if how == "drop":
        found.pop(field, None)
    elif how == "junk":
        found[field] = draw(junk_text)
    elif how == "replace":
        found[field] = draw(json_values)
    return json.dumps(found, ensure_ascii=draw(st.booleans())).encode()


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


bodies = st.one_of(
    st.binary(max_size=300),
    junk_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    widget_bodies(),
    st.integers(1, 15_000).map(deep),
    st.just(b'{"id": "key-00002", "body": "\\ud800"}'),
    st.just(b'{"name": "\\udfff", "email": "a@b.co", "body": "x"}'),
    st.just(png(1, 1)),
    st.just(b"GIF89a" + b"\x00" * 100),
    st.sampled_from([4000, 4001, 16_000]).map(
        lambda n: json.dumps({"id": "key-00003", "body": "x" * n}).encode()
    ),
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=200).map(
    lambda t: t.encode("latin-1")
)
query_values = st.one_of(
    st.integers().map(str),
    st.sampled_from(["", "-1", "1e3", "0x10", "١٢", "9" * 40, " 5 ", "NaN", "∞", "25.0001"]),
    st.text(max_size=70),
)


@FUZZ
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "", "image/png"]),
    auth=st.sampled_from(["valid", "none", "junk", "tampered"]),
    junk_auth=header_text,
    origin=st.sampled_from([None, ORIGIN, "https://evil.example", "null", "\x7f"]),
    params=st.dictionaries(
        st.sampled_from(["after", "wait", "id", "name", "x"]), query_values, max_size=3
    ),
)
def test_random_requests_never_5xx(
    widget: Widget,
    endpoint: tuple[str, str],
    body: bytes,
    content_type: str,
    auth: str,
    junk_auth: bytes,
    origin: str | None,
    params: dict[str, str],
) -> None:
    method, path = endpoint
    headers: dict[bytes, bytes] = {}
    if auth == "valid":
        headers[b"Authorization"] = f"Bearer {widget.token}".encode()
    elif auth == "junk":
        headers[b"Authorization"] = junk_auth
    elif auth == "tampered":
        headers[b"Authorization"] = f"Bearer {widget.token[:-2]}xx".encode()
    if content_type:
        headers[b"Content-Type"] = content_type.encode()
    if origin is not None:
        headers[b"Origin"] = origin.encode("latin-1")
    if params.get("wait"):
        params["wait"] = params["wait"][:1]  # no fuzz example waits more than a few s
    try:
        response = httpx.request(
            method,
            widget.server.url + path,
            content=body,
            headers=headers,
            params=params,
            timeout=30,
        )
    except (httpx.LocalProtocolError, UnicodeEncodeError):
        return  # httpx will not send it: nothing reached the server
    check_answer(response)


@FUZZ
@given(
    identity=st.one_of(
        header_text.map(lambda b: b.decode("latin-1")),
        st.builds(
            lambda fields: sign_identity(IDENTITY_SECRET, fields),
            st.dictionaries(
                st.sampled_from(["email", "phone", "name", "orders", "exp"]),
                json_values,
                max_size=5,
            ),
        ),
    ),
    token=st.none() | junk_text,
    language=json_values,
)
def test_random_sessions_never_5xx(
    widget: Widget, identity: str, token: str | None, language: Any
) -> None:
    payload = {"shop": "demo", "language": language, "token": token, "identity": identity}
    try:
        content = json.dumps(payload).encode()
    except ValueError:
        return
    response = httpx.post(
        widget.server.url + "/widget/v1/session",
        content=content,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    check_answer(response)
    assert response.status_code in (200, 422, 428)


@FUZZ
@given(
    path=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40).map(
        lambda t: "/widget/v1/" + t.lstrip("/")
    ),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
)
def test_unknown_paths_and_methods_never_5xx(widget: Widget, path: str, method: str) -> None:
    try:
        response = httpx.request(
            method,
            widget.server.url + path,
            headers={"Authorization": f"Bearer {widget.token}", "Origin": ORIGIN},
            timeout=30,
        )
    except (httpx.InvalidURL, httpx.LocalProtocolError):
        return
    check_answer(response)


def streamed(data: bytes) -> Iterator[bytes]:
    for index in range(0, len(data), 64 * 1024):
        yield data[index : index + 64 * 1024]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "size"),
    [
        ("POST", "/widget/v1/session", 16 * 1024 + 1),
        ("POST", "/widget/v1/messages", 16 * 1024 + 1),
        ("POST", "/widget/v1/messages", 2_000_000),
        ("POST", "/widget/v1/offline", 100_000),
        ("POST", "/widget/v1/typing", 20_000),
        ("PUT", "/widget/v1/attachments?id=big-00001", 5 * 1024 * 1024 + 1),
        ("PUT", "/widget/v1/attachments?id=big-00001", 12 * 1024 * 1024),
    ],
)
def test_oversized_bodies_are_413(
    widget: Widget, method: str, path: str, size: int, streaming: bool
) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"x" * size
    response = httpx.request(
        method,
        widget.server.url + path,
        content=streamed(data) if streaming else data,
        headers={"Authorization": f"Bearer {widget.token}"},
        timeout=30,
    )
    check_answer(response)
    assert response.status_code == 413


def test_the_server_still_serves_after_the_fuzzing(widget: Widget) -> None:
    headers = {"Authorization": f"Bearer {widget.token}"}
    sent = httpx.post(
        widget.server.url + "/widget/v1/messages",
        json={"id": "after-0001", "body": "after the storm"},
        headers=headers,
        timeout=10,
    )
    assert sent.status_code == 200
    assert widget.server.state.messages_with_body("after the storm") == 1
    read = httpx.get(widget.server.url + "/widget/v1/messages", headers=headers, timeout=10)
    assert "after the storm" in [m["body"] for m in read.json()["messages"]]


# --- the flood -----------------------------------------------------------------------------


def flood(url: str, token: str, seconds: float, target_per_s: int) -> dict[str, Any]:
    """As many requests as one client makes in ``seconds``, paced to ``target_per_s``
    at most, from 127.0.0.1: reads with a token, new sessions, sends. Runs in its own
    process, on threads with a keep-alive connection each (httpx's async client tops
    out far below the server here); returns the counts."""
    statuses: Counter[str] = Counter()
    sent = 0
    lock = threading.Lock()
    threads = 16
    start = time.monotonic()
    deadline = start + seconds
    headers = {"Authorization": f"Bearer {token}"}

    def one(client: httpx.Client, index: int) -> str:
        kind = index % 4
        try:
            if kind == 0:
                response = client.post("/widget/v1/session", json={})
            elif kind == 1:
                response = client.post(
                    "/widget/v1/messages",
                    json={"id": f"flood-{index:08d}", "body": "spam"},
                    headers=headers,
                )
            else:
                response = client.get("/widget/v1/messages", headers=headers)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return str(response.status_code)

    def worker(first: int) -> None:
        nonlocal sent
        index = first
        with httpx.Client(base_url=url, timeout=30) as client:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                due = start + index / target_per_s
                if due > now:
                    time.sleep(due - now)
                found = one(client, index)
                with lock:
                    statuses[found] += 1
                    sent += 1
                index += threads

    running = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return {"sent": sent, "seconds": time.monotonic() - start, "statuses": dict(statuses)}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@pytest.mark.skipif(sys.platform != "linux", reason="needs 127.0.0.2 on loopback (Linux)")
def test_a_flood_from_one_address_does_not_reach_another_customer(tmp_path: Path) -> None:
    state = ServerState(f"sqlite:///{tmp_path / 'server.db'}")
    # The shipped limits (120 a minute an address, 60 a session, 12 messages).
    server = start_server(state, widget_settings(tmp_path, **ServerSettingsDefaults.widget()))
    try:
        flooder = httpx.post(server.url + "/widget/v1/session", json={}, timeout=10).json()
        agent = state.authenticate(state.add_agent("Lan", Role.AGENT, None))
        assert agent is not None
        other = httpx.Client(
            base_url=server.url,
            transport=httpx.HTTPTransport(local_address="127.0.0.2"),
            timeout=30,
        )
        customer = Customer(other, state, agent)
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            pool.submit(time.sleep, 0).result()  # the process is up before the clock runs
            future = pool.submit(
                flood, server.url, flooder["token"], FLOOD_SECONDS, FLOOD_TARGET_PER_S
            )
            customer.run_while(lambda: not future.done())
            figures = future.result()
        other.close()
    finally:
        server.stop()
        state.close()

    statuses: dict[str, int] = figures["statuses"]
    rate = figures["sent"] / figures["seconds"]
    answered = sum(v for k, v in statuses.items() if k.isdigit())
    limited = statuses.get("429", 0) + statuses.get("428", 0)
    sends, deliveries = customer.send_latency, customer.delivery_latency
    report = {
        "flood requests sent": figures["sent"],
        "flood seconds": round(figures["seconds"], 1),
        "flood achieved rate (req/s)": round(rate),
        "flood statuses": dict(sorted(statuses.items())),
        "flood share refused (429/428)": round(limited / max(answered, 1), 3),
        "other customer requests": customer.requests,
        "other customer failures": customer.failures,
        "other customer send p50/p99 (ms)": (
            round(statistics.median(sends) * 1000),
            round(percentile(sends, 0.99) * 1000),
        ),
        "other customer reply delivered by long-poll p50/p99 (ms)": (
            round(statistics.median(deliveries) * 1000),
            round(percentile(deliveries, 0.99) * 1000),
        ),
        "other customer request p50/p99 (ms, long-polls excluded)": (
            round(statistics.median(customer.latency) * 1000),
            round(percentile(customer.latency, 0.99) * 1000),
        ),
    }
    print("\nwidget flood:", json.dumps(report, ensure_ascii=False, indent=2))
    assert not [k for k in statuses if k.isdigit() and int(k) >= 500], statuses
    assert limited / max(answered, 1) > 0.9, statuses
    assert customer.failures == [], customer.failures
    assert len(sends) >= 5
    assert len(deliveries) >= 5
    assert percentile(deliveries, 0.99) < 3.0


class ServerSettingsDefaults:
    """The widget's shipped limits, named so the flood test says what it runs with."""

    @staticmethod
    def widget() -> dict[str, Any]:
        from cs_console.server.settings import WidgetSection

        shipped = WidgetSection()
        return {
            "per_address_per_minute": shipped.per_address_per_minute,
            "per_session_per_minute": shipped.per_session_per_minute,
            "messages_per_minute": shipped.messages_per_minute,
            "sessions_per_hour": shipped.sessions_per_hour,
        }


class Customer:
    """A customer on 127.0.0.2: writes every 1.2 s (within 12 a minute), an agent
    answers each at once, and a long-poll brings the answer."""

    def __init__(self, client: httpx.Client, state: ServerState, agent: Any) -> None:
        self.client = client
        self.state = state
        self.agent = agent
        self.requests = 0
        self.failures: list[str] = []
        self.latency: list[float] = []
        self.send_latency: list[float] = []
        self.delivery_latency: list[float] = []
        self._replied: dict[str, float] = {}
        self._lock = threading.Lock()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        self.requests += 1
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.failures.append(f"{method} {path}: {type(exc).__name__}")
            return None
        if response.status_code != 200:
            self.failures.append(f"{method} {path}: {response.status_code} {response.text[:100]}")
            return None
        return response

    def run_while(self, going: Any) -> None:
        started = time.monotonic()
        answer = self._call("POST", "/widget/v1/session", json={})
        assert answer is not None, self.failures
        self.latency.append(time.monotonic() - started)
        headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        visitor_id = answer.json()["token"].split(".")[1]
        done = threading.Event()
        poller = threading.Thread(target=self._poll, args=(headers, done), daemon=True)
        number = 0
        while going():
            number += 1
            started = time.monotonic()
            sent = self._call(
                "POST",
                "/widget/v1/messages",
                json={"id": f"other-{number:04d}", "body": f"question {number}"},
                headers=headers,
            )
            took = time.monotonic() - started
            self.send_latency.append(took)
            self.latency.append(took)
            if sent is not None:
                found = self.state.channels.visitor(visitor_id)
                assert found is not None
                assert found.conversation_id is not None
                if not poller.is_alive() and not done.is_set():
                    poller.start()
                body = f"answer {number}"
                with self._lock:
                    self._replied[body] = time.monotonic()
                op = p.SendMessage(
                    id=f"ans-{number}",
                    conversation_id=found.conversation_id,
                    kind=MessageKind.AGENT,
                    body=body,
                )
                self.state.apply(self.agent, f"ans-{number}", op)
            time.sleep(max(0.0, 1.2 - (time.monotonic() - started)))
        done.set()
        poller.join(timeout=30)

    def _poll(self, headers: dict[str, str], done: threading.Event) -> None:
        after = ""
        while not done.is_set():
            answer = self._call(
                "GET", "/widget/v1/messages", params={"after": after, "wait": 5}, headers=headers
            )
            if answer is None:
                return
            arrived = time.monotonic()
            for message in answer.json()["messages"]:
                after = message["id"]
                with self._lock:
                    replied = self._replied.pop(message["body"], None)
                if replied is not None:
                    self.delivery_latency.append(arrived - replied)
