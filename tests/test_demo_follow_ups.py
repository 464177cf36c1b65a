"""The shop's follow-ups (F7 "due today", F10's handover summary) on the demo shop's
own data: unshipped orders near their 48-hour deadline are always in it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cs_console.paths import Paths
from cs_console.server.demo import load_demo
from cs_console.server.state import ServerState
from cs_console.services import orders
from cs_console.services.context import open_context
from cs_console.settings import Settings
from cs_console.store.ingest import apply_page
from cs_console.timeutil import utcnow


def test_ship_by_follow_ups_on_the_demo_shop(tmp_path: Path) -> None:
    state = ServerState(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        load_demo(state)
        page = state.changes(0, 100_000)
    finally:
        state.close()
    ctx = open_context(Settings(paths=Paths(tmp_path / "client"), agent={"name": "Lan"}))
    try:
        apply_page(ctx.db, page)
        now = utcnow()
        due = orders.follow_ups(ctx, now)
    finally:
        ctx.close()
    ship_by = [f for f in due if f.kind == "ship-by"]
    assert ship_by, "the demo shop always has an unshipped order near its deadline"
    for follow_up in ship_by:
        # The deadline is 48 h after payment: within the 6 h warning window, or past.
        assert follow_up.due_at.tzinfo is not None
        assert follow_up.due_at - now < timedelta(hours=6)
