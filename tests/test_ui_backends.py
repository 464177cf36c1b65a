"""The console on other shops' systems: what it greys out and why, and linking a
customer whose chat and orders live in two systems."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.services.session import Session
from cs_console.settings import Settings
from cs_console.ui.app import make_app
from cs_console.ui.screens.workspace import WorkspaceScreen
from tests.chatwoot_fake import FakeChatwootServer
from tests.harness import LiveServer
from tests.test_chatwoot import shop
from tests.ui_support import (
    highlighted_id,
    screen_text,
    type_text,
    wait_loaded,
    wait_until,
    workspace,
)


@pytest.fixture
def chatwoot() -> Iterator[FakeChatwootServer]:
    server = FakeChatwootServer(shop()).start()
    yield server
    server.stop()


async def test_chatwoot_alone_greys_out_remarks_and_says_why(
    tmp_path: Path, chatwoot: FakeChatwootServer
) -> None:
    settings = Settings(
        paths=Paths(tmp_path),
        token=Secret(chatwoot.fake.token),
        backend={"url": chatwoot.url, "kind": "chatwoot", "account_id": chatwoot.fake.account_id},
        shift={"sync_interval_s": 0.2, "undo_seconds": 0.0},
    )
    app = make_app(Session(settings))
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await wait_until(
            pilot,
            lambda: "Chatwoot holds chats only" in screen_text(app),
            what="the order pane to say why there are no orders",
        )
        assert workspace(app).check_action("add_remark", ()) is None  # greyed in the footer
        assert workspace(app).check_action("claim", ()) is True  # Chatwoot assigns
        await pilot.press("f8")
        await pilot.pause(0.2)
        assert isinstance(app.screen, WorkspaceScreen)  # no remark form opened


async def test_ctrl_k_links_the_chat_customer_to_the_shop_record(
    tmp_path: Path,
    live_server: LiveServer,
    tokens: dict[str, str],
    shop_server: tuple[LiveServer, str],
) -> None:
    shop_url, shop_token = shop_server[0].url, shop_server[1]
    settings = Settings(
        paths=Paths(tmp_path),
        token=Secret(tokens["Lan"]),
        orders_token=Secret(shop_token),
        backend={"url": live_server.url},
        orders={"kind": "reference", "url": shop_url},
        shift={"sync_interval_s": 0.2, "undo_seconds": 0.0},
    )
    app = make_app(Session(settings))
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await wait_until(pilot, lambda: highlighted_id(app) == "conv-1")
        assert "V-1002" not in screen_text(app)  # 王芳's shop record matches nothing yet
        await pilot.press("ctrl+k")
        await type_text(pilot, "138")  # her phone, as the shop has it
        await wait_until(pilot, lambda: "shop-c2" in screen_text(app), what="the search hit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "V-1002" in screen_text(app), what="her shop order")
