"""Agent accounts over HTTP, as an agent and as a supervisor: creating never overwrites,
names are visible single lines, and a role change or a re-enable is its own operation,
recorded in the agent audit and the change feed. Every refusal writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cs_console import protocol as p
from cs_console.domain import Role
from cs_console.server.demo import load_demo
from cs_console.server.errors import OperationError
from cs_console.server.state import ServerState
from tests.harness import LiveServer
from tests.harness import server_snapshot as snapshot

API = "/api/v1"


@dataclass
class Site:
    state: ServerState
    tokens: dict[str, str]
    client: httpx.Client

    def post(self, who: str, path: str, body: Any = None) -> httpx.Response:
        token = self.tokens.get(who, who)
        return self.client.post(API + path, headers={"Authorization": f"Bearer {token}"}, json=body)

    def me(self, token: str) -> httpx.Response:
        return self.client.get(API + "/me", headers={"Authorization": f"Bearer {token}"})

    def refused(self, who: str, path: str, body: Any, status: int) -> str:
        before = snapshot(self.state)
        response = self.post(who, path, body)
        assert response.status_code == status, response.text
        error = p.ErrorBody.model_validate_json(response.content)
        assert error.error
        assert snapshot(self.state) == before, "a refused request wrote something"
        return error.error + " " + error.detail

    def ok(self, who: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.post(who, path, body)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def agent(self, name: str) -> p.AgentRecord:
        return next(rec for rec, _ in self.state.list_agents() if rec.name == name)


@pytest.fixture
def site(live_server: LiveServer, tokens: dict[str, str]) -> Iterator[Site]:
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield Site(live_server.state, dict(tokens), client)


def test_creating_an_agent_that_exists_is_a_409(site: Site) -> None:
    created = site.ok("Sofia", "/agents", {"name": "Rex", "role": "supervisor"})
    site.tokens["Rex"] = created["token"]
    # Another supervisor "creating" Rex again would take over his account: refused.
    for body in (
        {"name": "Rex", "role": "agent", "group": "pre-sale"},
        {"name": "Rex", "role": "supervisor"},
        {"name": "Sofia", "role": "agent"},
        {"name": "Lan", "role": "supervisor"},
    ):
        assert "exists" in site.refused("Sofia", "/agents", body, 409)
    assert site.me(site.tokens["Rex"]).json()["agent"]["role"] == "supervisor"
    assert site.me(site.tokens["Sofia"]).status_code == 200
    assert site.agent("Lan").role is Role.AGENT


def test_creating_a_revoked_agent_does_not_re_enable_it(site: Site) -> None:
    assert site.state.revoke_agent("Mei")
    site.refused("Sofia", "/agents", {"name": "Mei", "role": "agent"}, 409)
    assert site.me(site.tokens["Mei"]).status_code == 401


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "\t",
        " Kim",
        "Kim ",
        "Kim  Lee",
        "Kim\nLee",
        "Kim\x1b]52;c;SGVsbG8=\x07",
        "\x9b31mKim",
        "Kim\u202eeeL",
        "Kim\u200b",
        "Kim\u2028",
        "Kim/Lee",
        "K" * (p.MAX_NAME_CHARS + 1),
        None,
        42,
        ["Kim"],
    ],
)
def test_a_name_must_be_one_visible_line(site: Site, name: object) -> None:
    site.refused("Sofia", "/agents", {"name": name, "role": "agent"}, 422)


def test_names_in_any_script_are_welcome(site: Site) -> None:
    for name in ("Trần Văn Minh", "王芳", "Sofía", "K" * p.MAX_NAME_CHARS):
        created = site.ok("Sofia", "/agents", {"name": name, "role": "agent"})
        assert site.me(created["token"]).json()["agent"]["name"] == name


def test_an_agent_may_not_manage_accounts(site: Site) -> None:
    site.refused("Lan", "/agents", {"name": "Kim", "role": "supervisor"}, 403)
    site.refused("Lan", "/agents/Lan/role", {"role": "supervisor"}, 403)
    assert site.state.revoke_agent("Mei")
    site.refused("Lan", "/agents/Mei/enable", None, 403)


def test_changing_a_role_is_its_own_recorded_operation(site: Site) -> None:
    cursor = int(site.state.changes(0, 1000).cursor)
    answer = site.ok("Sofia", "/agents/Lan/role", {"role": "supervisor"})
    assert {k: answer[k] for k in ("name", "role", "group", "active")} == {
        "name": "Lan",
        "role": "supervisor",
        "group": "after-sale",
        "active": True,
    }
    assert site.me(site.tokens["Lan"]).json()["agent"]["role"] == "supervisor"
    [entry] = site.state.agent_audit("Lan")[1:]
    assert (entry.actor, entry.action, entry.detail) == (
        "Sofia",
        "role changed",
        "role: agent → supervisor",
    )
    # Every console learns it from the change feed.
    assert [a.role for a in site.state.changes(cursor, 1000).agents] == [Role.SUPERVISOR]
    # The group moves only when given.
    site.ok("Sofia", "/agents/Lan/role", {"role": "agent", "group": None})
    assert site.agent("Lan").group is None


def test_role_changes_that_are_refused(site: Site) -> None:
    assert "your own" in site.refused("Sofia", "/agents/Sofia/role", {"role": "agent"}, 403)
    site.refused("Sofia", "/agents/Nobody/role", {"role": "agent"}, 404)
    site.refused("Sofia", "/agents/Lan/role", {"role": "boss"}, 422)
    site.refused("Sofia", "/agents/Lan/role", {"role": "agent", "group": "night"}, 422)
    site.refused("Sofia", "/agents/Lan/role", ["agent"], 422)


def test_enabling_a_revoked_agent_is_its_own_recorded_operation(site: Site) -> None:
    assert site.state.revoke_agent("Mei", by="Sofia")
    assert site.agent("Mei").active is False  # off the transfer lists in every console
    old_token = site.tokens["Mei"]
    enabled = site.ok("Sofia", "/agents/Mei/enable")
    # A new token: the revoked one may have been why she was revoked.
    assert site.me(old_token).status_code == 401
    assert site.me(enabled["token"]).json()["agent"]["name"] == "Mei"
    assert site.agent("Mei").active is True
    assert [(e.actor, e.action) for e in site.state.agent_audit("Mei")] == [
        ("(server admin)", "created"),
        ("Sofia", "revoked"),
        ("Sofia", "enabled"),
    ]
    assert "not revoked" in site.refused("Sofia", "/agents/Mei/enable", None, 409)
    site.refused("Sofia", "/agents/Nobody/enable", None, 404)


def test_the_server_api_refuses_to_overwrite_too(server_state: ServerState) -> None:
    server_state.add_agent("Kim", Role.AGENT, "pre-sale")
    with pytest.raises(OperationError) as caught:
        server_state.add_agent("Kim", Role.SUPERVISOR, None)
    assert caught.value.status == 409
    with pytest.raises(OperationError) as bad:
        server_state.add_agent("Kim\x1b", Role.AGENT, None)
    assert bad.value.status == 422
    with pytest.raises(OperationError):
        server_state.rotate_token("Nobody")


def test_the_demo_loader_rotates_its_agents_tokens(tmp_path: Path) -> None:
    state = ServerState(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        first = load_demo(state)
        roles = {rec.name: rec.role for rec, _ in state.list_agents()}
        second = load_demo(state)
        assert first.keys() == second.keys()
        for name in first:
            assert state.authenticate(first[name]) is None
            caller = state.authenticate(second[name])
            assert caller is not None
            assert caller.role is roles[name]
        assert {e.action for e in state.agent_audit()} == {"token rotated"}
    finally:
        state.close()
