"""The demo shop's data: deterministic, consistent, and telling every story it promises."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cs_console.demo.stories import (
    CARRIERS,
    SIMULATOR_LINES,
    STORY_CONVERSATIONS,
    DemoShop,
    build_demo_shop,
)
from cs_console.domain import (
    ConversationStatus,
    FlagColour,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
    Role,
)
from cs_console.protocol import ConversationRecord, MessageRecord, OrderRecord

NOW = datetime(2025, 11, 20, 6, 30, tzinfo=UTC)  # 14:30 in the shop's time zone

# Several clocks, one of them just after midnight in China, where "last night"
# has to reach back a day.
NOWS = [
    NOW,
    datetime(2025, 11, 19, 16, 50, tzinfo=UTC),  # 00:50 CST
    datetime(2026, 2, 28, 23, 59, 59, 999_000, tzinfo=UTC),
]


@pytest.fixture(scope="module")
def shop() -> DemoShop:
    return build_demo_shop(NOW)


# --- helpers ---------------------------------------------------------------------


def _by_conversation(shop: DemoShop) -> dict[str, list[MessageRecord]]:
    grouped: dict[str, list[MessageRecord]] = {}
    for message in shop.messages:
        grouped.setdefault(message.conversation_id, []).append(message)
    for messages in grouped.values():
        messages.sort(key=lambda m: m.created_at)
    return grouped


def _events(shop: DemoShop, order_id: str) -> list[tuple[OrderEventKind, datetime, str]]:
    return sorted(
        ((e.kind, e.at, e.detail) for e in shop.order_events if e.order_id == order_id),
        key=lambda e: e[1],
    )


def _story(shop: DemoShop, name: str) -> tuple[ConversationRecord, list[MessageRecord]]:
    conv_id = STORY_CONVERSATIONS[name]
    conv = next(c for c in shop.conversations if c.id == conv_id)
    return conv, _by_conversation(shop)[conv_id]


def _orders_of(shop: DemoShop, customer_id: str) -> list[OrderRecord]:
    return [o for o in shop.orders if o.customer_id == customer_id]


def _story_order(shop: DemoShop, conv: ConversationRecord) -> OrderRecord:
    """The story's order: the customer's newest (any other orders are older history)."""
    return max(_orders_of(shop, conv.customer_id), key=lambda o: o.placed_at)


def _text(messages: list[MessageRecord]) -> str:
    return "\n".join(m.body for m in messages)


# --- determinism and size ----------------------------------------------------------


@pytest.mark.parametrize("now", NOWS)
def test_same_now_and_seed_give_identical_shops(now: datetime) -> None:
    assert build_demo_shop(now, seed=7) == build_demo_shop(now, seed=7)
    assert build_demo_shop(now, seed=3) == build_demo_shop(now, seed=3)


def test_seed_varies_the_filler_but_not_the_story_ids() -> None:
    one, two = build_demo_shop(NOW, seed=1), build_demo_shop(NOW, seed=2)
    assert one.orders != two.orders
    assert [c.id for c in one.conversations] == [c.id for c in two.conversations]
    assert [c.customer_id for c in one.conversations] == [c.customer_id for c in two.conversations]


def test_now_in_another_zone_means_the_same_instant() -> None:
    shifted = NOW.astimezone(timezone(timedelta(hours=8)))
    assert build_demo_shop(shifted) == build_demo_shop(NOW)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        build_demo_shop(datetime(2025, 11, 20, 6, 30))


def test_builds_fast() -> None:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        build_demo_shop(NOW)
        best = min(best, time.perf_counter() - start)
    assert best < 0.1


def test_counts(shop: DemoShop) -> None:
    assert len(shop.customers) >= 40
    assert len(shop.orders) >= 80
    assert len(shop.conversations) >= 30
    assert all(3 <= len(ms) <= 10 for ms in _by_conversation(shop).values())
    assert len(shop.remarks) >= 5


def test_agents_cover_both_desks_and_a_supervisor(shop: DemoShop) -> None:
    roles = Counter((a.role, a.group) for a in shop.agents)
    assert roles[(Role.AGENT, Group.PRE_SALE)] >= 1
    assert roles[(Role.AGENT, Group.AFTER_SALE)] >= 1
    assert any(a.role is Role.SUPERVISOR for a in shop.agents)
    assert {"Lan", "Mei", "Sofia"} <= {a.name for a in shop.agents}


def test_languages(shop: DemoShop) -> None:
    languages = Counter(c.language for c in shop.customers)
    for language in ("en", "vi", "es"):
        assert languages[language] >= 4
    assert languages["zh-CN"] > len(shop.customers) / 2


def test_simulator_lines_cover_four_languages() -> None:
    assert set(SIMULATOR_LINES) >= {"zh-CN", "en", "vi", "es"}
    for lines in SIMULATOR_LINES.values():
        assert len(lines) >= 15
        assert len(set(lines)) == len(lines)
        assert all(0 < len(line) <= 80 for line in lines)


# --- identity and references --------------------------------------------------------


def test_ids_are_unique_and_references_resolve(shop: DemoShop) -> None:
    for records in (
        shop.customers,
        shop.conversations,
        shop.messages,
        shop.orders,
        shop.order_events,
        shop.remarks,
    ):
        ids = [r.id for r in records]
        assert len(ids) == len(set(ids))
    assert len({o.number for o in shop.orders}) == len(shop.orders)
    customers = {c.id for c in shop.customers}
    orders = {o.id for o in shop.orders}
    conversations = {c.id for c in shop.conversations}
    assert {c.customer_id for c in shop.conversations} <= customers
    assert {o.customer_id for o in shop.orders} <= customers
    assert {m.conversation_id for m in shop.messages} == conversations
    assert {e.order_id for e in shop.order_events} == orders
    assert {r.order_id for r in shop.remarks} <= orders
    assert set(STORY_CONVERSATIONS.values()) <= conversations


def test_every_customer_has_an_order(shop: DemoShop) -> None:
    assert {o.customer_id for o in shop.orders} == {c.id for c in shop.customers}


# --- orders ----------------------------------------------------------------------------


def test_every_order_status_present(shop: DemoShop) -> None:
    assert {o.status for o in shop.orders} == set(OrderStatus)


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_every_order_status_present_whatever_the_seed(seed: int) -> None:
    assert {o.status for o in build_demo_shop(NOW, seed=seed).orders} == set(OrderStatus)


def test_order_items_and_totals(shop: DemoShop) -> None:
    for order in shop.orders:
        assert 1 <= len(order.items) <= 3
        assert order.total_minor == sum(i.quantity * i.unit_price_minor for i in order.items)
        assert order.total_minor > 0
        assert order.currency == "CNY"


@pytest.mark.parametrize("now", NOWS)
def test_order_timestamps_run_forward_and_stay_in_the_past(now: datetime) -> None:
    for order in build_demo_shop(now).orders:
        steps = [
            t
            for t in (
                order.placed_at,
                order.paid_at,
                order.group_formed_at,
                order.shipped_at,
                order.delivered_at,
            )
            if t is not None
        ]
        assert steps == sorted(steps), order.id
        assert steps[-1] <= order.updated_at <= now, order.id


def test_order_fields_match_status(shop: DemoShop) -> None:
    for order in shop.orders:
        shipped = order.shipped_at is not None
        assert shipped == (order.carrier is not None) == (order.tracking_number is not None)
        if order.carrier is not None:
            assert order.carrier in CARRIERS
        if order.delivered_at is not None:
            assert shipped
        status = order.status
        if status is OrderStatus.AWAITING_PAYMENT:
            assert order.paid_at is None
            assert not shipped
        elif status is OrderStatus.AWAITING_GROUP:
            assert order.paid_at is not None
            assert order.group_formed_at is None
            assert not shipped
        elif status is OrderStatus.AWAITING_SHIPMENT:
            assert order.paid_at is not None
            assert not shipped
        elif status is OrderStatus.SHIPPED:
            assert shipped
            assert order.delivered_at is None
        elif status in (
            OrderStatus.DELIVERED,
            OrderStatus.COMPLETED,
            OrderStatus.RETURN_REQUESTED,
            OrderStatus.RETURNED,
        ):
            assert order.delivered_at is not None
        elif status in (OrderStatus.REFUND_REQUESTED, OrderStatus.REFUNDED):
            assert order.paid_at is not None
        elif status is OrderStatus.CANCELLED:
            assert not shipped


def test_unshipped_orders_are_inside_the_48_hour_window(shop: DemoShop) -> None:
    for order in shop.orders:
        if order.status is OrderStatus.AWAITING_SHIPMENT:
            start = order.group_formed_at or order.paid_at
            assert start is not None
            assert NOW - start < timedelta(hours=48), order.id


@pytest.mark.parametrize("now", NOWS)
def test_events_tell_each_order_timeline(now: datetime) -> None:
    built = build_demo_shop(now)
    for order in built.orders:
        events = _events(built, order.id)
        kinds = [k for k, _, _ in events]
        assert kinds[0] is OrderEventKind.PLACED
        assert events[0][1] == order.placed_at
        assert all(order.placed_at <= at <= now for _, at, _ in events)
        assert events[-1][1] == order.updated_at
        for kind, at in (
            (OrderEventKind.PAID, order.paid_at),
            (OrderEventKind.GROUP_FORMED, order.group_formed_at),
            (OrderEventKind.SHIPPED, order.shipped_at),
            (OrderEventKind.DELIVERED, order.delivered_at),
        ):
            stamps = [t for k, t, _ in events if k is kind]
            assert stamps == ([] if at is None else [at]), (order.id, kind)
        if order.shipped_at is not None:
            shipped_detail = next(d for k, _, d in events if k is OrderEventKind.SHIPPED)
            assert any(carrier in shipped_detail for carrier in CARRIERS)
        scans = [d for k, _, d in events if k is OrderEventKind.LOGISTICS_SCAN]
        assert all("【" in d and "】" in d for d in scans)  # every scan names a place
        if order.status is OrderStatus.REFUND_REQUESTED:
            assert OrderEventKind.REFUND_REQUESTED in kinds
        if order.status is OrderStatus.REFUNDED:
            assert OrderEventKind.REFUNDED in kinds
        if order.status in (OrderStatus.RETURN_REQUESTED, OrderStatus.RETURNED):
            assert OrderEventKind.RETURN_REQUESTED in kinds
        if order.status is OrderStatus.RETURNED:
            assert OrderEventKind.RETURN_RECEIVED in kinds
        if order.status is OrderStatus.CANCELLED:
            assert kinds[-1] is OrderEventKind.CANCELLED


def test_event_kinds_in_use(shop: DemoShop) -> None:
    used = {e.kind for e in shop.order_events}
    assert used >= {
        OrderEventKind.PLACED,
        OrderEventKind.PAID,
        OrderEventKind.GROUP_FORMED,
        OrderEventKind.SHIPPED,
        OrderEventKind.LOGISTICS_SCAN,
        OrderEventKind.DELIVERED,
        OrderEventKind.ADDRESS_CHANGED,
        OrderEventKind.REFUND_REQUESTED,
        OrderEventKind.REFUND_APPROVED,
        OrderEventKind.REFUND_DECLINED,
        OrderEventKind.REFUNDED,
        OrderEventKind.RETURN_REQUESTED,
        OrderEventKind.RETURN_SHIPPED,
        OrderEventKind.RETURN_RECEIVED,
        OrderEventKind.REISSUED,
        OrderEventKind.INTERCEPTED,
        OrderEventKind.CANCELLED,
    }


def test_remarks_are_flagged_and_signed(shop: DemoShop) -> None:
    agents = {a.name for a in shop.agents}
    flags = {r.flag for r in shop.remarks}
    assert flags == set(FlagColour)
    for remark in shop.remarks:
        assert remark.author in agents
        # The reason only: the order pane adds "— agent MM-DD" from the author and time
        # (the seeds' convention), so a signature in the text would show twice.
        assert f" — {remark.author}" not in remark.text
        assert remark.text.strip()
        assert remark.created_at <= NOW


# --- conversations --------------------------------------------------------------------


@pytest.mark.parametrize("now", NOWS)
def test_conversation_fields_follow_from_messages(now: datetime) -> None:
    built = build_demo_shop(now)
    customers = {c.id: c for c in built.customers}
    grouped = _by_conversation(built)
    for conv in built.conversations:
        messages = grouped[conv.id]
        assert 3 <= len(messages) <= 10
        assert all(m.created_at <= now for m in messages)
        assert conv.last_activity_at == messages[-1].created_at == conv.updated_at
        agent_at = [i for i, m in enumerate(messages) if m.kind is MessageKind.AGENT]
        after = messages[agent_at[-1] + 1 :] if agent_at else messages
        unanswered = [m for m in after if m.kind is MessageKind.CUSTOMER]
        assert conv.unread_count == len(unanswered), conv.id
        expected = unanswered[0].created_at if unanswered else None
        assert conv.waiting_since == expected, conv.id
        name = customers[conv.customer_id].name
        for m in messages:
            if m.kind is MessageKind.CUSTOMER:
                assert m.author == name
            elif m.kind is MessageKind.SYSTEM:
                assert m.author == "system"
        if conv.status is ConversationStatus.SNOOZED:
            assert conv.snoozed_until is not None
            assert conv.snoozed_until > now
        else:
            assert conv.snoozed_until is None
        if conv.waiting_since is not None:
            assert conv.status is ConversationStatus.OPEN, conv.id


def test_message_authors_are_agents(shop: DemoShop) -> None:
    agents = {a.name for a in shop.agents}
    for m in shop.messages:
        if m.kind in (MessageKind.AGENT, MessageKind.NOTE):
            assert m.author in agents


def test_messages_per_conversation(shop: DemoShop) -> None:
    grouped = _by_conversation(shop)
    long_enough = [c for c in shop.conversations if len(grouped[c.id]) >= 3]
    assert len(long_enough) >= 25
    kinds = Counter(m.kind for m in shop.messages)
    assert kinds[MessageKind.AGENT] >= 30
    assert kinds[MessageKind.NOTE] >= 5
    assert kinds[MessageKind.SYSTEM] >= 5


def test_statuses_groups_and_assignees(shop: DemoShop) -> None:
    statuses = Counter(c.status for c in shop.conversations)
    assert statuses[ConversationStatus.OPEN] > len(shop.conversations) / 2
    for status in ConversationStatus:
        assert statuses[status] >= 1
    groups = {a.name: a.group for a in shop.agents}
    unassigned = [c for c in shop.conversations if c.assignee is None]
    assert 0.25 <= len(unassigned) / len(shop.conversations) <= 0.45
    for conv in shop.conversations:
        if conv.assignee is not None:
            assert groups[conv.assignee] is conv.group, conv.id
    assert {c.group for c in shop.conversations} == set(Group)


def test_waiting_queue_is_spread_out(shop: DemoShop) -> None:
    waits = sorted(NOW - c.waiting_since for c in shop.conversations if c.waiting_since is not None)
    assert len(waits) >= 12
    assert waits[0] <= timedelta(seconds=30)
    assert any(timedelta(hours=2) <= w <= timedelta(hours=5) for w in waits)
    # Spread, not clustered: several under a minute, several between 5 and 60 minutes.
    assert sum(w < timedelta(minutes=1) for w in waits) >= 3
    assert sum(timedelta(minutes=5) <= w <= timedelta(hours=1) for w in waits) >= 5


def test_conversation_languages(shop: DemoShop) -> None:
    customers = {c.id: c for c in shop.customers}
    spoken = Counter(customers[c.customer_id].language for c in shop.conversations)
    assert spoken["zh-CN"] + spoken["en"] > len(shop.conversations) / 2
    assert spoken["vi"] >= 2
    assert spoken["es"] >= 2
    grouped = _by_conversation(shop)
    markers = {"vi": ("ơ", "ạ", "ư"), "es": ("¿", "¡", "ó", "é", "í")}
    for conv in shop.conversations:
        language = customers[conv.customer_id].language
        if language in markers:
            said = _text([m for m in grouped[conv.id] if m.kind is MessageKind.CUSTOMER])
            assert any(mark in said for mark in markers[language]), conv.id


def test_some_messages_carry_emoji(shop: DemoShop) -> None:
    assert sum(any(ord(ch) >= 0x1F300 for ch in m.body) for m in shop.messages) >= 5


# --- the named stories ------------------------------------------------------------------


def test_every_story_has_a_conversation_and_an_order(shop: DemoShop) -> None:
    assert len(STORY_CONVERSATIONS) >= 23
    for name in STORY_CONVERSATIONS:
        conv, messages = _story(shop, name)
        assert messages, name
        assert _orders_of(shop, conv.customer_id), name


def test_story_refund_before_shipping_near_deadline(shop: DemoShop) -> None:
    urgent = [
        o
        for o in shop.orders
        if o.status is OrderStatus.REFUND_REQUESTED
        and o.shipped_at is None
        and o.paid_at is not None
        and timedelta(hours=46) <= NOW - o.paid_at <= timedelta(hours=48)
    ]
    assert urgent
    conv, messages = _story(shop, "refund-before-shipping")
    assert urgent[0].customer_id == conv.customer_id
    assert conv.waiting_since is not None
    assert conv.group is Group.AFTER_SALE
    assert any(
        m.kind is MessageKind.SYSTEM and m.body.startswith("Refund requested: ¥") for m in messages
    )


def test_story_no_tracking_update_for_eight_days(shop: DemoShop) -> None:
    conv, _ = _story(shop, "no-tracking-update")
    stale = []
    for order in _orders_of(shop, conv.customer_id):
        moves = [
            at
            for kind, at, _ in _events(shop, order.id)
            if kind in (OrderEventKind.SHIPPED, OrderEventKind.LOGISTICS_SCAN)
        ]
        if order.status is OrderStatus.SHIPPED and moves:
            stale.append(NOW - max(moves))
    assert any(timedelta(days=7, hours=12) <= age <= timedelta(days=8, hours=12) for age in stale)


def test_story_damaged_after_35_days(shop: DemoShop) -> None:
    conv, messages = _story(shop, "damaged-late")
    delivered = [o.delivered_at for o in _orders_of(shop, conv.customer_id) if o.delivered_at]
    assert any(timedelta(days=34) <= NOW - d <= timedelta(days=36) for d in delivered)
    assert messages[-1].created_at > NOW - timedelta(hours=1)
    assert "裂" in _text(messages)


def test_story_outside_area_was_reshipped_by_ems(shop: DemoShop) -> None:
    conv, messages = _story(shop, "outside-area")
    order = _story_order(shop, conv)
    assert order.carrier == "EMS"
    assert order.tracking_number is not None
    kinds = [k for k, _, _ in _events(shop, order.id)]
    assert OrderEventKind.REISSUED in kinds
    assert order.tracking_number in _text(messages)
    assert any(r.order_id == order.id and r.flag is FlagColour.RED for r in shop.remarks)


def test_story_refund_shipped_was_intercepted(shop: DemoShop) -> None:
    conv, _ = _story(shop, "refund-shipped")
    order = _story_order(shop, conv)
    assert order.status is OrderStatus.REFUNDED
    assert order.shipped_at is not None
    kinds = [k for k, _, _ in _events(shop, order.id)]
    assert kinds.index(OrderEventKind.SHIPPED) < kinds.index(OrderEventKind.INTERCEPTED)
    assert kinds.index(OrderEventKind.INTERCEPTED) < kinds.index(OrderEventKind.REFUNDED)
    assert any(r.order_id == order.id and r.flag is FlagColour.BLUE for r in shop.remarks)


def test_story_refund_signed_was_declined(shop: DemoShop) -> None:
    conv, _ = _story(shop, "refund-signed")
    order = _story_order(shop, conv)
    assert order.delivered_at is not None
    kinds = [k for k, _, _ in _events(shop, order.id)]
    assert OrderEventKind.REFUND_DECLINED in kinds


def test_story_refund_before_group(shop: DemoShop) -> None:
    conv, messages = _story(shop, "refund-before-group")
    order = _story_order(shop, conv)
    assert order.status is OrderStatus.AWAITING_GROUP
    assert "拼单" in _text(messages)


def test_story_address_change_gets_a_purple_flag(shop: DemoShop) -> None:
    conv, _ = _story(shop, "address-confirm")
    order = _story_order(shop, conv)
    assert order.shipped_at is None
    assert OrderEventKind.ADDRESS_CHANGED in [k for k, _, _ in _events(shop, order.id)]
    (remark,) = [r for r in shop.remarks if r.order_id == order.id]
    assert remark.flag is FlagColour.PURPLE
    assert remark.text.startswith("客户改地址为")


def test_story_wrong_address_is_held_by_the_courier(shop: DemoShop) -> None:
    conv, _ = _story(shop, "wrong-address")
    order = _story_order(shop, conv)
    assert order.status is OrderStatus.SHIPPED
    last = _events(shop, order.id)[-1]
    assert last[0] is OrderEventKind.LOGISTICS_SCAN
    assert "留存" in last[2]


def test_story_misrouted(shop: DemoShop) -> None:
    conv, _ = _story(shop, "misrouted")
    order = _story_order(shop, conv)
    assert any("错分" in d for _, _, d in _events(shop, order.id))


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("wrong-item", "crema"),
        ("missing-item", "漏发"),
        ("counterfeit", "假"),
        ("damaged-transit", "crack"),
        ("usage-help", "MAX"),
        ("invoice-missing", "invoice"),
        ("attitude-complaint", "投诉"),
        ("negative-review", "差评"),
        ("price-fixed", "便宜"),
        ("size-advice", "stock"),
        ("payment-reminder", "付款"),
        ("cod-confirm", "COD"),
        ("offline-reply", "有人吗"),
    ],
)
def test_story_is_told_in_its_chat(shop: DemoShop, name: str, needle: str) -> None:
    _, messages = _story(shop, name)
    assert needle in _text(messages)


def test_story_attitude_complaint_reaches_the_supervisor(shop: DemoShop) -> None:
    conv, messages = _story(shop, "attitude-complaint")
    supervisors = {a.name for a in shop.agents if a.role is Role.SUPERVISOR}
    assert conv.assignee in supervisors
    assert any(m.kind is MessageKind.NOTE and m.author in supervisors for m in messages)


def test_story_offline_message_was_left_at_night() -> None:
    for now in NOWS:
        built = build_demo_shop(now)
        conv, messages = _story(built, "offline-reply")
        first = messages[0].created_at.astimezone(timezone(timedelta(hours=8)))
        assert first.hour == 0, now
        assert conv.waiting_since == messages[0].created_at
        assert conv.assignee is None


# --- what the story files' placeholders stand for ------------------------------------------


def test_story_placeholders_name_the_story_s_own_values(shop: DemoShop) -> None:
    shop_clock = timezone(timedelta(hours=8))
    # A reissued parcel: one SF number in the event, the remark and the chat, while
    # the order keeps the number it first shipped with.
    conv, messages = _story(shop, "missing-item")
    order = _story_order(shop, conv)
    (reissued,) = [d for k, _, d in _events(shop, order.id) if k is OrderEventKind.REISSUED]
    found = re.search(r"SF\d{13}", reissued)
    assert found is not None
    (remark,) = [r for r in shop.remarks if r.order_id == order.id]
    assert found.group() in remark.text
    assert found.group() in _text(messages)
    assert order.tracking_number != found.group()
    # A reissue that replaces the shipment: the order shows it; the event names both.
    conv, _ = _story(shop, "outside-area")
    order = _story_order(shop, conv)
    (reissued,) = [d for k, _, d in _events(shop, order.id) if k is OrderEventKind.REISSUED]
    (shipped,) = [d for k, _, d in _events(shop, order.id) if k is OrderEventKind.SHIPPED]
    first = shipped.split()[2]  # "中通快递 ZTO <number> · ..."
    assert reissued == f"改发 EMS {order.tracking_number}（原中通快递 ZTO {first} 退回）"
    # Dates on the shop's clock, three days ahead less three hours.
    _, messages = _story(shop, "no-tracking-update")
    ahead = NOW + timedelta(days=3) - timedelta(hours=3)
    assert f"{ahead.astimezone(shop_clock):%m-%d} 还没结果" in _text(messages)
    # Two orders in one story: each line names its own order's number.
    conv, messages = _story(shop, "combine-orders")
    numbers = [o.number for o in sorted(_orders_of(shop, conv.customer_id), key=lambda o: o.id)]
    paid = [m.body for m in messages if m.kind is MessageKind.SYSTEM]
    assert [body.split(" · ")[-1] for body in paid] == numbers[:2]
    # A new address: the order ships there, and the customer's old one is quoted.
    conv, messages = _story(shop, "address-confirm")
    order = _story_order(shop, conv)
    new = order.shipping_address.split("，", 2)[2]
    assert f"改成 {new}" in _text(messages)
    assert new not in messages[1].body


def test_the_morning_shift_handed_over(shop: DemoShop) -> None:
    """The console opens on the shift-start screen, as after a real handover."""
    [handover] = shop.handovers
    agents = {a.name for a in shop.agents}
    assert handover.author in agents
    assert handover.shift_started_at < handover.created_at <= NOW
    assert "48-hour" in handover.note
