"""The server's database is the owner's alone, and its OpenAPI document lists every
answer the server gives (issue 14, bug 11)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cs_console import protocol as p
from cs_console.domain import Role
from cs_console.server.openapi import build_spec
from cs_console.server.run import database_url
from cs_console.server.state import ServerState
from tests.harness import LiveServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def wide_umask() -> Iterator[None]:
    # The usual umask, whatever the test runner's: files would be 0644 left to SQLite.
    previous = os.umask(0o022)
    yield None
    os.umask(previous)


@pytest.mark.usefixtures("wide_umask")
def test_a_new_server_database_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    state = ServerState(database_url(None, tmp_path))
    try:
        state.add_agent("Kim", Role.AGENT, None)
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert file.exists(), file
            assert mode(file) == 0o600, f"{file.name} is {oct(mode(file))}"
    finally:
        state.close()


@pytest.mark.usefixtures("wide_umask")
def test_an_older_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    ServerState(f"sqlite:///{path}").close()
    path.chmod(0o644)
    state = ServerState(f"sqlite:///{path}")
    try:
        assert mode(path) == 0o600
    finally:
        state.close()


def test_the_400_for_a_missing_idempotency_key_is_documented(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    responses = build_spec()["paths"]["/api/v1/operations"]["post"]["responses"]
    assert "400" in responses
    answer = httpx.post(
        live_server.url + "/api/v1/operations",
        headers={"Authorization": f"Bearer {tokens['Lan']}"},
        json={"operation": {"op": "mark_read", "conversation_id": "conv-1"}},
    )
    assert answer.status_code == 400
    p.ErrorBody.model_validate_json(answer.content)


def test_the_agent_endpoints_are_documented() -> None:
    paths = build_spec()["paths"]
    assert "409" in paths["/api/v1/agents"]["post"]["responses"]
    for path in ("/api/v1/agents/{name}/role", "/api/v1/agents/{name}/enable"):
        responses = paths[path]["post"]["responses"]
        assert {"200", "401", "403", "404", "422"} <= set(responses), path
