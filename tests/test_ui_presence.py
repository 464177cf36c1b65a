"""Presence and automatic assignment with two consoles (two agents, two stores) on one
reference server, driven with real keys: Ctrl+O online, the server assigns each new
conversation to the agent of its desk, and going offline gives them back to the pool."""

from __future__ import annotations

from pathlib import Path

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, Group
from cs_console.server.routing import RoutingRules
from cs_console.store.models import CONVERSATION
from cs_console.timeutil import utcnow
from cs_console.ui.app import ConsoleApp
from cs_console.views import QueueFilter
from tests.inprocess import InProcessServer
from tests.ui_support import context, live_app, queue_list, wait_loaded, wait_until

SIZE = (160, 45)


def _assignee(app: ConsoleApp, conversation_id: str) -> str | None:
    with context(app).db.read() as conn:
        found = (
            conn.execute(CONVERSATION.select().where(CONVERSATION.c.id == conversation_id))
            .mappings()
            .first()
        )
    return None if found is None else found["assignee"]


def _server_presence(server: InProcessServer, name: str) -> p.Presence:
    return next(a.presence for a in server.state.changes(0, 10_000).agents if a.name == name)


async def test_two_consoles_online_get_new_conversations_by_desk_and_offline_returns_them(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    lan_app = live_app(tmp_path / "lan", inproc_server, tokens["Lan"])  # after-sale desk
    mei_app = live_app(tmp_path / "mei", inproc_server, tokens["Mei"])  # pre-sale desk
    async with lan_app.run_test(size=SIZE) as lan, mei_app.run_test(size=SIZE) as mei:
        await wait_loaded(lan)
        await wait_loaded(mei)
        for pilot in (lan, mei):
            await pilot.press("ctrl+o")
            await pilot.pause()
            await pilot.press("1")  # online
        await wait_until(
            lan,
            lambda: (
                _server_presence(inproc_server, "Lan") is p.Presence.ONLINE
                and _server_presence(inproc_server, "Mei") is p.Presence.ONLINE
            ),
            what="both agents online on the server",
        )
        now = utcnow()
        inproc_server.state.load_records(
            {
                "conversation": [
                    p.ConversationRecord(
                        id=conversation_id,
                        customer_id="cus-2",
                        group=group,
                        status=ConversationStatus.OPEN,
                        waiting_since=now,
                        last_activity_at=now,
                        updated_at=now,
                    )
                    for conversation_id, group in (
                        ("conv-new-pre", Group.PRE_SALE),
                        ("conv-new-after", Group.AFTER_SALE),
                    )
                ]
            }
        )
        # Each console learns the server's choice through the change feed.
        await wait_until(
            lan, lambda: _assignee(lan_app, "conv-new-after") == "Lan", what="Lan's new one"
        )
        await wait_until(
            mei, lambda: _assignee(mei_app, "conv-new-pre") == "Mei", what="Mei's new one"
        )
        assert _assignee(lan_app, "conv-new-pre") in (None, "Mei")  # it may not be pulled yet
        await wait_until(lan, lambda: _assignee(lan_app, "conv-new-pre") == "Mei")
        # Lan's "mine" queue shows it.
        await lan.press("escape")
        queue_list(lan_app).focus()
        await lan.press("m")
        await wait_until(
            lan,
            lambda: any(
                (row := queue_list(lan_app).row(i)) is not None
                and row.conversation_id == "conv-new-after"
                for i in range(queue_list(lan_app).total)
            ),
            what="conv-new-after in Lan's own queue",
        )
        # Lan leaves; with no grace period, their conversations go back to the pool.
        inproc_server.state.rules = RoutingRules(grace_s=0)
        await lan.press("ctrl+o")
        await lan.pause()
        await lan.press("3")  # offline
        await wait_until(
            lan,
            lambda: _server_presence(inproc_server, "Lan") is p.Presence.OFFLINE,
            what="Lan offline on the server",
        )
        inproc_server.state.sweep(force=True)
        await wait_until(
            mei,
            lambda: _assignee(mei_app, "conv-new-after") is None,
            what="Lan's conversation back in the pool, seen from Mei's console",
        )
        flt = QueueFilter(scope="unassigned", me="Mei")
        from cs_console.services import queue

        ids = [r.conversation_id for r in queue.page(context(mei_app), flt, 0, 50)]
        assert "conv-new-after" in ids
