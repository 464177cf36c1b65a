"""Who may do what on the reference server, and limits on what it accepts.

One real server (uvicorn on 127.0.0.1) serves the whole module: every request here
is refused, so it writes nothing, and each test checks exactly that.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from rich.traceback import Traceback
from sqlalchemy import func, select, table

from cs_console.backends.base import AuthFailed
from cs_console.backends.reference import ReferenceBackend
from cs_console.domain import Role
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.server.state import ServerState
from cs_console.settings import Settings
from tests.harness import LiveServer, tiny_shop

API = "/api/v1"
TABLES = ("agent", "api_token", "customer", "conversation", "message", "idempotency", "change")


@dataclass
class Site:
    server: LiveServer
    state: ServerState
    tokens: dict[str, str]
    client: httpx.Client

    def counts(self) -> dict[str, int]:
        with self.state.read() as conn:
            return {
                t: int(conn.execute(select(func.count()).select_from(table(t))).scalar_one())
                for t in TABLES
            }

    def agent_names(self) -> list[str]:
        return [rec.name for rec, _ in self.state.list_agents()]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("access")
    state = ServerState(f"sqlite:///{home / 'server.db'}")
    tokens = tiny_shop(state)
    tokens["Rex"] = state.add_agent("Rex", Role.SUPERVISOR, None)
    server = LiveServer(state).start()
    client = httpx.Client(base_url=server.url, timeout=10)
    # Rex's token worked until it was revoked.
    assert client.get(API + "/me", headers=bearer(tokens["Rex"])).status_code == 200
    assert state.revoke_agent("Rex")
    yield Site(server, state, tokens, client)
    client.close()
    server.stop()
    state.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


OPERATION = {
    "operation": {
        "op": "send_message",
        "id": "access-msg-1",
        "conversation_id": "conv-1",
        "kind": "agent",
        "body": "must never arrive",
    }
}
NEW_AGENT = {"name": "Eve", "role": "supervisor", "group": None}

ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "GET me": ("GET", API + "/me", None),
    "GET changes": ("GET", API + "/changes?since=0&limit=10", None),
    "POST operations": ("POST", API + "/operations", OPERATION),
    "GET agents": ("GET", API + "/agents", None),
    "POST agents": ("POST", API + "/agents", NEW_AGENT),
}


def auth_headers(site: Site, case: str) -> dict[str, str]:
    sofia = site.tokens["Sofia"]  # a supervisor: only the way it is sent is wrong
    return {
        "no token": {},
        "empty bearer": {"Authorization": "Bearer"},
        "bad token": bearer("not-a-real-token"),
        "revoked token": bearer(site.tokens["Rex"]),
        "other scheme": {"Authorization": f"Basic {sofia}"},
        "token without scheme": {"Authorization": sofia},
        "token in the query": {},
    }[case]


AUTH_CASES = (
    "no token",
    "empty bearer",
    "bad token",
    "revoked token",
    "other scheme",
    "token without scheme",
    "token in the query",
)


def send(
    site: Site,
    endpoint: str,
    headers: dict[str, str],
    params: dict[str, str] | None = None,
) -> httpx.Response:
    method, path, body = ENDPOINTS[endpoint]
    headers = headers | {"Idempotency-Key": "access-key-1"}
    return site.client.request(method, path, headers=headers, json=body, params=params)


@pytest.mark.parametrize("case", AUTH_CASES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_unauthenticated_requests_are_refused(site: Site, endpoint: str, case: str) -> None:
    before = site.counts()
    params = {"token": site.tokens["Sofia"]} if case == "token in the query" else None
    response = send(site, endpoint, auth_headers(site, case), params)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]
    assert site.counts() == before
    assert "Eve" not in site.agent_names()
    assert site.state.messages_with_body("must never arrive") == 0


@pytest.mark.parametrize("endpoint", ["GET agents", "POST agents"])
def test_agents_endpoint_is_for_supervisors_only(site: Site, endpoint: str) -> None:
    before = site.counts()
    response = send(site, endpoint, bearer(site.tokens["Lan"]))
    assert response.status_code == 403
    assert response.json()["error"] == "supervisors only"
    assert site.counts() == before
    assert "Eve" not in site.agent_names()


def test_supervisor_sees_agents_without_tokens(site: Site) -> None:
    response = send(site, "GET agents", bearer(site.tokens["Sofia"]))
    assert response.status_code == 200
    listed = {a["name"]: a for a in response.json()["agents"]}
    assert listed["Rex"]["revoked"] is True
    assert listed["Lan"]["revoked"] is False
    text = response.text
    assert all(token not in text for token in site.tokens.values())
    assert "token" not in text


def big_operation(size: int) -> bytes:
    op = json.loads(json.dumps(OPERATION))
    op["operation"]["body"] = "x" * size
    return json.dumps(op).encode()


@pytest.mark.parametrize(("path", "supervisor"), [("/operations", False), ("/agents", True)])
def test_body_over_64_kib_is_refused(site: Site, path: str, supervisor: bool) -> None:
    token = site.tokens["Sofia" if supervisor else "Lan"]
    headers = bearer(token) | {"Idempotency-Key": "big-1", "Content-Type": "application/json"}
    before = site.counts()
    body = big_operation(70 * 1024)
    declared = site.client.post(API + path, headers=headers, content=body)
    assert declared.status_code == 413
    # Without a Content-Length (chunked), the cap holds while reading.
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
    streamed = site.client.post(API + path, headers=headers, content=chunks)
    assert streamed.status_code == 413
    assert site.counts() == before


def test_body_just_under_the_limit_is_read(site: Site) -> None:
    # A 60 KiB operation is read (and then refused for its 8000-character body cap).
    headers = bearer(site.tokens["Lan"]) | {"Idempotency-Key": "big-2"}
    before = site.counts()
    response = site.client.post(
        API + "/operations",
        headers=headers | {"Content-Type": "application/json"},
        content=big_operation(60 * 1024),
    )
    assert response.status_code == 422
    assert site.counts() == before


@pytest.mark.parametrize(
    "query",
    [
        {"since": "0", "limit": "0"},
        {"since": "0", "limit": "100000"},
        {"since": "0", "limit": "2001"},
        {"since": "0", "limit": "-1"},
        {"since": "-1", "limit": "10"},
        {"since": "0", "limit": "ten"},
        {"since": "1.5"},
    ],
)
def test_changes_limits_are_checked(site: Site, query: dict[str, str]) -> None:
    response = site.client.get(API + "/changes", headers=bearer(site.tokens["Lan"]), params=query)
    assert response.status_code == 422
    assert response.json()["error"]


@pytest.mark.parametrize("key", ["", "k" * 129])
def test_operation_needs_a_sane_idempotency_key(site: Site, key: str) -> None:
    before = site.counts()
    response = site.client.post(
        API + "/operations",
        headers=bearer(site.tokens["Lan"]) | {"Idempotency-Key": key},
        json=OPERATION,
    )
    assert response.status_code == 400
    assert site.counts() == before


def test_client_reports_a_revoked_token_without_showing_it(site: Site) -> None:
    backend = ReferenceBackend(site.server.url, Secret(site.tokens["Rex"]))
    try:
        with pytest.raises(AuthFailed) as caught:
            backend.me()
    finally:
        backend.close()
    assert "refused the token" in str(caught.value)
    assert site.tokens["Rex"] not in str(caught.value)


# --- the token never shows itself ----------------------------------------------------------


SECRET_TOKEN = "tok_5up3r-s3cr3t-v4lu3-never-shown"


def holder() -> tuple[Settings, Secret]:
    secret = Secret(SECRET_TOKEN)
    settings = Settings(
        paths=Paths(Path("/nonexistent/cs-console")),
        backend={"url": "http://127.0.0.1:1"},
        token=secret,
    )
    return settings, secret


def test_repr_and_str_never_show_the_token() -> None:
    settings, secret = holder()
    assert secret.reveal() == SECRET_TOKEN
    for shown in (
        repr(settings),
        str(settings),
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        format(secret),
        repr(settings.with_backend("http://127.0.0.1:2", secret)),
        repr([settings, {"token": secret}]),
    ):
        assert SECRET_TOKEN not in shown
        assert "5up3r" not in shown


def _crash(settings: Settings, secret: Secret) -> None:
    raise RuntimeError("something broke while the token was in scope")


def test_crash_screen_with_locals_never_shows_the_token() -> None:
    # Textual's crash screen is a rich Traceback with locals shown.
    settings, secret = holder()
    try:
        _crash(settings, secret)
    except RuntimeError as exc:
        trace = Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=True)
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(trace)
    rendered = console.export_text()
    assert "something broke" in rendered
    assert "Secret('********')" in rendered
    assert SECRET_TOKEN not in rendered
    assert "5up3r" not in rendered
