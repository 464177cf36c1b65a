"""Which tables a write transaction wrote, read off the SQL it ran.

:class:`cs_console.store.db.Database` counts commits per table so that figures derived
from a table can be cached until it changes. A writing connection carries a set under
:data:`TOUCHED` in its ``info`` while its transaction runs; :func:`note_written_table`,
a ``before_cursor_execute`` listener, adds the table each data-changing statement writes
to, or :data:`ANY_TABLE` when the statement's shape does not say.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

#: The key of the set of written tables in a writing connection's ``info``.
TOUCHED = "cs_touched_tables"
#: Stands for every table: a statement that may write anywhere, or another process's commit.
ANY_TABLE = "*"

# The table a data-changing statement writes to (SQLAlchemy and hand-written SQL).
_WRITTEN_TABLE = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r"\s+[\"`\[]?(\w+)",
    re.IGNORECASE,
)
_NOT_WRITES = ("SELECT", "BEGIN", "PRAGMA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def note_written_table(
    conn: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    """Add the table ``statement`` writes to the connection's set, if it keeps one."""
    touched = conn.info.get(TOUCHED)
    if touched is None:
        return
    if statement.lstrip()[:9].upper().startswith(_NOT_WRITES):
        return
    found = _WRITTEN_TABLE.match(statement)
    # A statement of another shape (a CTE, say) may write anywhere.
    touched.add(found.group(1).lower() if found is not None else ANY_TABLE)
