"""Refunds from the console: queued in the outbox, made by the order system, seen in the
timeline; never more than the order's total. (Against a real Vendure and Medusa:
tests/realbackends.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Select

from cs_console import protocol as p
from cs_console.backends.base import Refused
from cs_console.backends.reference import ReferenceBackend
from cs_console.domain import OrderEventKind, OrderStatus
from cs_console.secret import Secret
from cs_console.services import orders, sync
from cs_console.services.context import AgentContext
from cs_console.ui.screens.case_form import CaseFormScreen
from cs_console.ui.screens.choice import ChoiceScreen
from tests.harness import LiveServer, client_context
from tests.ui_support import live_app, type_text, wait_loaded, wait_until


@pytest.fixture
def ctx(tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]) -> Iterator[AgentContext]:
    context = client_context(tmp_path / "client", live_server, tokens["Lan"])
    yield context
    context.close()


def sync_once(ctx: AgentContext) -> None:
    engine = sync.make_engine(ctx)
    try:
        engine.run_once()
    finally:
        engine.backend.close()


def test_a_full_refund_reaches_the_shop_and_comes_back_in_the_timeline(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    # ¥78 is over an agent's own limit (¥20): the supervisor refunds.
    ctx = client_context(tmp_path / "sofia", live_server, tokens["Sofia"])
    sync_once(ctx)
    [order] = orders.for_customer(ctx, "cus-1")
    orders.refund(ctx, order, order.total_minor, "parcel lost")
    sync_once(ctx)  # push, then pull the shop's record of it
    server_order = next(o for o in live_server.state.changes(0, 1000).orders if o.id == "ord-1")
    assert server_order.status is OrderStatus.REFUNDED
    [after] = orders.for_customer(ctx, "cus-1")
    assert after.status is OrderStatus.REFUNDED
    refunded = [e for e in after.events if e.kind is OrderEventKind.REFUNDED]
    assert [e.detail for e in refunded] == ["¥78.00 · parcel lost"]
    ctx.close()


def test_an_agent_refund_over_the_limit_needs_an_approved_case(
    ctx: AgentContext, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    sync_once(ctx)
    [order] = orders.for_customer(ctx, "cus-1")
    with pytest.raises(orders.RefundError, match="over your limit"):
        orders.refund(ctx, order, 2001, "goodwill")
    orders.refund(ctx, order, 1500, "goodwill")  # within ¥20.00
    sync_once(ctx)
    # Together with the first, a second one passes the limit: the server refuses it.
    backend = ReferenceBackend(live_server.url, Secret(tokens["Lan"]))
    try:
        with pytest.raises(Refused, match="supervisor"):
            backend.push(
                "k-more",
                p.RefundOrder(order_id="ord-1", amount_minor=600, currency="CNY", reason="x"),
            )
    finally:
        backend.close()


def test_a_refund_is_never_more_than_the_order(
    ctx: AgentContext, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    sync_once(ctx)
    [order] = orders.for_customer(ctx, "cus-1")
    with pytest.raises(orders.RefundError, match="more than the order's total"):
        orders.refund(ctx, order, order.total_minor + 1, "too much")
    with pytest.raises(orders.RefundError, match="above zero"):
        orders.refund(ctx, order, 0, "nothing")
    # The server says the same to a client that skips the check.
    backend = ReferenceBackend(live_server.url, Secret(tokens["Lan"]))
    try:
        with pytest.raises(Refused, match="more than the order's total"):
            backend.push(
                "k-1",
                p.RefundOrder(order_id="ord-1", amount_minor=9999, currency="CNY", reason="x"),
            )
    finally:
        backend.close()


def test_with_a_separate_shop_the_refund_goes_there(
    tmp_path: Path,
    live_server: LiveServer,
    tokens: dict[str, str],
    shop_server: tuple[LiveServer, str],
) -> None:
    context = client_context(
        tmp_path / "split",
        live_server,
        tokens["Lan"],
        orders={"kind": "reference", "url": shop_server[0].url},
        orders_token=Secret(shop_server[1]),
    )
    try:
        sync_once(context)
        [order] = orders.for_customer(context, "cus-2")  # V-1001, matched by email
        orders.refund(context, order, 1000, "late")
        sync_once(context)
        shop_events = shop_server[0].state.changes(0, 1000).order_events
        assert [(e.order_id, e.kind) for e in shop_events] == [("shop-o1", OrderEventKind.REFUNDED)]
        assert live_server.state.changes(0, 1000).order_events[-1].kind is not (
            OrderEventKind.REFUNDED
        )
    finally:
        context.close()


async def test_a_case_settled_by_refund_offers_to_make_it(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    app = live_app(tmp_path / "client", live_server.url, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("l")  # conv-1: 王芳, order ord-1 (¥78.00)
        await wait_until(pilot, lambda: isinstance(app.screen, CaseFormScreen))
        await pilot.pause()
        app.screen.query_one("#resolution", Select).value = "refund"
        app.screen.query_one("#refund").focus()
        await type_text(pilot, "15")  # within the agent's own limit of ¥20
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the offer")
        await pilot.press("1")  # refund now
        await wait_until(
            pilot,
            lambda: any(
                e.order_id == "ord-1"
                and e.kind is OrderEventKind.REFUNDED
                and (e.detail or "").startswith("¥15.00")
                for e in live_server.state.changes(0, 1000).order_events
            ),
            what="the refund at the shop",
        )


async def test_a_case_refunding_over_the_limit_waits_for_approval(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    app = live_app(tmp_path / "client", live_server.url, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("l")  # conv-1: 王芳, order ord-1 (¥78.00)
        await wait_until(pilot, lambda: isinstance(app.screen, CaseFormScreen))
        await pilot.pause()
        app.screen.query_one("#resolution", Select).value = "refund"
        app.screen.query_one("#refund").focus()
        await type_text(pilot, "78")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: any(
                c.status.value == "awaiting-approval"
                for c in live_server.state.changes(0, 1000).cases
            ),
            what="the case awaiting approval on the server",
        )
        assert not isinstance(app.screen, ChoiceScreen), "no refund offered before approval"
    events = live_server.state.changes(0, 1000).order_events
    assert not any(e.kind is OrderEventKind.REFUNDED for e in events)
