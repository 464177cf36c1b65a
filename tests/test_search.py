"""Local search: the index in the store, the service on top of it, and ``cs-console search``.

Rows arrive the way the sync writes them (``apply_page``); the index is kept current by
the service itself, so every test searches straight after writing.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cs_console import protocol as p
from cs_console.cli import search as search_cli
from cs_console.cli.common import Grammar
from cs_console.domain import ConversationStatus, Group, MessageKind, OrderStatus
from cs_console.paths import Paths
from cs_console.services import search
from cs_console.services.context import AgentContext
from cs_console.settings import Settings
from cs_console.store import search_index
from cs_console.store.db import Database
from cs_console.store.ingest import apply_page
from cs_console.store.migrations import MIGRATIONS

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _customer(
    cid: str, name: str, email: str | None = None, phone: str | None = None
) -> p.CustomerRecord:
    return p.CustomerRecord(id=cid, name=name, email=email, phone=phone, updated_at=NOW)


def _conversation(cid: str, customer: str, minutes_ago: int = 0) -> p.ConversationRecord:
    at = NOW - timedelta(minutes=minutes_ago)
    return p.ConversationRecord(
        id=cid,
        customer_id=customer,
        group=Group.AFTER_SALE,
        status=ConversationStatus.OPEN,
        last_activity_at=at,
        updated_at=at,
    )


def _message(mid: str, conversation: str, body: str, minutes_ago: int = 0) -> p.MessageRecord:
    return p.MessageRecord(
        id=mid,
        conversation_id=conversation,
        kind=MessageKind.CUSTOMER,
        author="customer",
        body=body,
        created_at=NOW - timedelta(minutes=minutes_ago),
    )


def _order(oid: str, number: str, customer: str, tracking: str | None = None) -> p.OrderRecord:
    return p.OrderRecord(
        id=oid,
        number=number,
        customer_id=customer,
        status=OrderStatus.SHIPPED,
        total_minor=7800,
        currency="CNY",
        carrier="ZTO" if tracking else None,
        tracking_number=tracking,
        placed_at=NOW - timedelta(days=2),
        updated_at=NOW,
    )


def _page(**records: object) -> p.ChangePage:
    return p.ChangePage(server_id="srv", cursor="1", has_more=False, **records)  # type: ignore[arg-type]


SHOP = _page(
    customers=[
        _customer("cus-1", "王芳", "fang.wang@example.cn", "+86 138-0000-1111"),
        _customer("cus-2", "Lê Thị Hoa", "hoa@example.vn", "0903 123 456"),
        _customer("cus-3", "Carmen López", "carmen@example.es"),
    ],
    conversations=[
        _conversation("conv-1", "cus-1", minutes_ago=30),
        _conversation("conv-1b", "cus-1", minutes_ago=5),
        _conversation("conv-2", "cus-2", minutes_ago=10),
        _conversation("conv-3", "cus-3", minutes_ago=20),
    ],
    messages=[
        _message("m-1", "conv-1", "亲，我的快递什么时候发货？", minutes_ago=31),
        _message("m-2", "conv-2", "Đơn hàng của tôi đã được GỬI chưa?", minutes_ago=11),
        _message("m-3", "conv-3", "¿Cuándo llega mi pedido? El número es el de ayer.", 21),
        _message("m-4", "conv-1b", "在吗", minutes_ago=6),
    ],
    orders=[
        _order("ord-1", "DD20261203004417", "cus-1", tracking="ZT123456789"),
        _order("ord-2", "DD20261203441700", "cus-2"),
        _order("ord-3", "DD20261130000099", "cus-3"),
    ],
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def ctx(home: Path) -> Iterator[AgentContext]:
    settings = Settings(paths=Paths(home))
    db = Database(settings.paths.store)
    apply_page(db, SHOP)
    context = AgentContext(settings=settings, db=db)
    yield context
    context.close()


def refs(hits: tuple[search.SearchHit, ...]) -> list[str]:
    return [hit.ref for hit in hits]


# --- what a query finds ------------------------------------------------------------------


def test_two_chinese_characters_find_what_trigrams_cannot(ctx: AgentContext) -> None:
    found = search.search(ctx, "发货")
    assert refs(found.messages) == ["m-1"]
    # Two characters of a name find the customer, and their conversations (newest first).
    by_name = search.search(ctx, "王芳")
    assert refs(by_name.customers) == ["cus-1"]
    assert refs(by_name.conversations) == ["conv-1b", "conv-1"]


def test_three_or_more_chinese_characters_are_substrings(ctx: AgentContext) -> None:
    assert refs(search.search(ctx, "什么时候发货").messages) == ["m-1"]
    assert refs(search.search(ctx, "我的快递").messages) == ["m-1"]
    assert search.search(ctx, "我的包裹").messages == ()


def test_pinyin_and_initials_find_chinese(ctx: AgentContext) -> None:
    assert refs(search.search(ctx, "fahuo").messages) == ["m-1"]
    assert refs(search.search(ctx, "fa huo").messages) == ["m-1"]
    assert refs(search.search(ctx, "fh").messages) == ["m-1"]
    assert refs(search.search(ctx, "kdsmsh").messages) == ["m-1"]
    assert refs(search.search(ctx, "wangfang").customers) == ["cus-1"]
    assert refs(search.search(ctx, "wf").customers) == ["cus-1"]


def test_latin_text_ignores_case_and_accents(ctx: AgentContext) -> None:
    assert refs(search.search(ctx, "don hang").messages) == ["m-2"]
    assert refs(search.search(ctx, "gui chua").messages) == ["m-2"]
    assert refs(search.search(ctx, "CUANDO LLEGA").messages) == ["m-3"]
    assert refs(search.search(ctx, "le thi").customers) == ["cus-2"]
    assert refs(search.search(ctx, "lopez").customers) == ["cus-3"]
    # A two-letter name word is enough for a customer (the commonest Vietnamese surname).
    assert refs(search.search(ctx, "Lê").customers) == ["cus-2"]


def test_order_number_by_its_last_digits_first(ctx: AgentContext) -> None:
    found = search.search(ctx, "4417")
    # Both numbers hold 4417; the one that ends with it is the one read off a screenshot.
    assert refs(found.orders) == ["ord-1", "ord-2"]
    assert refs(search.search(ctx, "DD20261203004417").orders) == ["ord-1"]
    assert refs(search.search(ctx, "zt1234").orders) == ["ord-1"]
    assert found.orders[0].customer_id == "cus-1"
    assert found.orders[0].label.text.startswith("DD20261203004417")


def test_email_and_phone(ctx: AgentContext) -> None:
    assert refs(search.search(ctx, "fang.wang@").customers) == ["cus-1"]
    assert refs(search.search(ctx, "HOA@EXAMPLE").customers) == ["cus-2"]
    # However the phone was written, its digits are what an agent types.
    assert refs(search.search(ctx, "13800001111").customers) == ["cus-1"]
    assert refs(search.search(ctx, "138 0000 1111").customers) == ["cus-1"]
    assert refs(search.search(ctx, "0903-123-456").customers) == ["cus-2"]


def test_conversation_by_id_and_too_short_queries(ctx: AgentContext) -> None:
    assert refs(search.search(ctx, "conv-3").conversations) == ["conv-3"]
    short = search.search(ctx, "a")
    assert short.too_short
    assert short.hits == []
    assert search.search(ctx, "   ").too_short


def test_snippet_marks_the_match_and_carries_no_terminal_codes(ctx: AgentContext) -> None:
    body = "x" * 60 + " \x1b]52;c;ZXZpbA==\x07 [bold]refund[/] please\nnow " + "y" * 60
    apply_page(ctx.db, _page(messages=[_message("m-evil", "conv-3", body)]))
    hit = search.search(ctx, "refund").messages[0]
    assert hit.ref == "m-evil"
    text = hit.label.text
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\n" not in text
    assert text.startswith("…")
    assert text.endswith("…")
    assert [text[start:end] for start, end in hit.label.marks] == ["refund"]
    assert "[bold]" in text  # shown literally: the UI never parses it as markup


def test_snippet_maps_folded_matches_back_onto_the_original() -> None:
    found = search.snippet("Đơn HÀNG đã gửi", ["don hang"])
    assert [found.text[s:e] for s, e in found.marks] == ["Đơn HÀNG"]


def test_conversation_for_a_customer_or_order_is_their_latest(ctx: AgentContext) -> None:
    customer = search.search(ctx, "王芳").customers[0]
    assert search.conversation_for(ctx, customer) == "conv-1b"
    order = search.search(ctx, "4417").orders[0]
    assert search.conversation_for(ctx, order) == "conv-1b"
    message = search.search(ctx, "pedido").messages[0]
    assert search.conversation_for(ctx, message) == "conv-3"


# --- keeping the index current -----------------------------------------------------------


def test_messages_from_a_later_sync_are_found_at_once(ctx: AgentContext) -> None:
    assert search.search(ctx, "退款").messages == ()
    apply_page(
        ctx.db,
        _page(
            customers=[_customer("cus-4", "赵敏", phone="139 1234 5678")],
            conversations=[_conversation("conv-4", "cus-4")],
            messages=[_message("m-5", "conv-4", "我要退款，杯子碎了")],
            orders=[_order("ord-4", "DD20261203009876", "cus-4")],
        ),
    )
    assert refs(search.search(ctx, "退款").messages) == ["m-5"]
    assert refs(search.search(ctx, "tuikuan").messages) == ["m-5"]
    assert refs(search.search(ctx, "赵敏").customers) == ["cus-4"]
    assert refs(search.search(ctx, "9876").orders) == ["ord-4"]


def test_changed_and_deleted_rows_leave_the_index(ctx: AgentContext) -> None:
    apply_page(
        ctx.db,
        _page(customers=[_customer("cus-3", "Carmen Ruiz", "carmen@example.es")]),
    )
    assert search.search(ctx, "lopez").customers == ()
    assert refs(search.search(ctx, "ruiz").customers) == ["cus-3"]
    with ctx.db.write() as conn:
        conn.exec_driver_sql("DELETE FROM message WHERE id = 'm-3'")
    assert search.search(ctx, "pedido").messages == ()


def test_a_taken_back_newest_message_does_not_hide_the_next(ctx: AgentContext) -> None:
    # Undo deletes the newest message; SQLite gives its seq to the next one.
    apply_page(ctx.db, _page(messages=[_message("m-undone", "conv-3", "reembolso por favor")]))
    assert refs(search.search(ctx, "reembolso").messages) == ["m-undone"]
    with ctx.db.write() as conn:
        conn.exec_driver_sql("DELETE FROM message WHERE id = 'm-undone'")
    assert search.search(ctx, "reembolso").messages == ()
    apply_page(ctx.db, _page(messages=[_message("m-next", "conv-3", "cambio de dirección")]))
    assert refs(search.search(ctx, "direccion").messages) == ["m-next"]
    assert search.search(ctx, "reembolso").messages == ()


def test_a_store_from_an_older_release_is_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:5]:  # schema 5: the last release without the index
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 5")
    conn.execute(
        "INSERT INTO customer VALUES ('cus-1', '王芳', NULL, '13800001111', 'zh-CN', '', "
        "'2026-11-20T10:00:00.000000Z')"
    )
    conn.execute(
        "INSERT INTO conversation VALUES ('conv-1', 'cus-1', 'web', 'after-sale', 'open', "
        "NULL, NULL, NULL, '2026-11-20T10:00:00.000000Z', 0, '', '', "
        "'2026-11-20T10:00:00.000000Z')"
    )
    conn.execute(
        "INSERT INTO message (id, conversation_id, kind, author, body, created_at, delivery) "
        "VALUES ('m-1', 'conv-1', 'customer', '王芳', '还没发货吗', "
        "'2026-11-20T10:00:00.000000Z', 'sent')"
    )
    conn.commit()
    conn.close()
    db = Database(path)
    try:
        context = AgentContext(settings=Settings(paths=Paths(tmp_path)), db=db)
        state = search.index_progress(context)
        assert not state.done  # installed empty: nothing broken, nothing found yet
        # A backlog bigger than a search indexes by itself is left to the build, and the
        # answer says the index is not complete.
        monkeypatch.setattr(search, "SEARCH_CATCH_UP", 1)
        partial = search.search(context, "发货")
        assert partial.indexing
        assert partial.messages == ()
        assert search.build_index(context, chunk=1).done
        assert refs(search.search(context, "发货").messages) == ["m-1"]
        assert refs(search.search(context, "1111").customers) == ["cus-1"]
    finally:
        db.close()


def test_an_index_of_another_version_or_without_triggers_is_rebuilt(ctx: AgentContext) -> None:
    assert refs(search.search(ctx, "发货").messages) == ["m-1"]
    path = ctx.db.path
    ctx.db.close()
    # A migration that rebuilt the message table would have dropped its triggers.
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER search_message_gone")
    raw.commit()
    raw.close()
    ctx.db = Database(path)
    assert not search.index_progress(ctx).done  # dropped and installed empty
    # A store this small is indexed again by the search itself.
    assert refs(search.search(ctx, "发货").messages) == ["m-1"]
    with ctx.db.read() as conn:
        version = search_index.installed_version(conn.connection.dbapi_connection)  # type: ignore[arg-type]
    assert version == search_index.INDEX_VERSION


def test_a_read_only_store_answers_from_what_is_indexed(ctx: AgentContext) -> None:
    assert refs(search.search(ctx, "发货").messages) == ["m-1"]
    reader = AgentContext(settings=ctx.settings, db=Database(ctx.db.path, writer=False))
    try:
        assert refs(search.search(reader, "fahuo").messages) == ["m-1"]
    finally:
        reader.close()


# --- cs-console search -------------------------------------------------------------------


def run_cli(home: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cs-console")
    parser.add_argument("--home", type=Path, default=None)
    search_cli.register(Grammar.under(parser))
    args = parser.parse_args([*argv, "--home", str(home)])
    args.demo = False
    result: int = args.func(args)
    return result


def test_cli_json_groups_the_hits(
    ctx: AgentContext, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx.close()  # the command opens the store itself
    assert run_cli(home, "search", "4417", "--json", "--limit", "1") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["complete"] is True
    assert [o["id"] for o in printed["orders"]] == ["ord-1"]
    assert printed["orders"][0]["customer_id"] == "cus-1"
    assert printed["messages"] == []


def test_cli_text_and_not_found(
    ctx: AgentContext, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx.close()
    assert run_cli(home, "search", "fa", "huo") == 0
    out = capsys.readouterr().out
    assert "messages:" in out
    assert "m-1" in out
    assert "发货" in out
    assert run_cli(home, "search", "nothing-like-this") == 1
    assert "nothing found" in capsys.readouterr().err
    assert run_cli(home, "search", "x") == 2


def test_snippet_marks_the_chinese_that_pinyin_stood_for() -> None:
    found = search.snippet("亲，我的快递什么时候发货？", ["fahuo"])
    assert [found.text[s:e] for s, e in found.marks] == ["发货"]
    initials = search.snippet("亲，我的快递什么时候发货？", ["kd"])
    assert [initials.text[s:e] for s, e in initials.marks] == ["快递"]
