"""`cs-console doctor` against a real server: what it says when all is well, and when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from cs_console.cli import main
from cs_console.paths import Paths
from cs_console.services.context import open_context
from cs_console.services.doctor import Verdict, run_checks
from cs_console.settings import Settings
from tests.harness import LiveServer


def verdicts(home: Path, env: dict[str, str]) -> dict[str, tuple[Verdict, str]]:
    return {c.name: (c.verdict, c.detail) for c in run_checks(home, env)}


def test_all_well(tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]) -> None:
    env = {"CS_CONSOLE_BACKEND_URL": live_server.url, "CS_CONSOLE_TOKEN": tokens["Lan"]}
    found = verdicts(tmp_path, env)
    assert found["backend"][0] is Verdict.OK
    assert "you are Lan (agent)" in found["backend"][1]
    assert found["capabilities"][0] is Verdict.OK
    assert found["store"][0] is Verdict.WARN  # not made yet: a warning, not a failure
    assert tokens["Lan"] not in repr(found)
    open_context(Settings(paths=Paths(tmp_path))).close()
    store = verdicts(tmp_path, env)["store"]
    assert store[0] is Verdict.OK
    assert "quick_check ok" in store[1]


def test_a_refused_token_fails_with_the_fix(tmp_path: Path, live_server: LiveServer) -> None:
    env = {"CS_CONSOLE_BACKEND_URL": live_server.url, "CS_CONSOLE_TOKEN": "wrong"}
    checks = {c.name: c for c in run_checks(tmp_path, env)}
    assert checks["backend"].verdict is Verdict.FAIL
    assert "refused" in checks["backend"].fix


def test_a_bad_config_is_one_failure_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text('[shift]\nalert_after_s = "soon"\n', encoding="utf-8")
    monkeypatch.delenv("CS_CONSOLE_BACKEND_URL", raising=False)
    assert main(["--home", str(tmp_path), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] config" in out
    assert "alert_after_s" in out


def test_an_unreachable_order_system_is_named(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    env = {
        "CS_CONSOLE_BACKEND_URL": live_server.url,
        "CS_CONSOLE_TOKEN": tokens["Lan"],
        "CS_CONSOLE_ORDERS__KIND": "reference",
        "CS_CONSOLE_ORDERS__URL": "http://127.0.0.1:9",
        "CS_CONSOLE_ORDERS_TOKEN": "x",
    }
    checks = {c.name: c for c in run_checks(tmp_path, env)}
    assert checks["conversations"].verdict is Verdict.OK
    assert checks["orders"].verdict is Verdict.FAIL
    assert "cannot reach" in checks["orders"].detail


def test_plain_http_to_another_machine_needs_insecure_for_chatwoot_too(tmp_path: Path) -> None:
    env = {
        "CS_CONSOLE_BACKEND__KIND": "chatwoot",
        "CS_CONSOLE_BACKEND__ACCOUNT_ID": "1",
        "CS_CONSOLE_BACKEND_URL": "http://chat.example.com",
        "CS_CONSOLE_TOKEN": "t",
    }
    refused = {c.name: c for c in run_checks(tmp_path, env)}["backend"]
    assert refused.verdict is Verdict.FAIL
    assert "refusing plain http" in refused.detail
    allowed = {c.name: c for c in run_checks(tmp_path, {**env, "CS_CONSOLE_INSECURE": "1"})}
    assert "backend" not in allowed  # built; the sources were then asked who we are
    assert allowed["conversations"].verdict is Verdict.FAIL  # no such host here


def test_backend_text_in_a_check_never_reaches_the_terminal_raw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cs_console.services import doctor
    from cs_console.services.doctor import Check

    def hostile(_home: object, _env: object = None, **_more: object) -> object:
        yield Check("backend", Verdict.FAIL, "Chatwoot: \x1b]52;c;SGVsbG8=\x07 no", "\x9b31m fix")

    monkeypatch.setattr(doctor, "run_checks", hostile)
    assert main(["--home", str(tmp_path), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x9b" not in out
    assert "Chatwoot:" in out


def test_the_servers_mailbox_is_checked_when_it_has_one(tmp_path: Path) -> None:
    from tests.harness import free_port

    closed = free_port()  # nothing listens there
    (tmp_path / "mail-password").write_text("secret\n")
    (tmp_path / "server.toml").write_text(
        "[channels.email]\n"
        "enabled = true\n"
        'address = "service@shop.example"\n'
        'username = "service@shop.example"\n'
        'password_file = "mail-password"\n'
        f'imap_host = "127.0.0.1"\nimap_port = {closed}\nimap_security = "none"\n'
        f'smtp_host = "127.0.0.1"\nsmtp_port = {closed}\nsmtp_security = "none"\n'
    )
    found = {c.name: c for c in run_checks(tmp_path, {})}
    assert found["server.toml"].verdict is Verdict.OK
    failed = [c for c in found.values() if c.verdict is Verdict.FAIL and c.name != "backend"]
    assert {c.name for c in failed} == {"imap", "smtp"}, found
    assert all("[channels.email]" in c.fix for c in failed if c.name in ("imap", "smtp"))


def test_a_bad_server_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "server.toml").write_text('[service]\nhours = "all day"\n')
    found = {c.name: c for c in run_checks(tmp_path, {})}
    assert found["server.toml"].verdict is Verdict.FAIL
    assert "service.hours" in found["server.toml"].detail
