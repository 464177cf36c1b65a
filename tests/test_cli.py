"""The headless commands, run as a user would run them, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cs_console.server.state import ServerState
from tests.harness import LiveServer


def run(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CS_CONSOLE_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cs_console", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def test_sync_list_reply_outbox(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    home = tmp_path / "client"
    env = {"CS_CONSOLE_BACKEND_URL": live_server.url, "CS_CONSOLE_TOKEN": tokens["Lan"]}
    first = run(home, "sync", "--once", env=env)
    assert first.returncode == 0, first.stderr
    assert "pulled" in first.stdout
    listed = json.loads(run(home, "conversations", "--json").stdout)
    assert [c["id"] for c in listed] == ["conv-1", "conv-2", "conv-3"]
    assert listed[0]["customer"] == "王芳"
    thread = json.loads(run(home, "messages", "conv-1", "--json").stdout)
    assert thread[-1]["body"] == "在吗"
    orders = json.loads(run(home, "orders", "cus-1", "--json").stdout)
    assert orders[0]["tracking_number"] == "ZT123456789"
    queued = run(home, "reply", "conv-1", "Hello from the CLI", env=env)
    assert queued.returncode == 0, queued.stderr
    pending = json.loads(run(home, "outbox", "--json").stdout)
    assert [e["kind"] for e in pending] == ["send_message"]
    assert run(home, "sync", "--once", env=env).returncode == 0
    assert json.loads(run(home, "outbox", "--json").stdout) == []
    assert live_server.state.messages_with_body("Hello from the CLI") == 1


def test_token_never_on_the_command_line_and_errors_are_plain(tmp_path: Path) -> None:
    result = run(
        tmp_path, "sync", "--once", env={"CS_CONSOLE_BACKEND_URL": "", "CS_CONSOLE_TOKEN": ""}
    )
    assert result.returncode == 2
    assert "no backend configured" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("secret-token-value")
    token_file.chmod(0o644)
    result = run(
        tmp_path,
        "sync",
        "--once",
        env={
            "CS_CONSOLE_BACKEND_URL": "http://127.0.0.1:9",
            "CS_CONSOLE_TOKEN_FILE": str(token_file),
        },
    )
    assert result.returncode == 2
    assert "chmod 600" in result.stderr
    assert "secret-token-value" not in result.stderr + result.stdout


def test_agents_add_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    added = run(tmp_path, "agents", "add", "Kim", "--role", "supervisor", "--db", db)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    state = ServerState(db)
    assert state.authenticate(token) is not None
    assert "Kim\tsupervisor" in run(tmp_path, "agents", "list", "--db", db).stdout
    assert run(tmp_path, "agents", "revoke", "Kim", "--db", db).returncode == 0
    assert state.authenticate(token) is None
    state.close()


def test_replies_lint_passes_on_the_shipped_library_and_fails_on_broken_files(
    tmp_path: Path,
) -> None:
    shipped = run(tmp_path, "replies", "lint")
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    broken = run(
        tmp_path, "replies", "lint", str(Path(__file__).parent / "data" / "replies_broken")
    )
    assert broken.returncode == 1
    assert "replies_broken/en/actions.toml:11: unknown action kind 'escalate'" in broken.stdout


def test_replies_export_import_round_trip(tmp_path: Path) -> None:
    exported = run(tmp_path, "replies", "export", "--lang", "vi", "--format", "json")
    assert exported.returncode == 0
    rows = json.loads(exported.stdout)
    assert len(rows) >= 30
    assert {r["language"] for r in rows} == {"vi"}
    source = tmp_path / "vi.json"
    source.write_text(json.dumps(rows[:3], ensure_ascii=False), encoding="utf-8")
    imported = run(tmp_path, "replies", "import", str(source), "--format", "json")
    assert imported.returncode == 0, imported.stderr
    assert (tmp_path / "quick_replies" / "vi").is_dir()
    listed = run(tmp_path, "replies", "list", "--lang", "vi")
    assert rows[0]["id"] in listed.stdout


def test_cases_export_and_report(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    home = tmp_path / "client"
    env = {"CS_CONSOLE_BACKEND_URL": live_server.url, "CS_CONSOLE_TOKEN": tokens["Lan"]}
    assert run(home, "sync", "--once", env=env).returncode == 0
    assert run(home, "reply", "conv-1", "我们马上核实物流", env=env).returncode == 0
    assert run(home, "sync", "--once", env=env).returncode == 0
    exported = run(home, "cases", "export", "--format", "csv")
    assert exported.returncode == 0
    assert exported.stdout.startswith("\ufeffcase_id,")
    report = run(home, "report", "day", "--format", "json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["messages_sent"] >= 1
