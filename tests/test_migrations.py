"""The versioned migrations produce the schema the models describe, and upgrade a store
in place without losing rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cs_console.store.db import Database, StoreError
from cs_console.store.migrations import LATEST_VERSION, MIGRATIONS
from cs_console.store.models import CLIENT_TABLES, table_of


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, bool]]:
    return [(row[1], bool(row[3])) for row in conn.execute(f"PRAGMA table_info({table})")]


def test_migrated_schema_matches_models(tmp_path: Path) -> None:
    db = Database(tmp_path / "store.db")
    db.close()
    conn = sqlite3.connect(tmp_path / "store.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    for model in CLIENT_TABLES:
        table = table_of(model)
        expected = [(c.name, not c.nullable) for c in table.columns]
        assert _columns(conn, table.name) == expected, table.name
        indexes = {row[1] for row in conn.execute(f"PRAGMA index_list({table.name})")}
        for index in table.indexes:
            assert index.name in indexes
    conn.close()


def test_store_from_first_schema_upgrades_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO customer VALUES ('cus-1', '王芳', NULL, NULL, 'zh-CN', '', "
        "'2026-11-20T10:00:00.000000Z')"
    )
    conn.execute(
        "INSERT INTO draft VALUES ('conv-1', 'reply', '亲，在的', '2026-11-20T10:00:00.000000Z')"
    )
    conn.commit()
    conn.close()
    db = Database(path)
    assert db.schema_version == LATEST_VERSION
    with db.read() as read:
        assert read.exec_driver_sql("SELECT name FROM customer").scalar_one() == "王芳"
        assert read.exec_driver_sql("SELECT body FROM draft").scalar_one() == "亲，在的"
    db.close()


def test_store_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer cs-console"):
        Database(path)
