"""`cs-console agents` on a reference server database: creating never overwrites,
changing a role or re-enabling is its own recorded action, refusals are one line."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import run


def test_agents_are_created_once_and_changed_explicitly(tmp_path: Path) -> None:
    home = tmp_path / "server"
    made = run(home, "agents", "add", "Lan", "--group", "after-sale")
    assert made.returncode == 0, made.stderr
    first_token = made.stdout.splitlines()[-1]

    again = run(home, "agents", "add", "Lan", "--role", "supervisor")
    assert again.returncode != 0
    assert "Traceback" not in again.stderr
    assert "Lan" in again.stderr
    assert "agent" in run(home, "agents", "list").stdout  # still an agent

    blank = run(home, "agents", "add", "  ")
    assert blank.returncode != 0
    assert "Traceback" not in blank.stderr

    role = run(home, "agents", "role", "Lan", "--role", "supervisor", "--group", "none")
    assert role.returncode == 0, role.stderr
    assert "supervisor" in role.stdout

    assert run(home, "agents", "revoke", "Lan").returncode == 0
    enabled = run(home, "agents", "enable", "Lan")
    assert enabled.returncode == 0, enabled.stderr
    new_token = enabled.stdout.splitlines()[-1]
    assert new_token != first_token

    rotated = run(home, "agents", "rotate", "Lan")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.splitlines()[-1] not in (first_token, new_token)

    audit = run(home, "agents", "audit", "Lan")
    assert audit.returncode == 0, audit.stderr
    actions = audit.stdout
    for word in ("created", "role", "revoked", "enabled", "rotated"):
        assert word in actions, f"{word!r} missing from the audit:\n{actions}"
