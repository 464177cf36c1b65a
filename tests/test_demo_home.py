"""`cs-console demo` follows the agent's own config, keeps its shop and store from one
run to the next (``--fresh`` starts over, and says so), and the command line can reach
its store (``--demo``)."""

from __future__ import annotations

import contextlib
import os
import pty
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cs_console.settings import SettingsError
from cs_console.store.db import Database
from cs_console.ui.launch import demo_agent, demo_home, demo_settings, prepare_demo_home
from tests.harness import LiveServer, client_context

OWN_CONFIG = """\
[agent]
name = "mei"
[backend]
url = "https://cs.example.com"
token_file = "no-such-token-file"
[shift]
undo_seconds = 2
[ui]
language = "zh-CN"
theme = "cs-light"
[keymap]
"workspace.cases" = "f9"
"""


def cli(home: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_CONSOLE_")}
    if home is not None:
        env["CS_CONSOLE_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "cs_console", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(autouse=True)
def no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' own environment must not leak into the config under test."""
    for name in list(os.environ):
        if name.startswith("CS_CONSOLE_"):
            monkeypatch.delenv(name)


# --- the agent's own config ----------------------------------------------------------------


def test_the_demo_console_follows_the_agents_config_but_not_its_backend(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(OWN_CONFIG, encoding="utf-8")
    agent = demo_agent(tmp_path, None)
    assert agent == "Mei"  # the config's name, spelled as the demo spells it
    settings = demo_settings(tmp_path, agent)
    assert settings.agent.name == "Mei"
    assert settings.ui_language == "zh-CN"
    assert settings.ui.theme == "cs-light"
    assert settings.keymap == {"workspace.cases": "f9"}
    assert settings.shift.undo_seconds == 2
    # Themes, quick replies and the theme picked live: the agent's own folder.
    assert settings.paths.config_dir == tmp_path
    # The store and the backend are the demo's: the real token file is never read.
    assert settings.paths.store == tmp_path / "demo" / "client" / "store.db"
    assert settings.backend.url is None
    assert settings.token is None
    assert settings.backend.token_file is None
    assert settings.shop.name != "our shop"


def test_the_demo_agent_is_asked_for_or_a_demo_agent_or_lan(tmp_path: Path) -> None:
    assert demo_agent(tmp_path, None) == "Lan"
    assert demo_agent(tmp_path, "sofia") == "Sofia"
    (tmp_path / "config.toml").write_text('[agent]\nname = "Trang"\n', encoding="utf-8")
    assert demo_agent(tmp_path, None) == "Lan"  # not a demo agent: the default
    with pytest.raises(SettingsError, match="no demo agent named Bob"):
        demo_agent(tmp_path, "Bob")


# --- kept, or wiped together -----------------------------------------------------------------


def fake_demo_data(home: Path, *, client: bool = True, server: bool = True) -> None:
    demo = demo_home(home)
    if client:
        (demo.client).mkdir(parents=True, exist_ok=True)
        (demo.client / "store.db").write_bytes(b"")
    if server:
        (demo.server).mkdir(parents=True, exist_ok=True)
        (demo.server / "server.db").write_bytes(b"")


def test_the_demo_is_kept_by_default_and_fresh_wipes_shop_and_store(tmp_path: Path) -> None:
    _demo, notes = prepare_demo_home(tmp_path, fresh=False, agent="Lan")
    assert any("a new demo shop" in note for note in notes)
    fake_demo_data(tmp_path)
    demo, notes = prepare_demo_home(tmp_path, fresh=False, agent="Lan")
    assert any("goes on (--fresh starts over)" in note for note in notes)
    assert demo.holds_data() == (True, True)
    demo, notes = prepare_demo_home(tmp_path, fresh=True, agent="Lan")
    assert any("wiped the last demo" in note and "--fresh" in note for note in notes)
    assert demo.holds_data() == (False, False)


def test_a_store_without_its_shop_is_not_kept(tmp_path: Path) -> None:
    # A store synced from a shop that is gone would be refused by sync: both go.
    fake_demo_data(tmp_path, server=False)
    demo, notes = prepare_demo_home(tmp_path, fresh=False, agent="Lan")
    assert demo.holds_data() == (False, False)
    assert any("starts" in note for note in notes)


def test_another_demo_agent_gets_a_store_of_their_own_from_the_kept_shop(tmp_path: Path) -> None:
    prepare_demo_home(tmp_path, fresh=False, agent="Lan")
    fake_demo_data(tmp_path)
    demo, notes = prepare_demo_home(tmp_path, fresh=False, agent="Mei")
    # Lan's outbox must never go out under Mei's name; the shop stays.
    assert demo.holds_data() == (False, True)
    assert any("Mei's console starts from the shop's data" in note for note in notes)
    assert demo.last_agent() == "Mei"


def test_a_running_demo_is_never_wiped_under_it(tmp_path: Path) -> None:
    demo = demo_home(tmp_path)
    running = Database(demo.client / "store.db")  # the demo's console holds its session
    try:
        (demo.server).mkdir(parents=True)
        (demo.server / "server.db").write_bytes(b"")
        with pytest.raises(SettingsError, match=f"already running \\(pid {os.getpid()}"):
            prepare_demo_home(tmp_path, fresh=True, agent="Lan")
        assert demo.holds_data() == (True, True)
    finally:
        running.close()


# --- the command line and the demo's store -------------------------------------------------


def test_the_command_line_reaches_the_demos_store(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    demo = demo_home(tmp_path)
    ctx = client_context(demo.client, live_server, tokens["Lan"])
    try:
        from cs_console.services.sync import make_engine

        engine = make_engine(ctx)
        try:
            engine.run_once()
        finally:
            engine.backend.close()
        # Beside the demo's running console, as an agent in a second pane would.
        listed = cli(None, "conversations", "--demo", "--home", str(tmp_path))
        assert listed.returncode == 0, listed.stderr
        assert "conv-1" in listed.stdout
        before = cli(None, "--home", str(tmp_path), "messages", "conv-1", "--demo")
        assert "在吗" in before.stdout
        queued = cli(tmp_path, "reply", "conv-1", "from the demo's second pane", "--demo")
        assert queued.returncode == 0, queued.stderr
        outbox = cli(tmp_path, "outbox", "--demo")
        assert "send_message" in outbox.stdout
    finally:
        ctx.close()
    # Without --demo it is the agent's own (here: empty) store, and --home works after
    # the command as it does before it.
    own = cli(None, "conversations", "--home", str(tmp_path))
    assert own.returncode == 2
    assert f"no store at {tmp_path / 'store.db'}" in own.stderr
    direct = cli(None, "conversations", "--home", str(demo.client))
    assert "conv-1" in direct.stdout


def test_help_says_how(tmp_path: Path) -> None:
    demo_help = cli(tmp_path, "demo", "--help").stdout
    assert "--fresh" in demo_help
    assert "--keep" in demo_help
    assert "--demo" in demo_help
    listing_help = cli(tmp_path, "conversations", "--help").stdout
    assert "--demo" in listing_help
    assert "--home" in listing_help
    assert "--home may also come after the command" in " ".join(
        cli(tmp_path, "--help").stdout.split()
    )


# --- the real thing, twice -------------------------------------------------------------------


def read_until(fd: int, drawn: bytearray, condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            drawn.extend(os.read(fd, 65536))
        if condition():
            return True
        time.sleep(0.05)
    return False


def run_demo_in_a_terminal(home: Path, *args: str) -> bytes:
    """``cs-console demo`` in a pty until it shows a synced workspace; then the terminal
    window closes (SIGHUP), which stops the console and its shop."""
    pid, fd = pty.fork()
    if pid == 0:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env = {k: v for k, v in env.items() if not k.startswith("CS_CONSOLE_")}
        env["TERM"] = "xterm-256color"
        argv = [sys.executable, "-m", "cs_console", "--home", str(home), "demo", "--rate", "0"]
        os.execve(sys.executable, [*argv, *args], env)  # noqa: S606
    drawn = bytearray()
    try:
        online = "在线".encode()
        # The shift-start screen (the morning shift's handover) comes after the first sync.
        handover = b"Morning shift (Mei)"
        assert read_until(fd, drawn, lambda: online in drawn or handover in drawn, 60), bytes(
            drawn[-2000:]
        )
    finally:
        os.close(fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return bytes(drawn)


def mark(database: Path) -> None:
    """Leave a trace in a closed SQLite file that only keeping the file keeps."""
    con = sqlite3.connect(database)
    try:
        con.execute("CREATE TABLE kept_marker (x)")
        con.commit()
    finally:
        con.close()


def marked(database: Path) -> bool:
    if not database.exists():
        return False
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        found = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'kept_marker'").fetchone()
    finally:
        con.close()
    return found is not None


@pytest.mark.skipif(sys.platform != "linux", reason="needs a pty")
def test_demo_in_the_agents_language_kept_across_runs(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[ui]\nlanguage = "zh-CN"\n', encoding="utf-8")
    first = run_demo_in_a_terminal(tmp_path)  # "在线": the config's language took effect
    assert b"a new demo shop" in first
    assert b"--demo" in first  # where the command line finds its store
    store = tmp_path / "demo" / "client" / "store.db"
    shop = tmp_path / "demo" / "server" / "server.db"
    mark(store)
    mark(shop)
    second = run_demo_in_a_terminal(tmp_path)
    assert b"goes on (--fresh starts over)" in second
    assert marked(store)
    assert marked(shop)
    fresh = run_demo_in_a_terminal(tmp_path, "--fresh")
    assert b"wiped the last demo" in fresh
    assert not marked(store)
    assert not marked(shop)
