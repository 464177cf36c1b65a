"""The queue pane: the filter line and the queue, and what acts on the conversation
there: next waiting, claim, transfer, resolve/reopen/pending, snooze, the filters.

After a write that takes the conversation out of the queue on screen (resolved,
snoozed...), the cursor goes on to the next waiting customer: the agent's next job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.message import Message

from cs_console.domain import ConversationStatus, Group
from cs_console.i18n import N_, _
from cs_console.ui.actions import bindings_for
from cs_console.ui.panes.base import Desk, OpenConversation, Pane
from cs_console.ui.widgets.filter_bar import FilterBar
from cs_console.ui.widgets.queue_list import QueueList
from cs_console.views import QueueFilter

# Services are imported where they are used: they load SQLAlchemy, which the first frame
# does not wait for; so are the dialogs.

SNOOZE_CHOICES = [
    ("15", N_("15 minutes")),
    ("60", N_("1 hour")),
    ("240", N_("4 hours")),
    ("1440", N_("until tomorrow")),
]


class QueuePane(Pane):
    """The filter line over the queue; the keys that act on the open conversation."""

    CSS_FILE = Path(__file__).with_suffix(".tcss")
    BINDINGS = bindings_for("queue_pane")

    @dataclass
    class Reloaded(Message):
        """The queue was read again; ``waiting_too_long`` customers wait past the alert."""

        waiting_too_long: int

    def __init__(self, desk: Desk, *, id: str | None = None) -> None:
        super().__init__(desk, id=id)
        self.filter = QueueFilter()

    def compose(self) -> ComposeResult:
        settings = self.desk.console.settings
        yield FilterBar(id="filters")
        yield QueueList(
            id="queue",
            clock=self.desk.console.clock,
            warn_after_s=settings.shift.warn_after_s,
            alert_after_s=settings.shift.alert_after_s,
        )

    def on_mount(self) -> None:
        # Border titles are markup: a translation must not be read as tags.
        self.queue.border_title = Content(_("Queue"))

    @property
    def queue(self) -> QueueList:
        """The queue widget."""
        return self.query_one("#queue", QueueList)

    def attach(self, agent_name: str) -> None:
        """The store is open: show the queue as ``agent_name`` sees it."""
        self.filter = QueueFilter(me=agent_name)
        self.queue.empty_text = _("No conversations here.")
        self.reload()

    def set_me(self, agent_name: str) -> None:
        """The backend told us who we are: "mine" means that agent from now on."""
        if self.filter.me != agent_name:
            self.filter = replace(self.filter, me=agent_name)

    def reload(self, *, jump_to: str | None = None) -> None:
        """Re-read the queue for the filter, keeping the highlighted conversation (or
        putting the cursor on ``jump_to``)."""
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import queue

        current = self.queue.highlighted
        keep = jump_to or (current.conversation_id if current else None)
        position = queue.position(ctx, self.filter, keep) if keep else None
        flt = self.filter
        self.queue.set_source(
            queue.count(ctx, flt),
            lambda offset, limit: queue.page(ctx, flt, offset, limit),
            keep=None if jump_to else keep,
            position=position,
        )
        bar = self.query_one("#filters", FilterBar)
        bar.current = flt
        bar.counts = queue.counts(ctx, flt)
        self.post_message(self.Reloaded(queue.waiting_over_alert(ctx, self.desk.console.clock())))

    def wake_snoozed(self) -> bool:
        """A snoozed customer whose time has come is back in the open queue at once,
        not at the next sync (nor never, offline). True if one woke."""
        if self.desk.ctx is None:
            return False
        from cs_console.services import queue
        from cs_console.services.context import StoreError

        try:
            woken = queue.wake_snoozed(self.desk.ctx, self.desk.console.clock())
        except StoreError:
            return False  # read-only or full disk: the server's wake arrives with the next pull
        return bool(woken)

    # --- the keys ------------------------------------------------------------------------

    def action_next_waiting(self) -> bool:
        """Open the longest-waiting customer of this queue; False when nobody waits."""
        if self.desk.ctx is None:
            return False
        from cs_console.services import queue

        found = queue.longest_waiting(self.desk.ctx, self.filter)
        if found is None:
            self.notify(_("Nobody is waiting here."))
            return False
        self.reload(jump_to=found)
        self.post_message(OpenConversation(found))
        self.queue.focus()
        return True

    async def action_claim(self) -> None:
        """Assign the open conversation to me."""
        target, ctx = self._target(), self.desk.ctx
        if target and ctx:
            from cs_console.services import conversations

            await self._write(_("Claimed"), lambda: conversations.claim(ctx, target))

    async def action_set_status(self, status: str) -> None:
        """Resolve, reopen or mark the open conversation pending."""
        target, ctx = self._target(), self.desk.ctx
        if not (target and ctx):
            return
        from cs_console.services import conversations

        value = ConversationStatus(status)
        label = {
            "resolved": _("Resolved"),
            "open": _("Reopened"),
            "pending": _("Marked pending"),
        }.get(status, status)
        await self._write(
            label,
            lambda: conversations.set_status(ctx, target, value),
            leaves_view=value is not self.filter.status,
        )

    async def resolve_and_next(self) -> bool:
        """Resolve the open conversation and open the longest-waiting customer (if
        anyone waits); False when nothing was resolved."""
        target, ctx = self._target(), self.desk.ctx
        if not (target and ctx):
            return False
        from cs_console.services import conversations

        status = ConversationStatus.RESOLVED
        resolved = await self._write(
            _("Resolved"), lambda: conversations.set_status(ctx, target, status), leaves_view=True
        )
        return resolved

    def action_snooze(self) -> None:
        """Ask for how long, then snooze the open conversation."""
        target, ctx = self._target(), self.desk.ctx
        if not (target and ctx):
            return
        from cs_console.services import conversations
        from cs_console.ui.screens.choice import ChoiceScreen  # a dialog: loaded when opened

        async def chosen(minutes: str | None) -> None:
            if minutes:
                await self._write(
                    _("Snoozed"),
                    lambda: conversations.set_status(
                        ctx, target, ConversationStatus.SNOOZED, snooze_minutes=int(minutes)
                    ),
                    leaves_view=self.filter.status is not ConversationStatus.SNOOZED,
                )

        choices = [(minutes, _(label)) for minutes, label in SNOOZE_CHOICES]
        self.app.push_screen(ChoiceScreen(_("Snooze for…"), choices), chosen)

    def action_transfer(self) -> None:
        """Ask where to, then hand the open conversation to a desk or an agent."""
        target, ctx = self._target(), self.desk.ctx
        if not (target and ctx):
            return
        from cs_console.services import conversations
        from cs_console.ui.screens.choice import ChoiceScreen  # a dialog: loaded when opened

        options = [
            ("group:pre-sale", _("Pre-sale desk")),
            ("group:after-sale", _("After-sale desk")),
        ]
        options += [
            (f"agent:{name}", _("Agent {name}").format(name=name))
            for name in conversations.agent_names(ctx)
            if name != ctx.agent_name
        ]

        async def chosen(value: str | None) -> None:
            if not value:
                return
            kind, _colon, name = value.partition(":")
            if kind == "group":
                desk = _("Pre-sale desk") if name == Group.PRE_SALE.value else _("After-sale desk")
                await self._write(
                    _("Transferred to {target}").format(target=desk),
                    lambda: conversations.transfer(ctx, target, group=Group(name)),
                )
            else:
                await self._write(
                    _("Transferred to {target}").format(target=name),
                    lambda: conversations.transfer(ctx, target, agent=name),
                )

        self.app.push_screen(ChoiceScreen(_("Transfer to…"), options), chosen)

    def action_filter_status(self, status: str) -> None:
        """Show the conversations with ``status``."""
        self._set_filter(status=ConversationStatus(status))

    def action_filter_scope(self, scope: str) -> None:
        """Show everyone's, mine or the unassigned conversations."""
        self._set_filter(scope=scope)

    def action_cycle_group(self) -> None:
        """Pre-sale, after-sale, both."""
        order = [None, Group.PRE_SALE, Group.AFTER_SALE]
        self._set_filter(group=order[(order.index(self.filter.group) + 1) % len(order)])

    def action_cycle_priority(self) -> None:
        """Every priority, then urgent only, then high and urgent."""
        order: list[str | None] = [None, "urgent", "high"]
        current = self.filter.min_priority if self.filter.min_priority in order else None
        self._set_filter(min_priority=order[(order.index(current) + 1) % len(order)])

    def action_filter_tag(self) -> None:
        """Ask which tag, then show only the conversations that carry it (or every one)."""
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import queue
        from cs_console.ui.screens.choice import ChoiceScreen  # a dialog: loaded when opened
        from cs_console.ui.widgets.queue_list import tag_label

        options = [("all", _("Every tag"))]
        options += [(f"tag:{tag}", tag_label(tag)) for tag in queue.known_tags(ctx)]

        def chosen(value: str | None) -> None:
            if value is None:
                return  # dismissed: the filter stays as it was
            self._set_filter(tag=value.removeprefix("tag:") if value.startswith("tag:") else None)

        self.app.push_screen(ChoiceScreen(_("Only the tag…"), options), chosen)

    # --- helpers -------------------------------------------------------------------------

    def _set_filter(self, **changes: Any) -> None:
        self.filter = replace(self.filter, **changes)
        self.reload()

    def _target(self) -> str | None:
        if self.desk.open_id is None:
            self.notify(_("Open a conversation first."), severity="warning")
        return self.desk.open_id

    async def _write(
        self, label: str, call: Callable[[], object], *, leaves_view: bool = False
    ) -> bool:
        """Write, say so, and show the queue as it is now. ``leaves_view``: the
        conversation no longer belongs in the queue on screen, so the cursor goes on to
        the next waiting customer."""
        from cs_console.services import conversations, queue

        written = await self.desk.write(
            self,
            call,
            name=label,
            failed=lambda error: _("{action} failed: {error}").format(action=label, error=error),
            refusals=(conversations.ActionError,),
        )
        if written is None:
            return False
        self.notify(label, markup=False)  # labels carry agent names from the backend
        self.desk.console.kick_sync()
        ctx = self.desk.ctx
        if leaves_view and ctx is not None:
            following = queue.longest_waiting(ctx, self.filter)
            if following is not None:
                self.reload(jump_to=following)
                self.post_message(OpenConversation(following))
                return True
        self.reload()
        if self.desk.open_id is not None:
            self.post_message(OpenConversation(self.desk.open_id, keep_position=True))
        return True
