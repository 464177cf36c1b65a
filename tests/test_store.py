"""The SQLite store: times keep their instant, one writer at a time, and a store it
cannot trust (newer schema, damaged file) is refused clearly and left in place."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import insert, select

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, Group, MessageKind
from cs_console.store import ingest, kv, outbox, threads
from cs_console.store.db import Database, StoreBusy, StoreDamaged, StoreError
from cs_console.store.models import DRAFT

JST = timezone(timedelta(hours=9))
SHANGHAI = timezone(timedelta(hours=8))
BASE = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "home" / "store.db"


@pytest.fixture
def db(store: Path) -> Iterator[Database]:
    database = Database(store)
    yield database
    database.close()


def shop_page(messages: list[p.MessageRecord], *, at: datetime = BASE) -> p.ChangePage:
    return p.ChangePage(
        server_id="srv-1",
        cursor="1",
        has_more=False,
        customers=[p.CustomerRecord(id="cus-1", name="Aiko", updated_at=at)],
        conversations=[
            p.ConversationRecord(
                id="conv-1",
                customer_id="cus-1",
                group=Group.PRE_SALE,
                status=ConversationStatus.OPEN,
                last_activity_at=at,
                updated_at=at,
            )
        ],
        messages=messages,
    )


def message(mid: str, created_at: datetime, body: str = "hello") -> p.MessageRecord:
    return p.MessageRecord(
        id=mid,
        conversation_id="conv-1",
        kind=MessageKind.CUSTOMER,
        author="Aiko",
        body=body,
        created_at=created_at,
    )


# --- time ----------------------------------------------------------------------------------


def test_ingest_round_trips_an_offset_time(db: Database) -> None:
    tokyo = datetime(2024, 3, 1, 9, 30, tzinfo=JST)  # 00:30 UTC
    # model_construct skips the model's own UTC conversion: the store must cope alone.
    raw = p.MessageRecord.model_construct(
        id="m-jst",
        conversation_id="conv-1",
        kind=MessageKind.CUSTOMER,
        author="Aiko",
        body="from Tokyo",
        created_at=tokyo,
    )
    ingest.apply_page(db, shop_page([raw]))
    [row] = threads.latest_messages(db, "conv-1", 10)
    assert row.created_at == tokyo
    assert row.created_at == datetime(2024, 3, 1, 0, 30, tzinfo=UTC)
    assert row.created_at.utcoffset() == timedelta(0)
    with db.read() as conn:
        stored = conn.exec_driver_sql("SELECT created_at FROM message").scalar_one()
    assert stored == "2024-03-01T00:30:00.000000Z"


def test_offset_times_sort_by_instant(db: Database) -> None:
    # Later on the wall clock, earlier in fact: 09:30+09:00 is 00:30Z, before 01:00Z.
    ingest.apply_page(
        db,
        shop_page(
            [
                message("m-utc", datetime(2024, 3, 1, 1, 0, tzinfo=UTC), "second"),
                message("m-jst", datetime(2024, 3, 1, 9, 30, tzinfo=JST), "first"),
                message("m-sha", datetime(2024, 3, 1, 9, 15, tzinfo=SHANGHAI), "third"),
            ]
        ),
    )
    rows = threads.latest_messages(db, "conv-1", 10)
    assert [r.body for r in rows] == ["first", "second", "third"]


def test_outbox_round_trips_an_offset_time(db: Database) -> None:
    ingest.apply_page(db, shop_page([]))
    until = datetime(2024, 3, 2, 18, 0, tzinfo=JST)
    op = p.SetStatus.model_construct(
        conversation_id="conv-1", status=ConversationStatus.SNOOZED, snoozed_until=until
    )
    outbox.record(db, op, author="Lan")
    info = threads.conversation_info(db, "conv-1")
    assert info is not None
    assert info.snoozed_until == until
    assert info.snoozed_until is not None
    assert info.snoozed_until.utcoffset() == timedelta(0)
    [entry] = outbox.ready(db)
    assert isinstance(entry.operation, p.SetStatus)
    assert entry.operation.snoozed_until == until


def test_direct_write_keeps_the_instant_and_refuses_naive(db: Database) -> None:
    tokyo = datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=JST)
    with db.write() as conn:
        conn.execute(
            insert(DRAFT).values(conversation_id="c", mode="reply", body="b", updated_at=tokyo)
        )
    with db.read() as conn:
        back = conn.execute(select(DRAFT.c.updated_at)).scalar_one()
    assert back == tokyo
    assert (back.year, back.hour) == (2024, 14)  # 23:59 in Tokyo is 14:59 UTC
    with pytest.raises(sqlalchemy.exc.StatementError), db.write() as conn:
        conn.execute(
            insert(DRAFT).values(
                conversation_id="d", mode="reply", body="b", updated_at=datetime(2024, 1, 1)
            )
        )
    assert kv.get_draft(db, "d", "reply") == ""


# --- one writer ------------------------------------------------------------------------------


def test_second_writer_is_refused_while_a_reader_may_look(store: Path) -> None:
    first = Database(store)
    try:
        kv.set_state(first, {"cursor": "42"})
        with pytest.raises(StoreBusy, match="another cs-console"):
            Database(store)
        reader = Database(store, writer=False)
        try:
            assert kv.get_state(reader, "cursor") == "42"
            assert reader.schema_version == first.schema_version
            with pytest.raises(StoreError, match="read-only"):
                kv.set_state(reader, {"cursor": "43"})
        finally:
            reader.close()
        kv.set_state(first, {"cursor": "44"})  # the writer still writes
    finally:
        first.close()
    second = Database(store)  # the lock went with the first writer
    try:
        assert kv.get_state(second, "cursor") == "44"
    finally:
        second.close()


def test_reader_needs_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        Database(tmp_path / "missing" / "store.db", writer=False)
    assert not (tmp_path / "missing").exists()


# --- stores we must not touch ----------------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_newer_schema_is_refused(store: Path) -> None:
    Database(store).close()
    con = sqlite3.connect(store)
    con.execute("PRAGMA user_version = 99")
    con.close()
    before = digest(store)
    for _ in range(2):  # refused again, not StoreBusy: the failed open let go of the lock
        with pytest.raises(StoreError, match="newer cs-console") as caught:
            Database(store)
        assert not isinstance(caught.value, StoreBusy)
        assert "schema 99" in str(caught.value)
    assert digest(store) == before
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA user_version").fetchone() == (99,)
    con.close()


def filled_store(store: Path) -> int:
    """A closed store of about 200 pages (checkpointed, no WAL left); returns its size."""
    db = Database(store)
    msgs = [
        message(f"m-{i:05d}", BASE + timedelta(seconds=i), f"message {i} " + "x" * 200)
        for i in range(2000)
    ]
    ingest.apply_page(db, shop_page(msgs))
    db.close()
    assert not store.with_name(store.name + "-wal").exists()
    return store.stat().st_size


def corrupt(store: Path, offset: int, length: int) -> bytes:
    garbage = random.Random(7).randbytes(length)
    with store.open("r+b") as f:
        f.seek(offset)
        f.write(garbage)
    return garbage


def assert_left_in_place(store: Path, size: int, offset: int, garbage: bytes) -> None:
    assert store.exists()
    assert store.stat().st_size == size
    with store.open("rb") as f:
        f.seek(offset)
        assert f.read(len(garbage)) == garbage


def open_and_check(store: Path) -> None:
    db = Database(store)
    try:
        db.quick_check()
    finally:
        db.close()


def test_damaged_cells_are_reported_as_damaged(store: Path) -> None:
    size = filled_store(store)
    offset = (size // 2 // 4096) * 4096 + 1000
    garbage = corrupt(store, offset, 512)
    with pytest.raises(StoreDamaged) as caught:
        open_and_check(store)
    message_text = str(caught.value)
    assert "damaged" in message_text
    assert "Nothing was changed" in message_text
    assert "unsent replies live only in this file" in message_text
    assert_left_in_place(store, size, offset, garbage)


def test_damaged_page_is_an_error_and_the_file_stays(store: Path) -> None:
    size = filled_store(store)
    offset = (size // 2 // 4096) * 4096
    garbage = corrupt(store, offset, 4096)
    with pytest.raises((StoreError, sqlalchemy.exc.DatabaseError)) as caught:
        open_and_check(store)
    assert "malformed" in str(caught.value) or "damaged" in str(caught.value)
    assert_left_in_place(store, size, offset, garbage)


def test_damaged_page_is_reported_as_damaged(store: Path) -> None:
    size = filled_store(store)
    corrupt(store, (size // 2 // 4096) * 4096, 4096)
    with pytest.raises(StoreDamaged):
        open_and_check(store)


def test_garbage_header_is_an_error_and_the_file_stays(store: Path) -> None:
    size = filled_store(store)
    garbage = corrupt(store, 0, 100)
    for _ in range(2):  # and the failed open let go of the writer lock
        with pytest.raises((StoreError, sqlalchemy.exc.DatabaseError)) as caught:
            Database(store)
        assert not isinstance(caught.value, StoreBusy)
        assert "not a database" in str(caught.value) or "damaged" in str(caught.value)
    assert_left_in_place(store, size, 0, garbage)


def test_garbage_header_is_reported_as_a_store_error(store: Path) -> None:
    filled_store(store)
    corrupt(store, 0, 100)
    with pytest.raises(StoreError):
        Database(store)
