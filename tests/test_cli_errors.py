"""The command line's rough edges: file modes, unknown ids, unreadable files, the
plain-http advice, and backend or customer text that must never reach the terminal raw.
Every command runs as a user runs it, in a process of its own."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cs_console.backends.http import check_url
from cs_console.domain import Role
from cs_console.paths import Paths
from cs_console.server.state import ServerState
from cs_console.services import conversations
from cs_console.services.context import open_context
from cs_console.settings import Settings
from cs_console.store import outbox
from cs_console.store.db import Database
from tests.harness import LiveServer
from tests.test_cli import run as cli

#: What a terminal acts on: ESC (CSI, OSC 52 clipboard, OSC 8 links), BEL, 8-bit CSI,
#: and a right-to-left override that disguises text.
HOSTILE = "\x1b]52;c;SGVsbG8=\x07\x1b[2J\x9b31m\u202eevil"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def one_plain_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.fixture
def synced_home(tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]) -> Path:
    home = tmp_path / "client"
    env = {"CS_CONSOLE_BACKEND_URL": live_server.url, "CS_CONSOLE_TOKEN": tokens["Lan"]}
    synced = cli(home, "sync", "--once", env=env)
    assert synced.returncode == 0, synced.stderr
    return home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the store is the owner's alone --------------------------------------------------------


def test_a_new_store_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    store = tmp_path / "home" / "store.db"
    db = Database(store)
    try:
        with db.write() as conn:
            conn.exec_driver_sql("INSERT INTO sync_state (key, value) VALUES ('k', 'v')")
        companions = [store, store.with_name("store.db-wal"), store.with_name("store.db-shm")]
        for path in companions:
            assert path.exists(), path
            assert mode(path) == 0o600, (path, oct(mode(path)))
    finally:
        db.close()


def test_an_existing_wide_open_store_is_tightened_on_open(synced_home: Path) -> None:
    store = synced_home / "store.db"
    # What an older cs-console left behind, with its WAL still there.
    con = sqlite3.connect(store)
    con.execute("PRAGMA wal_autocheckpoint = 0")
    con.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES ('k', 'v')")
    wide = [store, store.with_name("store.db-wal"), store.with_name("store.db-shm")]
    for path in wide:
        path.chmod(0o644)
    listed = cli(synced_home, "conversations")  # a read is enough
    con.close()
    assert listed.returncode == 0, listed.stderr
    for path in wide:
        if path.exists():
            assert mode(path) == 0o600, (path, oct(mode(path)))
    assert mode(store) == 0o600


# --- unknown ids ---------------------------------------------------------------------------


def test_unknown_conversation_and_customer_say_so_and_fail(synced_home: Path) -> None:
    messages = cli(synced_home, "messages", "NO-SUCH-ID")
    assert messages.returncode == 1
    assert messages.stdout == ""
    assert "no conversation 'NO-SUCH-ID'" in one_plain_line(messages.stderr)
    orders = cli(synced_home, "orders", "NO-SUCH-ID")
    assert orders.returncode == 1
    assert orders.stdout == ""
    assert "no customer 'NO-SUCH-ID'" in one_plain_line(orders.stderr)
    # A customer who is there but has no orders is not an error.
    none = cli(synced_home, "orders", "cus-2")
    assert none.returncode == 0, none.stderr
    assert "no orders for cus-2" in none.stderr
    assert json.loads(cli(synced_home, "orders", "cus-2", "--json").stdout) == []
    known = cli(synced_home, "messages", "conv-1")
    assert known.returncode == 0
    assert "在吗" in known.stdout


# --- files that cannot be read -------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p, "cannot read"),  # missing
        (lambda p: (p.mkdir(), p)[1], "is a folder"),
        (lambda p: (p.write_bytes(b"id,title\n\xff\xfe\x00bad\n"), p)[1], "not UTF-8"),
    ],
    ids=["missing", "folder", "not-utf8"],
)
def test_replies_import_of_an_unreadable_file_is_one_line(
    tmp_path: Path, make: object, expected: str
) -> None:
    assert callable(make)
    source = make(tmp_path / "replies.csv")
    result = cli(tmp_path, "replies", "import", str(source))
    assert result.returncode == 2
    line = one_plain_line(result.stderr)
    assert expected in line
    assert str(tmp_path / "replies.csv") in line
    assert not (tmp_path / "quick_replies").exists()


def test_a_bad_date_and_an_unusable_folder_are_one_line(tmp_path: Path) -> None:
    bad_date = cli(tmp_path, "cases", "list", "--since", "last tuesday")
    assert bad_date.returncode == 2
    assert "expected a date as YYYY-MM-DD" in bad_date.stderr
    assert "Traceback" not in bad_date.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for args in (("reply", "conv-1", "hi"), ("config", "init")):
        result = cli(blocker / "home", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr, args
        one_plain_line(result.stderr)
    no_db = cli(tmp_path, "agents", "list", "--db", f"sqlite:///{blocker}/server.db")
    assert no_db.returncode == 2
    assert "cannot open the server database" in one_plain_line(no_db.stderr)


# --- plain http ----------------------------------------------------------------------------


def test_plain_http_advice_names_what_really_works(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain http") as caught:
        check_url("http://shop.example.com")
    advice = str(caught.value)
    assert "--insecure" not in advice
    assert "insecure = true" in advice
    assert "[backend]" in advice
    assert "CS_CONSOLE_BACKEND__INSECURE=true" in advice
    refused = cli(
        tmp_path,
        "sync",
        "--once",
        env={"CS_CONSOLE_BACKEND_URL": "http://shop.example.com", "CS_CONSOLE_TOKEN": "t"},
    )
    assert refused.returncode == 2
    assert "insecure = true" in refused.stderr
    assert "--insecure" not in refused.stderr
    # And what it says works: the advice, followed, gets past the refusal.
    (tmp_path / "config.toml").write_text(
        '[backend]\nurl = "http://shop.example.invalid"\ninsecure = true\n', encoding="utf-8"
    )
    followed = cli(tmp_path, "sync", "--once", env={"CS_CONSOLE_TOKEN": "t"})
    assert "refusing plain http" not in followed.stderr
    env_followed = cli(
        tmp_path / "env",
        "sync",
        "--once",
        env={
            "CS_CONSOLE_BACKEND_URL": "http://shop.example.invalid",
            "CS_CONSOLE_BACKEND__INSECURE": "true",
            "CS_CONSOLE_TOKEN": "t",
        },
    )
    assert "refusing plain http" not in env_followed.stderr


# --- nothing raw reaches the terminal ------------------------------------------------------


@pytest.fixture
def hostile_home(synced_home: Path, tmp_path: Path) -> Path:
    """A synced store whose customer, message, order, case and outbox texts carry escape
    sequences, as a store written before the ingest sanitiser (or by a backend error)
    would hold them."""
    ctx = open_context(
        Settings(paths=Paths(synced_home), shift={"undo_seconds": 0.0}), session=None
    )
    try:
        conversations.send(ctx, "conv-1", "will be refused", force=True, undo_seconds=0.0)
        [entry] = outbox.ready(ctx.db)
        # What the sync engine records when Vendure answers with an errorCode.
        outbox.fail(
            ctx.db, entry, f"Vendure: {HOSTILE} ORDER_STATE_TRANSITION_ERROR", permanent=True
        )
    finally:
        ctx.close()
    con = sqlite3.connect(synced_home / "store.db")
    try:
        con.execute(
            "UPDATE customer SET name = ?, email = ? WHERE id = 'cus-1'", (HOSTILE, HOSTILE)
        )
        con.execute("UPDATE message SET author = ?, body = ? WHERE id = 'm-2'", (HOSTILE, HOSTILE))
        con.execute(
            "UPDATE orders SET number = ?, carrier = ?, tracking_number = ? WHERE id = 'ord-1'",
            (HOSTILE, HOSTILE, HOSTILE),
        )
        con.execute("UPDATE order_event SET detail = ? WHERE order_id = 'ord-1'", (HOSTILE,))
        con.execute("UPDATE conversation SET assignee = ? WHERE id = 'conv-2'", (HOSTILE,))
        con.execute(
            "INSERT INTO case_record (id, conversation_id, customer_id, order_id, category, "
            "status, refund_minor, compensation_minor, postage_lost_minor, currency, "
            "evidence_json, notes, created_by, created_at, updated_at, delivery) VALUES "
            "(?, 'conv-1', 'cus-1', 'ord-1', 'logistics.lost', 'open', 0, 0, 0, 'CNY', '[]', "
            "?, ?, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'sent')",
            (f"case-{HOSTILE}", HOSTILE, HOSTILE),
        )
        con.commit()
    finally:
        con.close()
    server = ServerState(f"sqlite:///{tmp_path / 'hostile-server.db'}")
    try:
        server.add_agent("Kim", Role.AGENT, None)
    finally:
        server.close()
    server_con = sqlite3.connect(tmp_path / "hostile-server.db")
    try:
        # An agent name a database edited by hand (or an older server) could hold.
        server_con.execute("UPDATE agent SET name = ? WHERE name = 'Kim'", (f"Kim{HOSTILE}",))
        server_con.commit()
    finally:
        server_con.close()
    user_replies = synced_home / "quick_replies" / "en"
    user_replies.mkdir(parents=True)
    # A reply file with an escape in its title: the library skips it and says why.
    (user_replies / "greeting.toml").write_text(
        'group = "greeting"\n\n[[reply]]\nid = "en.greeting.mine"\n'
        'title = "Hello \\u001b]0;pwned\\u0007"\nbody = "Hello!"\naudience = "both"\n',
        encoding="utf-8",
    )
    return synced_home


@pytest.mark.parametrize(
    "args",
    [
        ("conversations",),
        ("messages", "conv-1"),
        ("orders", "cus-1"),
        ("customers", "find", "evil"),
        ("outbox",),
        ("cases", "list"),
        ("report", "day", "--agent", HOSTILE),
        ("report", "week", "--format", "md", "--agent", HOSTILE),
        ("replies", "list", "--lang", "en"),
        ("agents", "list", "--db", "HOSTILE_SERVER"),
        ("conversations", "--json"),
        ("messages", "conv-1", "--json"),
        ("orders", "cus-1", "--json"),
        ("outbox", "--json"),
    ],
    ids=lambda args: "-".join(args),
)
def test_no_command_prints_control_characters_raw(
    hostile_home: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    server_db = f"sqlite:///{tmp_path / 'hostile-server.db'}"
    argv = [server_db if a == "HOSTILE_SERVER" else a for a in args]
    result = cli(hostile_home, *argv)
    assert result.returncode == 0, result.stderr
    for raw in RAW:
        assert raw not in result.stdout, (args, raw)
        assert raw not in result.stderr, (args, raw)
    if "--json" not in args and args[0] != "replies":
        # The hostile text was there to print, and was shown as visible control pictures.
        assert "\u241b" in result.stdout + result.stderr, args
    if "--json" in args:
        # The escapes are JSON's own: a program still reads the exact text.
        assert any(HOSTILE in text for text in strings(json.loads(result.stdout)))


def strings(value: object) -> Iterator[str]:
    """Every string in a decoded JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_outbox_shows_the_backend_error_visibly(hostile_home: Path) -> None:
    shown = cli(hostile_home, "outbox")
    assert shown.returncode == 0
    assert "ORDER_STATE_TRANSITION_ERROR" in shown.stdout
    assert "\u241b" in shown.stdout  # ESC as its visible control picture
    [row] = [line for line in shown.stdout.splitlines() if "failed" in line]
    assert row.count("\t") == 4  # the error cannot add columns or lines
