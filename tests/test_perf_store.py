"""The store's speed-ups keep its answers exact: pooled connections still see every
commit, and cached queue counts follow every change to the conversations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, Group
from cs_console.store import ingest, kv, queue
from cs_console.store.db import Database
from cs_console.store.models import CONVERSATION
from cs_console.views import QueueFilter

BASE = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "home" / "store.db")
    yield database
    database.close()


def conversations_page(count: int, *, status: ConversationStatus) -> p.ChangePage:
    return p.ChangePage(
        server_id="srv-1",
        cursor="1",
        has_more=False,
        customers=[p.CustomerRecord(id="cus-1", name="Aiko", updated_at=BASE)],
        conversations=[
            p.ConversationRecord(
                id=f"conv-{index}",
                customer_id="cus-1",
                group=Group.PRE_SALE if index % 2 else Group.AFTER_SALE,
                status=status,
                assignee="Lan" if index % 3 == 0 else None,
                last_activity_at=BASE + timedelta(minutes=index),
                updated_at=BASE,
            )
            for index in range(count)
        ],
    )


def test_counts_follow_every_change_to_the_conversations(db: Database) -> None:
    ingest.apply_page(db, conversations_page(6, status=ConversationStatus.OPEN))
    flt = QueueFilter(me="Lan")
    before = queue.queue_counts(db, flt)
    assert before.by_status[ConversationStatus.OPEN] == 6
    assert (before.mine, before.unassigned, before.everyone) == (2, 4, 6)
    assert queue.queue_count(db, flt) == 6

    with db.write() as conn:
        conn.execute(
            update(CONVERSATION)
            .where(CONVERSATION.c.id == "conv-0")
            .values(status=ConversationStatus.RESOLVED.value)
        )
    after = queue.queue_counts(db, flt)
    assert after.by_status[ConversationStatus.OPEN] == 5
    assert after.by_status[ConversationStatus.RESOLVED] == 1
    assert (after.mine, after.unassigned, after.everyone) == (1, 4, 5)
    assert queue.queue_count(db, flt) == 5
    assert queue.queue_count(db, QueueFilter(status=ConversationStatus.RESOLVED)) == 1


def test_other_tables_leave_the_conversation_generation_alone(db: Database) -> None:
    ingest.apply_page(db, conversations_page(2, status=ConversationStatus.OPEN))
    start = db.generation("conversation")
    assert start is not None
    kv.set_draft(db, "conv-1", "reply", "half a sentence")
    kv.set_seen(db, "conv-1", 3)
    assert db.generation("conversation") == start
    ingest.apply_page(db, conversations_page(3, status=ConversationStatus.PENDING))
    assert db.generation("conversation") == start + 1


def test_a_failed_write_changes_nothing_and_the_counts_stay_right(db: Database) -> None:
    ingest.apply_page(db, conversations_page(4, status=ConversationStatus.OPEN))
    flt = QueueFilter()
    assert queue.queue_counts(db, flt).everyone == 4

    def fail_midway() -> None:
        with db.write() as conn:
            conn.execute(update(CONVERSATION).values(status=ConversationStatus.PENDING.value))
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert queue.queue_counts(db, flt).everyone == 4
    assert queue.queue_count(db, QueueFilter(status=ConversationStatus.PENDING)) == 0


def test_a_read_only_handle_sees_another_writers_commits(tmp_path: Path) -> None:
    path = tmp_path / "home" / "store.db"
    writer = Database(path)
    reader = Database(path, writer=False)
    try:
        ingest.apply_page(writer, conversations_page(3, status=ConversationStatus.OPEN))
        assert reader.generation("conversation") is None
        assert queue.queue_counts(reader, QueueFilter()).everyone == 3
        ingest.apply_page(writer, conversations_page(5, status=ConversationStatus.OPEN))
        assert queue.queue_counts(reader, QueueFilter()).everyone == 5
    finally:
        reader.close()
        writer.close()


def test_threads_read_and_write_at_once(db: Database) -> None:
    ingest.apply_page(db, conversations_page(10, status=ConversationStatus.OPEN))
    errors: list[BaseException] = []

    def drafts(worker: int) -> None:
        try:
            for round_no in range(30):
                kv.set_draft(db, f"conv-{worker}", "reply", f"draft {round_no}")
                assert kv.get_draft(db, f"conv-{worker}", "reply") == f"draft {round_no}"
                assert queue.queue_count(db, QueueFilter()) == 10
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=drafts, args=(n,)) for n in range(8)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    assert [kv.get_draft(db, f"conv-{n}", "reply") for n in range(8)] == ["draft 29"] * 8
