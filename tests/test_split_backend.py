"""Chats from one backend, orders from another: two real reference servers on 127.0.0.1.

The order server plays the shop system (Vendure or Medusa in production; their own
tests are in tests/realbackends/): its customers carry the same buyers' email and
phone written differently, and one buyer matches on nothing until an agent links them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cs_console.backends.base import Capabilities
from cs_console.backends.reference import ReferenceBackend
from cs_console.backends.split import SplitBackend, decode_cursor, encode_cursor
from cs_console.domain import CaseCategory, FlagColour
from cs_console.secret import Secret
from cs_console.services import cases, conversations, customers, orders, sync
from cs_console.services.context import AgentContext
from cs_console.store import kv
from cs_console.store.links import email_key, phone_key
from cs_console.sync.engine import SyncReport
from tests.harness import LiveServer, client_context


@pytest.fixture
def ctx(
    tmp_path: Path,
    live_server: LiveServer,
    tokens: dict[str, str],
    shop_server: tuple[LiveServer, str],
) -> Iterator[AgentContext]:
    shop, shop_token = shop_server
    context = client_context(
        tmp_path / "client",
        live_server,
        tokens["Lan"],
        orders={"kind": "reference", "url": shop.url},
        orders_token=Secret(shop_token),
    )
    yield context
    context.close()


def sync_once(ctx: AgentContext) -> SyncReport:
    engine = sync.make_engine(ctx)
    try:
        return engine.run_once()
    finally:
        engine.backend.close()


def test_orders_come_from_the_shop_and_match_the_chat_customer_by_email(
    ctx: AgentContext,
) -> None:
    sync_once(ctx)
    # The chat server's own order (ord-1 of cus-1) is not shown: the shop is the truth.
    assert [o.number for o in orders.for_customer(ctx, "cus-1")] == []
    # Alice: same email, different case and spaces.
    assert [o.number for o in orders.for_customer(ctx, "cus-2")] == ["V-1001"]
    assert orders.conversation_of_customer(ctx, "shop-c1") in {"conv-2", "conv-3"}


def test_an_agent_links_a_customer_that_matches_nothing(ctx: AgentContext) -> None:
    sync_once(ctx)
    assert customers.find(ctx, "王芳")[0].customer_id in {"cus-1", "shop-c2"}
    customers.link(ctx, "cus-1", "shop-c2")
    assert [o.number for o in orders.for_customer(ctx, "cus-1")] == ["V-1002"]
    assert customers.same_person(ctx, "shop-c2") == ["cus-1", "shop-c2"]
    with pytest.raises(customers.LinkError, match="no customer"):
        customers.link(ctx, "cus-1", "nobody")
    assert customers.unlink(ctx, "cus-1", "shop-c2")
    assert orders.for_customer(ctx, "cus-1") == []


def test_a_remark_goes_to_the_shop_and_nothing_is_pulled_twice(
    ctx: AgentContext, live_server: LiveServer, shop_server: tuple[LiveServer, str]
) -> None:
    first = sync_once(ctx)
    assert first.pulled > 0
    orders.add_remark(ctx, "shop-o1", FlagColour.RED, "courier intercept requested")
    report = sync_once(ctx)
    assert report.pushed == 1
    shop_remarks = shop_server[0].state.changes(0, 1000).remarks
    assert [(r.order_id, r.flag, r.text) for r in shop_remarks] == [
        ("shop-o1", FlagColour.RED, "courier intercept requested")
    ]
    assert live_server.state.changes(0, 1000).remarks == []
    # The remark comes back from the shop; then the two feeds are at their ends.
    sync_once(ctx)
    assert sync_once(ctx).pulled == 0
    chats_cursor, orders_cursor = decode_cursor(kv.get_state(ctx.db, "cursor") or "")
    assert int(chats_cursor) > 0
    assert int(orders_cursor) > 0


def test_a_store_synced_before_the_shop_was_configured_keeps_its_chat_cursor() -> None:
    assert decode_cursor("") == ("", "")
    assert decode_cursor("42") == ("42", "")
    assert decode_cursor(encode_cursor("42", "7")) == ("42", "7")
    assert decode_cursor('{"c": 1}') == ('{"c": 1}', "")


class _NoCases(ReferenceBackend):
    """A conversation source that cannot keep cases (as Chatwoot cannot)."""

    name = "Helpdesk"
    capabilities = Capabilities(cases=False, orders=False, remarks=False, returns=False)


def test_cases_stay_local_when_the_chat_source_cannot_keep_them(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    context = client_context(tmp_path / "c", live_server, tokens["Lan"])
    backend = SplitBackend(_NoCases(live_server.url, Secret(tokens["Lan"])))
    engine = sync.make_engine(context, backend)
    try:
        engine.run_once()
        saved = cases.save(
            context,
            cases.CaseDraft(category=CaseCategory.NO_TRACKING_UPDATE, conversation_id="conv-1"),
        )
        report = engine.run_once()
        assert report.pushed == 1
        assert report.refused == 0
        assert live_server.state.changes(0, 1000).cases == []
        assert cases.get(context, saved.case_id) is not None
        assert backend.capabilities.reason("orders", backend.name) == "Helpdesk cannot show orders"
        assert backend.capabilities.cases  # the register works, locally
    finally:
        backend.close()
        context.close()


def test_capabilities_name_the_source_that_lacks_them(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    class NoReturns(ReferenceBackend):
        name = "Vendure"
        capabilities = Capabilities(conversations=False, returns=False)

    backend = SplitBackend(
        ReferenceBackend(live_server.url, Secret(tokens["Lan"])),
        NoReturns(live_server.url, Secret(tokens["Lan"])),
    )
    try:
        assert backend.capabilities.conversations  # from the chat source
        assert (
            backend.capabilities.reason("returns", backend.name) == "Vendure cannot record returns"
        )
        assert backend.capabilities.reason("send_messages") is None
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (" Lan@Example.CN ", "email:lan@example.cn"),
        ("not-an-address", None),
        ("@example.com", None),
        ("", None),
    ],
)
def test_email_keys(raw: str, key: str | None) -> None:
    assert email_key(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("+86 138-0000-1111", "phone:3800001111"),
        ("008613800001111", "phone:3800001111"),
        ("13800001111", "phone:3800001111"),
        ("+1 (415) 555-0100", "phone:4155550100"),
        ("12345", None),
        (None, None),
    ],
)
def test_phone_keys(raw: str | None, key: str | None) -> None:
    assert phone_key(raw) == key


def test_the_chats_keep_coming_while_the_shop_system_is_down(
    ctx: AgentContext, live_server: LiveServer, shop_server: tuple[LiveServer, str]
) -> None:
    engine = sync.make_engine(ctx)
    try:
        engine.run_once()
        shop_server[0].stop()
        live_server.state.add_customer_message("conv-2", "still there?")
        engine.run_once()  # no exception: the chats came
        status = engine.status()
        assert status.online
        assert status.last_error is not None
        assert "cannot reach" in status.last_error
        bodies = [m.body for m in conversations.messages(ctx, "conv-2", 50)]
        assert "still there?" in bodies
        # A console started while the shop is down syncs its chats too.
        restarted = sync.make_engine(ctx)
        try:
            live_server.state.add_customer_message("conv-2", "hello again")
            restarted.run_once()
        finally:
            restarted.backend.close()
        bodies = [m.body for m in conversations.messages(ctx, "conv-2", 50)]
        assert "hello again" in bodies
        shop_server[0].start()
        engine.run_once()
        assert engine.status().last_error is None
    finally:
        engine.backend.close()
