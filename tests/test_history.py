"""A customer's history and a case's history in words: the service on small shops and
on the demo shop, and ``cs-console customers history``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cs_console import protocol as p
from cs_console.cli import main
from cs_console.domain import (
    CaseCategory,
    CaseStatus,
    ConversationStatus,
    Group,
    MessageKind,
    OrderStatus,
    Resolution,
)
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.services import cases, customers, history, sync
from cs_console.services.context import AgentContext, open_context
from cs_console.settings import Settings
from cs_console.timeutil import utcnow
from tests.acceptance.shop import DemoShop, demo_shop
from tests.inprocess import InProcessServer


def synced_context(home: Path, server: InProcessServer, token: str) -> AgentContext:
    """A client store at ``home``, synced once with the in-process ``server``."""
    settings = Settings(
        paths=Paths(home),
        token=Secret(token),
        backend={"url": server.url},
        shift={"undo_seconds": 0.0, "sync_interval_s": 0.2},
    )
    ctx = open_context(settings, session=None)
    sync_once(ctx, server)
    return ctx


def sync_once(ctx: AgentContext, server: InProcessServer) -> None:
    engine = sync.make_engine(ctx, server.backend(ctx.settings))
    try:
        engine.run_once()
    finally:
        engine.backend.close()


# --- a case's history in words -------------------------------------------------------


def test_case_changes_one_per_field_and_notes_run_on() -> None:
    text = "status: open → resolved\nnotes: first line\nsecond → line → here\nrefund_minor: 0 → 1"
    changes = history.case_changes(text)
    assert [c.field for c in changes] == ["status", "notes", "refund_minor"]
    assert (changes[0].old, changes[0].new) == ("open", "resolved")
    # A note with line breaks stays one change (split at its first arrow).
    assert changes[1].old == "first line\nsecond"
    assert changes[2].new == "1"


def test_case_changes_free_text_and_withdrawn_approval() -> None:
    assert history.case_changes("") == []
    [note] = history.case_changes("ok, the customer sent photos")
    assert (note.field, note.new) == ("", "ok, the customer sent photos")
    [withdrawn] = history.case_changes("approved_by: Sofia → (withdrawn: the refund went up)")
    assert withdrawn.field == "approved_by"
    assert withdrawn.new == "(withdrawn: the refund went up)"
    # A word before a colon that is no case field is not taken for one.
    [free] = history.case_changes("warning: [bold]x[/] → y")
    assert free.field == ""


# --- the tiny shop: Alice has two conversations -----------------------------------------


def test_history_lists_the_other_conversations_and_cases(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    ctx = synced_context(tmp_path / "lan", inproc_server, tokens["Lan"])
    try:
        found = history.for_customer(ctx, "cus-2", leave_out="conv-2")
        assert [c.conversation_id for c in found.conversations] == ["conv-3"]
        earlier = found.conversations[0]
        assert earlier.first_line == ""  # only Mei wrote in it
        assert earlier.message_count == 1
        assert earlier.group is Group.PRE_SALE
        assert earlier.started_at.tzinfo is not None
        both = history.for_customer(ctx, "cus-2")
        assert [c.conversation_id for c in both.conversations] == ["conv-2", "conv-3"]
        assert both.conversations[0].first_line == "Is the blue mug in stock?"
        assert both.cases == ()
        assert (both.refunds, both.complaints) == (0, 0)

        # A quality case logged in conv-1, resolved by a refund: a complaint, and the
        # conversation's outcome.
        draft = cases.CaseDraft(
            category=CaseCategory.QUALITY,
            conversation_id="conv-1",
            customer_id="cus-1",
            order_id="ord-1",
            resolution=Resolution.REFUND,
            status=CaseStatus.RESOLVED,
        )
        resolved = cases.save(ctx, draft).case_id
        still_open = cases.save(
            ctx, cases.CaseDraft(category=CaseCategory.LOST, customer_id="cus-1")
        ).case_id
        wang = history.for_customer(ctx, "cus-1")
        assert [c.case_id for c in wang.cases] == [still_open, resolved]
        assert [c.case_id for c in wang.open_cases] == [still_open]
        assert [c.case_id for c in wang.past_cases] == [resolved]
        assert wang.complaints == 1
        assert wang.conversations[0].resolutions == ("refund",)
        assert [o.order_id for o in wang.orders] == ["ord-1"]
    finally:
        ctx.close()


def test_history_counts_the_persons_other_records(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    now = utcnow()
    inproc_server.state.load_records(
        {
            "customer": [p.CustomerRecord(id="cus-9", name="Wang F.", updated_at=now)],
            "conversation": [
                p.ConversationRecord(
                    id="conv-9",
                    customer_id="cus-9",
                    group=Group.AFTER_SALE,
                    status=ConversationStatus.RESOLVED,
                    last_activity_at=now - timedelta(days=30),
                    updated_at=now - timedelta(days=30),
                )
            ],
            "message": [
                p.MessageRecord(
                    id="m-9",
                    conversation_id="conv-9",
                    kind=MessageKind.CUSTOMER,
                    author="Wang F.",
                    body="\n  The lid \x1b]52;c;eA==\x07cracked\nsecond line",
                    created_at=now - timedelta(days=30, minutes=5),
                )
            ],
            "order": [
                p.OrderRecord(
                    id="ord-9",
                    number="20261001-0009",
                    customer_id="cus-9",
                    status=OrderStatus.REFUNDED,
                    total_minor=3900,
                    currency="CNY",
                    placed_at=now - timedelta(days=40),
                    updated_at=now - timedelta(days=30),
                )
            ],
        }
    )
    ctx = synced_context(tmp_path / "lan", inproc_server, tokens["Lan"])
    try:
        alone = history.for_customer(ctx, "cus-1", leave_out="conv-1")
        assert alone.conversations == ()
        assert alone.records == ("cus-1",)
        customers.link(ctx, "cus-1", "cus-9")
        linked = history.for_customer(ctx, "cus-1", leave_out="conv-1")
        assert linked.records == ("cus-1", "cus-9")
        [earlier] = linked.conversations
        assert earlier.conversation_id == "conv-9"
        assert earlier.status is ConversationStatus.RESOLVED
        # The first line of the customer's first message (sanitised since the sync).
        assert earlier.first_line.startswith("The lid ")
        assert earlier.first_line.endswith("cracked")
        assert "\x1b" not in earlier.first_line
        assert linked.refunds == 1
        assert {o.order_id for o in linked.orders} == {"ord-1", "ord-9"}
    finally:
        ctx.close()


# --- the demo shop ----------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[DemoShop]:
    with demo_shop(tmp_path) as running:
        yield running


def add_earlier_conversation(shop: DemoShop, conversation_id: str) -> tuple[str, str]:
    """Give the customer of ``conversation_id`` a resolved conversation 31 days ago, with
    markup in it; returns (customer id, the new conversation's id)."""
    page = shop.state.changes(0, 100_000)
    customer_id = next(c.customer_id for c in page.conversations if c.id == conversation_id)
    now = utcnow()
    earlier = "conv-earlier"
    shop.state.load_records(
        {
            "conversation": [
                p.ConversationRecord(
                    id=earlier,
                    customer_id=customer_id,
                    group=Group.PRE_SALE,
                    status=ConversationStatus.RESOLVED,
                    last_activity_at=now - timedelta(days=31),
                    updated_at=now - timedelta(days=31),
                )
            ],
            "message": [
                p.MessageRecord(
                    id=f"m-earlier-{i}",
                    conversation_id=earlier,
                    kind=kind,
                    author="Lan" if kind is MessageKind.AGENT else "customer",
                    body=body,
                    created_at=now - timedelta(days=31, minutes=30 - i),
                )
                for i, (kind, body) in enumerate(
                    [
                        (MessageKind.CUSTOMER, "[bold]Is this[/] cup dishwasher safe?"),
                        (MessageKind.AGENT, "Yes, the top rack."),
                        (MessageKind.CUSTOMER, "Thanks!"),
                    ]
                )
            ],
        }
    )
    return customer_id, earlier


def test_demo_shop_history_and_the_command_line(
    tmp_path: Path, shop: DemoShop, capsys: pytest.CaptureFixture[str]
) -> None:
    customer_id, earlier = add_earlier_conversation(shop, "conv-001")
    home = tmp_path / "client"
    ctx = synced_context(home, shop.server, shop.tokens["Lan"])
    try:
        found = history.for_customer(ctx, customer_id, leave_out="conv-001")
        # Newest first: the added one, then the demo's own (repeat-customer.toml, 33 days).
        assert [c.conversation_id for c in found.conversations] == [earlier, "conv-042"]
        assert found.conversations[0].first_line == "[bold]Is this[/] cup dishwasher safe?"
        assert found.conversations[0].message_count == 3
        assert found.orders  # the story's refund request
        assert found.refunds >= 1
        # Every demo customer: the history reads without error, the stories' chats are there.
        for record in shop.state.changes(0, 100_000).customers:
            everything = history.for_customer(ctx, record.id)
            assert all(c.customer_id == record.id for c in everything.conversations)
    finally:
        ctx.close()

    assert main(["customers", "history", customer_id, "--json", "--home", str(home)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in listed["conversations"]] == ["conv-001", earlier, "conv-042"]
    assert listed["conversations"][1]["status"] == "resolved"
    assert listed["refunds"] >= 1
    assert listed["orders"]

    assert main(["customers", "history", customer_id, "--home", str(home)]) == 0
    text = capsys.readouterr().out
    assert earlier in text
    assert "conversations:" in text
    assert "orders:" in text

    assert main(["customers", "history", "cus-nobody", "--home", str(home)]) == 1
    assert "no customer 'cus-nobody'" in capsys.readouterr().err
