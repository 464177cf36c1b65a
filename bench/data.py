"""Benchmark data: a large client store written straight into SQLite, and the reference
server databases the sync and load cases serve.

The client store is created by the real schema (``Database`` creates and migrates the
file) and then filled with ``sqlite3.executemany`` in one transaction: going through
the ORM would take an hour for a million messages. Derived columns are computed the
way the app computes them (``queue_rank`` by ``convert.queue_rank``, the snippet as
the newest customer or agent message, times by ``format_stored``), so the app reads it
as if it had synced it.

Everything lands under ``bench/.data/`` and is reused while the generator version,
the sizes and the schema version are unchanged.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cs_console.domain import ConversationStatus, Group, MessageKind, OrderEventKind, OrderStatus
from cs_console.paths import Paths
from cs_console.store.convert import queue_rank
from cs_console.store.ingest import SNIPPET_CHARS
from cs_console.store.migrations import LATEST_VERSION
from cs_console.timeutil import format_stored

#: Bump when the generated data changes shape, so stale data sets are rebuilt.
GENERATOR_VERSION = 2

DATA_DIR = Path(__file__).resolve().parent / ".data"

#: Messages in the one very long conversation (the thread-opening case reads it).
BIG_THREAD_MESSAGES = 10_000

AGENT_NAMES = tuple(f"agent{i:02d}" for i in range(1, 21))
_FIRST = ("Alice", "Bao", "Carmen", "Duc", "Elena", "Fang", "Gabriel", "Hoa", "Ivan", "Jun")
_LAST = ("Brown", "Nguyen", "García", "Tran", "López", "Smith", "Pham", "Ruiz", "Le", "Kim")
_CJK_NAMES = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄丽", "周杰", "吴婷")
_LANGUAGES = ("en", "zh-CN", "vi", "es")
_PHRASES = (
    "Hi, where is my order?",
    "我的快递怎么还没到？",
    "Can I change the delivery address before it ships?",
    "Đơn hàng của tôi đã được gửi chưa?",
    "¿Cuándo llega mi pedido?",
    "The parcel arrived damaged, the box was crushed on one side.",
    "在吗？",
    "I would like a refund for the blue mug, it has a crack.",
    "Thank you, that was quick!",
    "The tracking number has not moved for eight days.",
    "能便宜一点吗？拼团还差一个人。",
    "Is this available in size M?",
    "We have checked with the courier and the parcel is on its way.",
    "亲，已经帮您登记了，仓库会尽快处理。",
    "Please send a photo of the damage and we will arrange a replacement.",
    "I was charged twice for the same order.",
)


@dataclass(frozen=True, slots=True)
class StoreSize:
    """How big the generated client store is."""

    conversations: int
    messages: int
    orders: int
    customers: int
    order_events: int

    @property
    def label(self) -> str:
        """A folder name for this size."""
        return f"store-{self.conversations}c-{self.messages}m"


FULL_STORE = StoreSize(
    conversations=100_000,
    messages=1_000_000,
    orders=200_000,
    customers=50_000,
    order_events=100_000,
)
QUICK_STORE = StoreSize(
    conversations=5_000, messages=50_000, orders=10_000, customers=2_500, order_events=5_000
)


@dataclass(frozen=True, slots=True)
class BigStore:
    """A generated client store and the facts the cases need about it."""

    home: Path
    size: StoreSize
    big_conversation_id: str
    generated_at: str

    @property
    def store_path(self) -> Path:
        """The SQLite file inside ``home``."""
        return Paths(self.home).store


def _meta(size: StoreSize) -> dict[str, Any]:
    return {"generator": GENERATOR_VERSION, "schema": LATEST_VERSION, "size": asdict(size)}


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def ensure_store(size: StoreSize, *, log: Any = print) -> BigStore:
    """The client store of ``size``, generated unless an up-to-date one is present."""
    root = DATA_DIR / size.label
    meta_path = root / "meta.json"
    meta = _read_meta(meta_path)
    expected = _meta(size)
    if meta is not None and all(meta.get(k) == v for k, v in expected.items()):
        return BigStore(
            home=root / "home",
            size=size,
            big_conversation_id=str(meta["big_conversation_id"]),
            generated_at=str(meta["generated_at"]),
        )
    log(f"generating {size.label} (once; reused while the generator is unchanged)...")
    building = DATA_DIR / (size.label + ".building")
    shutil.rmtree(building, ignore_errors=True)
    (building / "home").mkdir(parents=True)
    store = _generate(building / "home", size)
    shutil.rmtree(root, ignore_errors=True)
    building.rename(root)
    full_meta = expected | {
        "big_conversation_id": store.big_conversation_id,
        "generated_at": store.generated_at,
    }
    meta_path.write_text(json.dumps(full_meta, indent=2), encoding="utf-8")
    return BigStore(
        home=root / "home",
        size=size,
        big_conversation_id=store.big_conversation_id,
        generated_at=store.generated_at,
    )


def _chunks(rows: Iterator[tuple[Any, ...]], size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _customer_name(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(_CJK_NAMES)
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _body_pool(rng: random.Random) -> list[str]:
    pool = []
    for _ in range(400):
        parts = rng.sample(_PHRASES, rng.randint(1, 3))
        pool.append(" ".join(parts))
    return pool


def _message_counts(rng: random.Random, size: StoreSize) -> list[int]:
    """Messages per conversation: the big thread second (it is second in the queue),
    the rest spread around an even share in pairs (one short, one long) so that the
    total is exact."""
    others = size.conversations - 1
    rest = size.messages - BIG_THREAD_MESSAGES
    base, extra = divmod(rest, others)
    counts = [base + (1 if i < extra else 0) for i in range(others)]
    for i in range(0, others - 1, 2):
        spread = rng.randint(0, max(0, min(counts[i], counts[i + 1]) - 1))
        counts[i] -= spread
        counts[i + 1] += spread
    return [counts[0], BIG_THREAD_MESSAGES, *counts[1:]]


def _generate(home: Path, size: StoreSize) -> BigStore:
    # Create and migrate the file with the app's own code, then close it: the bulk
    # insert below needs the database to itself.
    from cs_console.store.db import Database

    store = Paths(home).store
    Database(store).close()
    rng = random.Random(20_240_707)
    now = datetime.now(UTC).replace(microsecond=0)
    conn = sqlite3.connect(store, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        big_id = _fill(conn, rng, size, now)
        conn.execute("COMMIT")
        # The app's own journal mode, so its first open does not have to switch.
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    return BigStore(home=home, size=size, big_conversation_id=big_id, generated_at=now.isoformat())


def _fill(conn: sqlite3.Connection, rng: random.Random, size: StoreSize, now: datetime) -> str:
    stored = format_stored
    conn.executemany(
        'INSERT INTO agent (name, role, "group", active) VALUES (?, ?, ?, 1)',
        [(name, "agent", rng.choice(list(Group)).value) for name in AGENT_NAMES],
    )
    customer_names = [_customer_name(rng) for _ in range(size.customers)]
    conn.executemany(
        "INSERT INTO customer (id, name, email, phone, language, notes, updated_at) "
        "VALUES (?, ?, ?, ?, ?, '', ?)",
        (
            (
                f"u{i:07d}",
                customer_names[i],
                f"customer{i}@example.com" if i % 3 else None,
                f"+86 138 {i:08d}" if i % 2 else None,
                rng.choice(_LANGUAGES),
                stored(now - timedelta(days=rng.randint(1, 400))),
            )
            for i in range(size.customers)
        ),
    )
    bodies = _body_pool(rng)
    counts = _message_counts(rng, size)
    statuses = (
        [ConversationStatus.OPEN] * 35
        + [ConversationStatus.PENDING] * 15
        + [ConversationStatus.SNOOZED] * 5
        + [ConversationStatus.RESOLVED] * 45
    )
    big_id = "c0000001"
    conversations: list[tuple[Any, ...]] = []
    message_id = 0

    def messages() -> Iterator[tuple[Any, ...]]:
        nonlocal message_id
        for index in range(size.conversations):
            conversation_id = f"c{index:07d}"
            customer = index % size.customers
            if index in (0, 1):  # the two longest waits; the big thread is second in line
                status = ConversationStatus.OPEN
                last = now - timedelta(days=40 - index, minutes=index)
            else:
                status = rng.choice(statuses)
                last = now - timedelta(minutes=rng.randint(3, 30 * 24 * 60))
            waiting = status is ConversationStatus.OPEN and (index < 2 or rng.random() < 0.7)
            count = counts[index]
            step = timedelta(minutes=5) if count > 100 else timedelta(minutes=rng.randint(1, 30))
            snippet = ""
            for position in range(count):
                created = last - step * (count - 1 - position)
                is_last = position == count - 1
                if is_last and waiting:
                    kind = MessageKind.CUSTOMER
                else:
                    roll = rng.random()
                    kind = (
                        MessageKind.CUSTOMER
                        if roll < 0.5
                        else MessageKind.AGENT
                        if roll < 0.93
                        else MessageKind.NOTE
                        if roll < 0.98
                        else MessageKind.SYSTEM
                    )
                author = (
                    customer_names[customer]
                    if kind is MessageKind.CUSTOMER
                    else rng.choice(AGENT_NAMES)
                    if kind in (MessageKind.AGENT, MessageKind.NOTE)
                    else "system"
                )
                body = rng.choice(bodies)
                if kind in (MessageKind.CUSTOMER, MessageKind.AGENT):
                    snippet = body[:SNIPPET_CHARS]
                message_id += 1
                yield (
                    f"m{message_id:08d}",
                    conversation_id,
                    kind.value,
                    author,
                    body,
                    stored(created),
                    "sent",
                )
            waiting_since = last if waiting else None
            snoozed = (
                stored(now + timedelta(hours=rng.randint(1, 48)))
                if status is ConversationStatus.SNOOZED
                else None
            )
            assignee = None if index < 2 or rng.random() < 0.5 else rng.choice(AGENT_NAMES)
            conversations.append(
                (
                    conversation_id,
                    f"u{customer:07d}",
                    "web",
                    rng.choice(list(Group)).value,
                    status.value,
                    assignee,
                    snoozed,
                    stored(waiting_since) if waiting_since else None,
                    stored(last),
                    rng.randint(1, 3) if waiting else 0,
                    snippet,
                    queue_rank(waiting_since, last),
                    stored(last),
                )
            )

    # Messages are generated conversation by conversation, and a conversation's row is
    # complete only after its messages (the snippet); a raw connection does not enforce
    # foreign keys, and every row is in by the commit.
    insert_message = (
        "INSERT INTO message (id, conversation_id, kind, author, body, created_at, delivery) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    insert_conversation = (
        'INSERT INTO conversation (id, customer_id, channel, "group", status, assignee, '
        "snoozed_until, waiting_since, last_activity_at, unread_count, snippet, queue_rank, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    for batch in _chunks(messages()):
        conn.executemany(insert_conversation, conversations)
        conversations.clear()
        conn.executemany(insert_message, batch)
    conn.executemany(insert_conversation, conversations)
    _fill_orders(conn, rng, size, now)
    return big_id


def _fill_orders(
    conn: sqlite3.Connection, rng: random.Random, size: StoreSize, now: datetime
) -> None:
    stored = format_stored
    statuses = list(OrderStatus)
    carriers = ("ZTO", "YTO", "SF", "JD", "GHN", "Correos")
    orders: list[tuple[Any, ...]] = []
    for i in range(size.orders):
        placed = now - timedelta(minutes=rng.randint(10, 60 * 24 * 90))
        status = rng.choice(statuses)
        paid = placed + timedelta(minutes=rng.randint(1, 30))
        shipped = (
            paid + timedelta(hours=rng.randint(2, 60))
            if status
            in (
                OrderStatus.SHIPPED,
                OrderStatus.DELIVERED,
                OrderStatus.COMPLETED,
                OrderStatus.RETURNED,
            )
            else None
        )
        quantity = rng.randint(1, 3)
        price = rng.randint(500, 30_000)
        items = json.dumps(
            [
                {
                    "sku": f"SKU-{i % 977}",
                    "name": "Blue ceramic mug",
                    "quantity": quantity,
                    "unit_price_minor": price,
                }
            ],
            separators=(",", ":"),
        )
        orders.append(
            (
                f"o{i:07d}",
                f"2024{i:010d}",
                f"u{rng.randrange(size.customers):07d}",
                status.value,
                items,
                quantity * price,
                "CNY",
                rng.choice(carriers) if shipped else None,
                f"TN{i:012d}" if shipped else None,
                "12 Example Road, Hangzhou",
                stored(placed),
                stored(paid),
                None,
                stored(shipped) if shipped else None,
                None,
                stored(shipped or paid),
            )
        )
    conn.executemany(
        "INSERT INTO orders (id, number, customer_id, status, items_json, total_minor, currency, "
        "carrier, tracking_number, shipping_address, placed_at, paid_at, group_formed_at, "
        "shipped_at, delivered_at, updated_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        orders,
    )
    kinds = (
        OrderEventKind.PLACED,
        OrderEventKind.PAID,
        OrderEventKind.SHIPPED,
        OrderEventKind.LOGISTICS_SCAN,
    )
    conn.executemany(
        "INSERT INTO order_event (id, order_id, kind, at, detail) VALUES (?, ?, ?, ?, ?)",
        (
            (
                f"e{i:08d}",
                f"o{i % size.orders:07d}",
                kinds[i // size.orders % len(kinds)].value,
                orders[i % size.orders][10],
                "",
            )
            for i in range(size.order_events)
        ),
    )


# --- reference server databases ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerData:
    """A reference server database and what it holds."""

    url: str
    path: Path
    messages: int
    conversations: int


def _server_records(
    conversations: int, messages: int, customers: int, *, seed: int
) -> Iterator[dict[str, list[Any]]]:
    """Records for ``ServerState.load_records``, in batches of whole conversations."""
    from cs_console import protocol as p

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    bodies = _body_pool(rng)
    per_conversation, extra = divmod(messages, conversations)
    names = [_customer_name(rng) for _ in range(customers)]
    yield {
        "customer": [
            p.CustomerRecord(
                id=f"u{i:07d}", name=names[i], language=rng.choice(_LANGUAGES), updated_at=now
            )
            for i in range(customers)
        ]
    }
    batch_conversations: list[Any] = []
    batch_messages: list[Any] = []
    serial = 0
    for index in range(conversations):
        count = per_conversation + (1 if index < extra else 0)
        last = now - timedelta(minutes=rng.randint(3, 60 * 24 * 7))
        waiting = rng.random() < 0.5
        batch_conversations.append(
            p.ConversationRecord(
                id=f"c{index:07d}",
                customer_id=f"u{index % customers:07d}",
                group=rng.choice(list(Group)),
                status=ConversationStatus.OPEN,
                waiting_since=last if waiting else None,
                last_activity_at=last,
                unread_count=1 if waiting else 0,
                updated_at=last,
            )
        )
        for position in range(count):
            serial += 1
            kind = MessageKind.CUSTOMER if position % 2 == 0 else MessageKind.AGENT
            batch_messages.append(
                p.MessageRecord(
                    id=f"m{serial:08d}",
                    conversation_id=f"c{index:07d}",
                    kind=kind,
                    author=names[index % customers] if kind is MessageKind.CUSTOMER else "agent01",
                    body=rng.choice(bodies),
                    created_at=last - timedelta(minutes=count - position),
                )
            )
        if len(batch_messages) >= 10_000:
            yield {"conversation": batch_conversations, "message": batch_messages}
            batch_conversations, batch_messages = [], []
    if batch_conversations:
        yield {"conversation": batch_conversations, "message": batch_messages}


def build_server(
    path: Path, *, conversations: int, messages: int, customers: int, agents: Sequence[str] = ()
) -> dict[str, str]:
    """A reference server database at ``path`` holding a shop of the given size, with
    ``agents`` besides ``agent01``; returns each agent's token."""
    from cs_console.domain import Role
    from cs_console.server.state import ServerState

    path.parent.mkdir(parents=True, exist_ok=True)
    state = ServerState(f"sqlite:///{path}")
    try:
        tokens = {name: state.add_agent(name, Role.AGENT, None) for name in ("agent01", *agents)}
        for batch in _server_records(conversations, messages, customers, seed=7):
            state.load_records(batch)
    finally:
        state.close()
    return tokens


