"""The shop's library through the backend: an owner publishes a folder, every agent
gets it at the next sync, layered between the shipped files and the agent's own; a
re-publish updates and withdraws; a broken folder is not published at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from cs_console import protocol as p
from cs_console.cli import main
from cs_console.server.run import publish_replies_dir
from cs_console.server.state import ServerState
from cs_console.services import replies, sync
from cs_console.services.context import AgentContext
from cs_console.timeutil import utcnow
from tests.harness import LiveServer, client_context

SHIPPED_ID = "en.shipping.ship-within-48h"


def write_library(root: Path, replies_toml: str, *, language: str = "en") -> Path:
    folder = root / language
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shipping.toml").write_text('group = "shipping"\n' + replies_toml, encoding="utf-8")
    return root


def reply_toml(reply_id: str, title: str, body: str = "We ship within 48 hours.") -> str:
    return (
        f'\n[[reply]]\nid = "{reply_id}"\ntitle = "{title}"\nbody = "{body}"\n'
        'keywords = ["ship"]\nscenario = "shipping-48h"\naudience = "both"\n'
    )


def pull(ctx: AgentContext) -> None:
    engine = sync.make_engine(ctx)
    try:
        report = engine.run_once()
    finally:
        engine.backend.close()
    assert not report.errors


def test_published_library_reaches_the_agent_and_layers_by_id(
    tmp_path: Path,
    server_state: ServerState,
    live_server: LiveServer,
    tokens: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server_db = f"sqlite:///{tmp_path / 'server.db'}"
    shop = write_library(
        tmp_path / "shop",
        reply_toml(SHIPPED_ID, "Shop: 48h")
        + reply_toml("en.shipping.shop-only", "Shop only")
        + reply_toml("en.shipping.withdrawn", "Soon withdrawn"),
    )
    assert main(["replies", "publish", str(shop), "--server-db", server_db]) == 0
    assert "3 added, 0 updated, 0 deleted, 0 unchanged" in capsys.readouterr().out

    ctx = client_context(tmp_path / "lan", live_server, tokens["Lan"])
    personal = ctx.settings.paths.config_dir / "quick_replies"
    write_library(personal, reply_toml("en.shipping.shop-only", "Lan's own"))
    pull(ctx)
    assert [r.id for r in replies.shop_replies(ctx)] == [
        SHIPPED_ID,
        "en.shipping.shop-only",
        "en.shipping.withdrawn",
    ]
    library, issues = replies.load_for(ctx)
    assert issues == []
    # shipped < shop < personal, by id; the shop's override keeps the shipped place.
    shop_reply = library.get(SHIPPED_ID)
    assert shop_reply is not None
    assert (shop_reply.title, shop_reply.source) == ("Shop: 48h", "shop library (synced)")
    own = library.get("en.shipping.shop-only")
    assert own is not None
    assert own.title == "Lan's own"
    assert library.get("en.shipping.withdrawn") is not None
    assert library.get("zh-CN.shipping.ship-within-48h") is not None  # the rest is shipped

    # A re-publish: one change, one withdrawal (the shipped reply comes back), one same.
    shop = write_library(
        tmp_path / "shop",
        reply_toml("en.shipping.shop-only", "Shop only, reworded")
        + reply_toml("en.shipping.withdrawn", "Soon withdrawn"),
    )
    assert main(["replies", "publish", str(shop), "--server-db", server_db]) == 0
    assert "0 added, 1 updated, 1 deleted, 1 unchanged" in capsys.readouterr().out
    stamp = replies.shop_replies_stamp(ctx)
    pull(ctx)
    assert replies.shop_replies_stamp(ctx) != stamp
    library, _ = replies.load_for(ctx)
    back = library.get(SHIPPED_ID)
    assert back is not None
    assert back.title != "Shop: 48h"
    assert back.source.endswith("shipping.toml")
    assert [r.id for r in replies.shop_replies(ctx)] == [
        "en.shipping.shop-only",
        "en.shipping.withdrawn",
    ]
    # Publishing the same library again moves nothing through the feed.
    assert main(["replies", "publish", str(shop), "--server-db", server_db]) == 0
    assert "0 added, 0 updated, 0 deleted, 2 unchanged" in capsys.readouterr().out
    stamp = replies.shop_replies_stamp(ctx)
    pull(ctx)
    assert replies.shop_replies_stamp(ctx) == stamp
    ctx.close()


def test_a_broken_folder_is_not_published(
    tmp_path: Path, server_state: ServerState, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_library(tmp_path / "good", reply_toml("en.shipping.kept", "Kept"))
    assert publish_replies_dir(server_state, good).added == 1
    broken = write_library(
        tmp_path / "broken", reply_toml("en.shipping.kept", "Kept", body="Sent by {carier}")
    )
    server_db = f"sqlite:///{tmp_path / 'server.db'}"
    assert main(["replies", "publish", str(broken), "--server-db", server_db]) == 2
    err = capsys.readouterr().err
    assert "not published" in err
    assert "shipping.toml:" in err
    assert "{carier}" in err
    assert server_state.count("reply") == 1
    page = server_state.changes(0, 100)
    assert [(r.id, r.deleted, r.title) for r in page.replies] == [
        ("en.shipping.kept", False, "Kept")
    ]
    # `serve --replies` refuses the same way, before serving anything.
    assert main(["serve", "--db", server_db, "--replies", str(broken), "--port", "1"]) == 2
    assert "not published" in capsys.readouterr().err


def test_the_client_checks_what_the_backend_sends(
    tmp_path: Path, server_state: ServerState, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    # A backend need not lint: a record with an unknown placeholder, one with a
    # terminal escape in its body, and one for a folder the agent never heard of.
    def record(reply_id: str, body: str, language: str = "en") -> p.ReplyRecord:
        return p.ReplyRecord.model_validate(
            {
                "id": reply_id,
                "language": language,
                "group": "shipping",
                "title": "From the backend",
                "body": body,
                "scenario": "shipping-48h",
                "audience": "both",
                "updated_at": utcnow(),
            }
        )

    server_state.load_records(
        {
            "reply": [
                record("en.shipping.typo", "Sent by {carier}"),
                record("en.shipping.escape", "Hi \x1b]52;c;cm0gLXJm\x07 there"),
                record("fr.shipping.misfiled", "Bonjour", language="en"),
            ]
        }
    )
    ctx = client_context(tmp_path / "lan", live_server, tokens["Lan"])
    pull(ctx)
    library, issues = replies.load_for(ctx)
    assert library.get("en.shipping.typo") is None
    assert library.get("fr.shipping.misfiled") is None
    escaped = library.get("en.shipping.escape")
    assert escaped is not None
    assert "\x1b" not in escaped.body
    assert "\x07" not in escaped.body
    assert "␛" in escaped.body  # shown as a control picture, not dropped
    messages = [issue.message for issue in issues]
    assert any("unknown placeholder {carier}" in m for m in messages)
    assert any("must be 'en.shipping.<slug>'" in m for m in messages)
    assert all(issue.path.startswith("shop library (synced)") for issue in issues)
    ctx.close()