def agent_token(url: str, name: str) -> str:
    """A fresh token for ``name`` on the server database at ``url`` (created if need be)."""
    from cs_console.domain import Role
    from cs_console.server.state import ServerState

    state = ServerState(url)
    try:
        if any(rec.name == name for rec, _revoked in state.list_agents()):
            return state.rotate_token(name)
        return state.add_agent(name, Role.AGENT, None)
    finally:
        state.close()


def ensure_sync_server(messages: int, *, log: Any = print) -> ServerData:
    """A cached server database holding ``messages`` messages (10 per conversation)."""
    conversations = max(1, messages // 10)
    customers = max(1, conversations // 5)
    root = DATA_DIR / f"sync-server-{messages}m"
    meta_path = root / "meta.json"
    expected = {"generator": GENERATOR_VERSION, "schema": LATEST_VERSION, "messages": messages}
    path = root / "server.db"
    if _read_meta(meta_path) != expected or not path.exists():
        log(f"building the sync case's server database ({messages} messages, once)...")
        shutil.rmtree(root, ignore_errors=True)
        build_server(path, conversations=conversations, messages=messages, customers=customers)
        meta_path.write_text(json.dumps(expected), encoding="utf-8")
    return ServerData(
        url=f"sqlite:///{path}", path=path, messages=messages, conversations=conversations
    )
