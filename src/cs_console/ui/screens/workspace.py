"""The workspace: queue, thread, composer, customer and orders, status bar.

Handlers own the state; store reads are small indexed queries done in place (a page
of queue rows, the newest messages of one thread), and all writes go through the
services, which record them in the store and the outbox at once.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static, TextArea

from cs_console.domain import ConversationStatus, Group
from cs_console.i18n import N_, _, ngettext
from cs_console.ui.keys import translate_active_bindings
from cs_console.ui.text import order_status_label, safe_line, status_label
from cs_console.ui.widgets.composer import NOTE, REPLY, Composer
from cs_console.ui.widgets.filter_bar import FilterBar
from cs_console.ui.widgets.order_pane import OrderPane
from cs_console.ui.widgets.queue_list import QueueList
from cs_console.ui.widgets.status_bar import StatusBar
from cs_console.ui.widgets.thread_view import ThreadView
from cs_console.views import QueueFilter

if TYPE_CHECKING:
    # Dialog screens are imported where they open: not needed for the first frame.
    from cs_console.replies.library import QuickReply, ReplyAction
    from cs_console.replies.placeholders import ReplyContext
    from cs_console.services.context import AgentContext
    from cs_console.services.conversations import Queued
    from cs_console.services.replies import UseKind
    from cs_console.sync.engine import SyncReport
    from cs_console.ui.app import ConsoleApp
    from cs_console.ui.screens.cases import OpenTarget
    from cs_console.views import Abilities, SyncStatus

# A page of the thread: enough to fill a tall terminal; older ones load on scrolling up.
THREAD_PAGE = 60
#: Keys that insert the three suggested replies shown above the composer.
SUGGESTION_KEYS = ("alt+q", "alt+w", "alt+e")
#: Actions that need the backend to be able to do something (see ``views.Abilities``).
ACTION_ABILITY = {
    "claim": "assign",
    "transfer": "assign",
    "set_status": "statuses",
    "snooze": "statuses",
    "add_remark": "remarks",
}
SNOOZE_CHOICES = [
    ("15", N_("15 minutes")),
    ("60", N_("1 hour")),
    ("240", N_("4 hours")),
    ("1440", N_("until tomorrow")),
]


class WorkspaceScreen(Screen[None]):
    """The one screen an agent lives in."""

    CSS_PATH = "workspace.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        Binding(
            "ctrl+g", "next_waiting", N_("Next waiting"), id="workspace.next_waiting", priority=True
        ),
        Binding("ctrl+r", "undo_send", N_("Undo send"), id="workspace.undo_send"),
        Binding("f5", "retry_failed", N_("Retry failed"), show=False, id="workspace.retry"),
        Binding("f2", "focus_pane('queue')", N_("Queue"), show=False, id="workspace.focus_queue"),
        Binding(
            "f3", "focus_pane('thread')", N_("Thread"), show=False, id="workspace.focus_thread"
        ),
        Binding(
            "f4",
            "focus_pane('composer')",
            N_("Composer"),
            show=False,
            id="workspace.focus_composer",
        ),
        # F6 and F7 are priority keys: in the composer, the text box would take them
        # first (select line, select all) and the agent could not reach either.
        Binding(
            "f6",
            "focus_orders",
            N_("Orders"),
            show=False,
            id="workspace.focus_orders",
            priority=True,
        ),
        Binding("ctrl+l", "log_case", N_("Log case"), id="workspace.log_case"),
        Binding("f8", "add_remark", N_("Remark"), id="workspace.add_remark"),
        Binding("f7", "cases", N_("Cases"), id="workspace.cases", priority=True),
        Binding("f10", "end_shift", N_("End shift"), show=False, id="workspace.end_shift"),
        Binding("f9", "figures", N_("Figures"), show=False, id="workspace.figures"),
        Binding(
            "ctrl+k", "link_customer", N_("Link customer"), show=False, id="workspace.link_customer"
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ctx: AgentContext | None = None
        self.filter = QueueFilter()
        self.open_id: str | None = None
        self.last_queued: Queued | None = None
        self._draft_timer: Timer | None = None
        self._handover_checked = False
        self._draft_as_loaded = ""
        #: Actions of quick replies inserted into the composer, applied when it is sent.
        self._pending_actions: list[ReplyAction] = []
        #: What each reply key inserts right now: hotkeys, then suggestion keys.
        self._reply_keys: dict[str, QuickReply] = {}
        self._loading_draft = False
        #: Conversations the agent switched to note; every other one opens as a reply, so
        #: a note mode left on never carries a customer's answer into the next chat.
        self._note_mode: set[str] = set()
        #: What the backend can do; None until known (nothing is greyed out meanwhile).
        self.abilities: Abilities | None = None

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The bindings the footer shows, in the interface language."""
        return translate_active_bindings(super().active_bindings)

    @property
    def console_app(self) -> ConsoleApp:
        from cs_console.ui.app import ConsoleApp

        assert isinstance(self.app, ConsoleApp)
        return self.app

    def compose(self) -> ComposeResult:
        app = self.console_app
        settings = app.settings
        with Horizontal(id="panes"):
            with Vertical(id="queue-pane"):
                yield FilterBar(id="filters")
                yield QueueList(
                    id="queue",
                    clock=app.clock,
                    warn_after_s=settings.warn_after_s,
                    alert_after_s=settings.alert_after_s,
                )
            with Vertical(id="middle"):
                yield ThreadView(id="thread")
                yield Static(id="suggestions")
                yield Composer(id="composer", enter_sends=settings.enter_sends)
            yield OrderPane(id="orders", clock=app.clock, ship_by=app.ship_by)
        yield StatusBar(id="status", clock=app.clock)
        yield Footer()

    def on_mount(self) -> None:
        # Border titles are markup: "&" and translations must not be read as tags.
        self.query_one("#queue", QueueList).border_title = Content(_("Queue"))
        self.query_one("#thread", ThreadView).border_title = Content(_("Conversation"))
        self.query_one("#orders", OrderPane).border_title = Content(_("Customer & orders"))
        composer = self.query_one("#composer", Composer)
        composer.border_title = Content(_("Reply"))
        composer.disabled = True
        self.query_one("#queue", QueueList).focus()
        self.set_interval(1.0, self._tick)

    # --- loading -------------------------------------------------------------

    def attach(self, context: AgentContext) -> None:
        """The store is open: load the queue."""
        self.ctx = context
        self.filter = QueueFilter(me=self.ctx.agent_name)
        self.query_one("#status", StatusBar).agent = self.ctx.agent_name
        self.query_one("#queue", QueueList).empty_text = _("No conversations here.")
        self.reload_queue()
        self.run_worker(self._learn_abilities, thread=True, group="abilities", exclusive=True)

    def _learn_abilities(self) -> None:
        # A thread: building the backend's client imports httpx (tens of milliseconds).
        from cs_console.services import sync

        found = sync.abilities(self.console_app.settings)
        self.app.call_from_thread(self._set_abilities, found)

    def _set_abilities(self, abilities: Abilities) -> None:
        self.abilities = abilities
        self.query_one("#orders", OrderPane).set_unavailable(abilities.reason("orders"))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out (None) what the backend cannot do; the footer shows it dimmed."""
        ability = ACTION_ABILITY.get(action)
        if ability is not None and self._missing(ability) is not None:
            return None
        return True

    def _missing(self, ability: str) -> str | None:
        return None if self.abilities is None else self.abilities.reason(ability)

    def reload_queue(self, *, jump_to: str | None = None) -> None:
        """Re-read the queue for the current filter, keeping the highlighted conversation."""
        ctx = self.ctx
        if ctx is None:
            return
        from cs_console.services import queue

        queue_list = self.query_one("#queue", QueueList)
        current = queue_list.highlighted
        keep = jump_to or (current.conversation_id if current else None)
        position = queue.position(ctx, self.filter, keep) if keep else None
        flt = self.filter
        now = self.console_app.clock()
        queue_list.set_source(
            queue.count(ctx, flt),
            lambda offset, limit: queue.page(ctx, flt, offset, limit),
            keep=None if jump_to else keep,
            position=position,
        )
        bar = self.query_one("#filters", FilterBar)
        bar.current = flt
        bar.counts = queue.counts(ctx, flt)
        self.query_one("#status", StatusBar).over_alert = queue.waiting_over_alert(ctx, now)

    def show_conversation(
        self, conversation_id: str, *, keep_position: bool = False, mark_seen: bool = True
    ) -> None:
        """Load a conversation into the thread, order pane and composer."""
        ctx = self.ctx
        if ctx is None:
            return
        from cs_console.services import conversations, orders

        info = conversations.info(ctx, conversation_id)
        thread = self.query_one("#thread", ThreadView)
        composer = self.query_one("#composer", Composer)
        if conversation_id != self.open_id:
            self._save_draft_now()
            self.open_id = conversation_id
            self._pending_actions.clear()
            keep_position = False
            composer.disabled = info is None
            composer.show_mode(NOTE if conversation_id in self._note_mode else REPLY)
            self._load_draft()
        rows = conversations.messages(ctx, conversation_id, THREAD_PAGE)
        thread.show(rows, has_older=len(rows) == THREAD_PAGE, keep_position=keep_position)
        if info is not None:
            thread.border_title = Content(
                _("Conversation · {status}").format(status=status_label(info.status))
            )
            # Border titles are parsed as markup: backend text goes in as Content.
            thread.border_subtitle = Content(
                _("assigned to {agent}").format(agent=safe_line(info.assignee))
                if info.assignee
                else _("unassigned")
            )
            self.query_one("#orders", OrderPane).show(
                info, orders.for_customer(ctx, info.customer_id)
            )
        if rows and mark_seen:
            conversations.mark_seen(ctx, conversation_id, max(r.seq for r in rows))
        self._refresh_reply_keys()

    # --- queue and thread events -----------------------------------------------

    @on(QueueList.Highlighted)
    def _highlighted(self, message: QueueList.Highlighted) -> None:
        if message.conversation_id == self.open_id:
            # Already on screen (next-waiting shows it before the cursor lands on it; a
            # reloaded queue keeps it): reading and rendering it again is a keystroke's
            # worth of work for nothing.
            return
        self.show_conversation(message.conversation_id)

    @on(QueueList.Chosen)
    def _chosen(self, message: QueueList.Chosen) -> None:
        self.show_conversation(message.conversation_id)
        if self.ctx is not None:
            from cs_console.services import conversations

            if conversations.mark_read(self.ctx, message.conversation_id) is not None:
                self.console_app.kick_sync()
        self.query_one("#composer", Composer).focus()

    @on(ThreadView.NeedOlder)
    def _older(self, message: ThreadView.NeedOlder) -> None:
        if self.ctx is None or self.open_id is None:
            return
        from cs_console.services import conversations

        older = conversations.messages(
            self.ctx, self.open_id, THREAD_PAGE, before_seq=message.before_seq
        )
        self.query_one("#thread", ThreadView).prepend(older, has_older=len(older) == THREAD_PAGE)

    def sync_changed(self, status: SyncStatus, report: SyncReport | None) -> None:
        """A sync cycle ended: update the status bar and re-read what may have changed."""
        self.query_one("#status", StatusBar).sync = status
        if status.agent_name:
            self.query_one("#status", StatusBar).agent = status.agent_name
            if self.filter.me != status.agent_name:
                self.filter = replace(self.filter, me=status.agent_name)
        if report is not None and not self._handover_checked:
            self._handover_checked = True
            self._show_shift_start()
        if report is not None and (report.pulled or report.pushed or report.refused):
            self.reload_queue()
            if self.open_id is not None:
                # While the agent is typing, what arrives is not "seen": send safety will
                # show it before the reply goes (the commonest helpdesk slip).
                typing = bool(self.query_one("#composer", Composer).text.strip())
                self.show_conversation(self.open_id, keep_position=True, mark_seen=not typing)

    def _tick(self) -> None:
        self.query_one("#queue", QueueList).refresh()
        self.query_one("#orders", OrderPane).refresh_clock()
        self._wake_snoozed()

    def _wake_snoozed(self) -> None:
        """A snoozed customer whose time has come is back in the open queue at once,
        not at the next sync (nor never, offline)."""
        if self.ctx is None:
            return
        from cs_console.services import queue
        from cs_console.services.context import StoreError

        try:
            woken = queue.wake_snoozed(self.ctx, self.console_app.clock())
        except StoreError:
            return  # read-only or full disk: the server's wake arrives with the next pull
        if woken:
            self.reload_queue()

    # --- composer ------------------------------------------------------------

    def _load_draft(self) -> None:
        composer = self.query_one("#composer", Composer)
        text = ""
        if self.ctx is not None and self.open_id is not None:
            from cs_console.services import conversations

            text = conversations.draft(self.ctx, self.open_id, composer.mode)
        self._draft_as_loaded = text
        self._loading_draft = True
        composer.load_text(text)
        composer.move_cursor(composer.document.end)
        self._loading_draft = False

    def save_draft(self) -> None:
        """Save the composer's text now (on quit, on switching conversation)."""
        self._save_draft_now()

    def _save_draft_now(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        composer = self.query_one("#composer", Composer)
        if composer.text == self._draft_as_loaded:
            return  # unchanged: spare the disk a synced write on every cursor move
        if self._write_draft(composer.mode, composer.text):
            self._draft_as_loaded = composer.text

    def _write_draft(self, mode: str, text: str) -> bool:
        """Save the open conversation's draft for ``mode``; False (and said) when the
        store refuses it (disk full, read-only): the caller keeps the text on screen."""
        if self.ctx is None or self.open_id is None:
            return False
        from cs_console.services import conversations

        try:
            conversations.save_draft(self.ctx, self.open_id, mode, text)
        except Exception as exc:
            self.notify(
                _("Draft not saved: {error}").format(error=exc), severity="error", markup=False
            )
            return False
        return True

    @on(TextArea.Changed, "#composer")
    def _composer_changed(self) -> None:
        if not self.query_one("#composer", Composer).text.strip():
            self._pending_actions.clear()  # the replies they came with are gone
        if self._loading_draft:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(0.4, self._save_draft_now)

    @on(Composer.ModeChanged)
    def _mode_changed(self, message: Composer.ModeChanged) -> None:
        self._remember_mode(message.new)
        # Not saved (disk full): keep the text in the composer rather than load the other
        # mode's draft over it.
        open_draft = self.ctx is not None and self.open_id is not None
        if open_draft and not self._write_draft(message.old, message.composer.text):
            return
        self._load_draft()

    @on(Composer.Left)
    def _composer_left(self) -> None:
        self._save_draft_now()
        self._back_to_queue()

    @on(OrderPane.Left)
    def _back_to_queue(self) -> None:
        # In a narrow terminal the orders stand in the queue's place: give it back.
        self.remove_class("-show-orders")
        self.query_one("#queue", QueueList).focus()

    @on(Composer.Submitted)
    def _submitted(self, message: Composer.Submitted) -> None:
        self._send(message.text, note=message.mode == NOTE, force=False)

    def _send(self, text: str, *, note: bool, force: bool) -> None:
        ctx, conversation_id = self.ctx, self.open_id
        if ctx is None or conversation_id is None:
            return
        from cs_console.services import conversations
        from cs_console.ui.widgets.composer import HOLE

        unable = self._missing("internal_notes" if note else "send_messages")
        if unable is not None:
            self.notify(
                _("Not sent, your text is kept: {error}").format(error=unable),
                severity="warning",
                markup=False,
            )
            return
        blank = HOLE.search(text)
        if blank is not None:
            self.query_one("#composer", Composer).select_next_hole()
            self.notify(
                _("Fill {blank} first (Tab jumps to it).").format(blank=blank.group(0)),
                severity="warning",
                markup=False,
            )
            return
        order = self.query_one("#orders", OrderPane).selected_order
        try:
            outcome = conversations.send(
                ctx,
                conversation_id,
                text,
                note=note,
                force=force,
                actions=() if note else tuple(self._pending_actions),
                order_id=order.order_id if order else None,
            )
        except conversations.ActionError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        except Exception as exc:  # the store refused (disk full, locked): keep the text
            self.notify(
                _("Not sent, your text is kept: {error}").format(error=exc),
                severity="error",
                markup=False,
            )
            return
        if isinstance(outcome, conversations.NewActivity):
            self.show_conversation(conversation_id, keep_position=True)

            def decided(send_anyway: bool | None) -> None:
                if send_anyway:
                    self._send(text, note=note, force=True)
                else:
                    self.query_one("#composer", Composer).focus()

            from cs_console.ui.screens.new_activity import NewActivityScreen

            self.app.push_screen(NewActivityScreen(outcome.messages), decided)
            return
        composer = self.query_one("#composer", Composer)
        self._loading_draft = True
        composer.load_text("")
        self._loading_draft = False
        self.last_queued = outcome
        self._pending_actions.clear()
        if outcome.open_case is not None:
            self._open_case_after_reply(outcome.open_case)
        undo = ctx.settings.undo_seconds
        if not note and undo > 0:
            self.notify(
                _("Reply queued; Ctrl+R takes it back within {seconds:g} s").format(seconds=undo),
                timeout=undo,
            )
            self.set_timer(undo + 0.05, self.console_app.kick_sync)
        else:
            self.console_app.kick_sync()
        self.show_conversation(conversation_id)
        self.reload_queue()

    def _open_case_after_reply(self, category: str) -> None:
        from cs_console.domain import CaseCategory
        from cs_console.services import cases, conversations

        ctx, target = self.ctx, self.open_id
        if ctx is None or target is None:
            return
        info = conversations.info(ctx, target)
        draft = cases.draft_for(
            ctx,
            conversation_id=target,
            customer_id=info.customer_id if info else None,
            order=self.query_one("#orders", OrderPane).selected_order,
            messages=self.query_one("#thread", ThreadView).messages,
        )
        if draft.case_id is None:
            draft.category = CaseCategory(category)
        self._edit_case(draft)

    def action_undo_send(self) -> None:
        queued, ctx = self.last_queued, self.ctx
        if queued is None or ctx is None:
            self.notify(_("Nothing to take back."), severity="warning")
            return
        from cs_console.services import conversations

        self._save_draft_now()  # what was typed since must survive the undo
        if not conversations.undo(ctx, queued):
            self.notify(_("Too late: it has already gone."), severity="warning")
            return
        self.last_queued = None
        conversation_id = queued.entry.conversation_id
        if conversation_id == self.open_id:
            composer = self.query_one("#composer", Composer)
            composer.mode = NOTE if queued.note else REPLY
            self._load_draft()
            composer.focus()
        if conversation_id is not None:
            self.show_conversation(conversation_id)
        self.reload_queue()
        self.notify(_("Taken back; the text is in the composer again."))

    def action_retry_failed(self) -> None:
        if self.ctx is None or self.open_id is None:
            return
        from cs_console.domain import DeliveryState
        from cs_console.services import conversations

        thread = self.query_one("#thread", ThreadView)
        failed = [m for m in thread.messages if m.delivery is DeliveryState.FAILED]
        if not failed:
            self.notify(_("No failed message in this conversation."))
            return
        retried = sum(conversations.retry(self.ctx, m.message_id) for m in failed)
        self.notify(
            ngettext("Retrying {count} message.", "Retrying {count} messages.", retried).format(
                count=retried
            )
        )
        self.console_app.kick_sync()
        self.show_conversation(self.open_id, keep_position=True)

    # --- actions on the conversation -------------------------------------------

    def _target(self) -> str | None:
        if self.open_id is None:
            self.notify(_("Open a conversation first."), severity="warning")
        return self.open_id

    def _do(self, label: str, call: Any, *, leaves_view: bool = False) -> None:
        """Run a conversation action and show its outcome. ``leaves_view``: the
        conversation no longer belongs in the queue on screen (resolved, snoozed...), so
        the cursor goes on to the next waiting customer, the agent's next job."""
        from cs_console.services.conversations import ActionError

        try:
            call()
        except ActionError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        except Exception as exc:
            self.notify(
                _("{action} failed: {error}").format(action=label, error=exc),
                severity="error",
                markup=False,
            )
            return
        self.notify(label, markup=False)  # labels carry agent names from the backend
        self.console_app.kick_sync()
        if leaves_view and self.ctx is not None:
            from cs_console.services import queue

            following = queue.longest_waiting(self.ctx, self.filter)
            if following is not None:
                self.reload_queue(jump_to=following)
                self.show_conversation(following)
                return
        self.reload_queue()
        if self.open_id is not None:
            self.show_conversation(self.open_id, keep_position=True)

    def action_next_waiting(self) -> None:
        if self.ctx is None:
            return
        from cs_console.services import queue

        found = queue.longest_waiting(self.ctx, self.filter)
        if found is None:
            self.notify(_("Nobody is waiting here."))
            return
        self.reload_queue(jump_to=found)
        self.show_conversation(found)
        self.query_one("#queue", QueueList).focus()

    def action_claim(self) -> None:
        target, ctx = self._target(), self.ctx
        if target and ctx:
            from cs_console.services import conversations

            self._do(_("Claimed"), lambda: conversations.claim(ctx, target))

    def action_set_status(self, status: str) -> None:
        target, ctx = self._target(), self.ctx
        if target and ctx:
            from cs_console.services import conversations

            value = ConversationStatus(status)
            label = {
                "resolved": _("Resolved"),
                "open": _("Reopened"),
                "pending": _("Marked pending"),
            }.get(status, status)
            self._do(
                label,
                lambda: conversations.set_status(ctx, target, value),
                leaves_view=value is not self.filter.status,
            )

    def action_snooze(self) -> None:
        target, ctx = self._target(), self.ctx
        if not (target and ctx):
            return
        from cs_console.services import conversations

        def chosen(minutes: str | None) -> None:
            if minutes:
                self._do(
                    _("Snoozed"),
                    lambda: conversations.set_status(
                        ctx, target, ConversationStatus.SNOOZED, snooze_minutes=int(minutes)
                    ),
                    leaves_view=self.filter.status is not ConversationStatus.SNOOZED,
                )

        choices = [(minutes, _(label)) for minutes, label in SNOOZE_CHOICES]
        from cs_console.ui.screens.choice import ChoiceScreen

        self.app.push_screen(ChoiceScreen(_("Snooze for…"), choices), chosen)

    def action_transfer(self) -> None:
        target, ctx = self._target(), self.ctx
        if not (target and ctx):
            return
        from cs_console.services import conversations

        options = [
            ("group:pre-sale", _("Pre-sale desk")),
            ("group:after-sale", _("After-sale desk")),
        ]
        options += [
            (f"agent:{name}", _("Agent {name}").format(name=name))
            for name in conversations.agent_names(ctx)
            if name != ctx.agent_name
        ]

        def chosen(value: str | None) -> None:
            if not value:
                return
            kind, _colon, name = value.partition(":")
            if kind == "group":
                desk = _("Pre-sale desk") if name == Group.PRE_SALE.value else _("After-sale desk")
                self._do(
                    _("Transferred to {target}").format(target=desk),
                    lambda: conversations.transfer(ctx, target, group=Group(name)),
                )
            else:
                self._do(
                    _("Transferred to {target}").format(target=name),
                    lambda: conversations.transfer(ctx, target, agent=name),
                )

        from cs_console.ui.screens.choice import ChoiceScreen

        self.app.push_screen(ChoiceScreen(_("Transfer to…"), options), chosen)

    # --- filters -------------------------------------------------------------

    def _set_filter(self, **changes: Any) -> None:
        self.filter = replace(self.filter, **changes)
        self.reload_queue()

    def action_filter_status(self, status: str) -> None:
        self._set_filter(status=ConversationStatus(status))

    def action_filter_scope(self, scope: str) -> None:
        self._set_filter(scope=scope)

    def action_cycle_group(self) -> None:
        order = [None, Group.PRE_SALE, Group.AFTER_SALE]
        self._set_filter(group=order[(order.index(self.filter.group) + 1) % len(order)])

    # --- quick replies -------------------------------------------------------------

    def replies_loaded(self) -> None:
        """The library is ready: bind hotkeys and show suggestions."""
        self._refresh_reply_keys()

    def _language(self) -> str:
        if self.ctx is not None and self.open_id is not None:
            from cs_console.services import conversations

            info = conversations.info(self.ctx, self.open_id)
            if info is not None:
                return info.customer_language
        return self.console_app.settings.agent_language

    def _refresh_reply_keys(self) -> None:
        """Hotkeys in the conversation's language (the agent's language fills gaps) and
        the top three suggestions for what the customer last said."""
        loaded = self.console_app.replies
        bar = self.query_one("#suggestions", Static)
        if loaded is None or self.ctx is None:
            return
        from cs_console.replies.suggest import suggest
        from cs_console.services import replies

        language = self._language()
        agent_language = self.console_app.settings.agent_language
        keys = replies.hotkey_table(loaded.library, language, fallback=agent_language)
        thread = self.query_one("#thread", ThreadView)
        last_customer = next(
            (m.body for m in reversed(thread.messages) if m.kind.value == "customer"), None
        )
        order = self.query_one("#orders", OrderPane).selected_order
        suggested = (
            suggest(
                loaded.index,
                loaded.library,
                last_customer_message=last_customer,
                order_status=order.status.value if order else None,
                language=language,
            )
            if self.open_id
            else []
        )
        parts = []
        for key, reply in zip(SUGGESTION_KEYS, suggested, strict=False):
            keys[key] = reply
            parts.append(
                Content.assemble(
                    (key.replace("alt+", "⌥"), "bold $accent"), " ", safe_line(reply.title)
                )
            )
        self._reply_keys = keys
        self.query_one("#composer", Composer).reply_keys = frozenset(keys)
        bar.update(
            Content("   ").join([Content.styled(_("Suggested:"), "$text-muted"), *parts])
            if parts
            else ""
        )
        bar.display = bool(parts)

    def action_quick_replies(self) -> None:
        """Open the quick-reply palette."""
        loaded = self.console_app.replies
        if loaded is None:
            self.notify(_("Quick replies are still loading."))
            return
        if self.open_id is None:
            self.notify(_("Open a conversation first."), severity="warning")
            return
        from cs_console.services import replies
        from cs_console.ui.screens.reply_palette import PaletteChoice, ReplyPaletteScreen

        suggested = [r for k, r in self._reply_keys.items() if k in SUGGESTION_KEYS]
        ctx = self.ctx
        uses = replies.use_counts(ctx, agent=ctx.agent_name) if ctx is not None else {}

        def chosen(choice: PaletteChoice | None) -> None:
            self.query_one("#composer", Composer).focus()
            if choice is not None:
                self.insert_reply(
                    choice.reply,
                    send=choice.send,
                    how="palette-send" if choice.send else "palette",
                )

        # Pinyin folding (~0.5 s, tens of MB) waits until someone searches: start it now,
        # while the agent reads the list, so the first "fh" does not pay for it.
        self.run_worker(loaded.index.prepare_pinyin, thread=True, group="pinyin", exclusive=True)
        self.app.push_screen(
            ReplyPaletteScreen(
                loaded.index,
                language=self._language(),
                context=self._reply_context(),
                suggested=suggested,
                uses=uses,
            ),
            chosen,
        )

    def _reply_context(self) -> ReplyContext:
        from cs_console.services import conversations, replies

        ctx = self.ctx
        assert ctx is not None
        info = conversations.info(ctx, self.open_id) if self.open_id else None
        return replies.context_for(
            ctx.settings,
            agent_name=ctx.agent_name,
            info=info,
            order=self.query_one("#orders", OrderPane).selected_order,
            now=self.console_app.clock(),
        )

    def insert_reply(
        self, reply: QuickReply, *, send: bool = False, how: UseKind = "palette"
    ) -> None:
        """Insert a filled reply at the cursor; with ``send``, send it at once (unless a
        spot is still blank). ``how`` is recorded for the usage figures."""
        if self.ctx is None or self.open_id is None:
            return
        if self.query_one("#composer", Composer).mode == NOTE:
            self._ask_reply_into_note(reply, send=send, how=how)
            return
        self._insert_reply_now(reply, send=send, how=how)

    def _insert_reply_now(self, reply: QuickReply, *, send: bool, how: UseKind) -> None:
        ctx, conversation_id = self.ctx, self.open_id
        if ctx is None or conversation_id is None:
            return
        from cs_console.replies.placeholders import fill
        from cs_console.services import replies

        def record() -> None:
            # A thread: a synced write must not hold up the keystroke; and a lost usage
            # count (disk full) is not worth interrupting the agent for.
            with contextlib.suppress(Exception):
                replies.record_use(ctx, reply.id, how, conversation_id=conversation_id)

        self.run_worker(record, thread=True, group="reply-use")

        filled = fill(reply.body, self._reply_context())
        composer = self.query_one("#composer", Composer)
        composer.focus()
        # fill() sanitises the reply and each value piece by piece, so the hole offsets
        # it returns hold for the text as inserted.
        composer.insert_filled(filled.text, filled.holes, filled.landing())
        self._pending_actions.extend(reply.actions)
        if send:
            composer.post_message(Composer.Submitted(composer, composer.text, composer.mode))

    def _ask_reply_into_note(self, reply: QuickReply, *, send: bool, how: UseKind) -> None:
        """Quick replies speak to the customer: one chosen while the composer is on an
        internal note asks where it belongs, rather than go out as a note unseen."""

        def chosen(answer: str | None) -> None:
            composer = self.query_one("#composer", Composer)
            if answer == REPLY and self._switch_mode_now(REPLY):
                self.insert_reply(reply, send=send, how=how)
            elif answer == NOTE:
                self._insert_reply_now(reply, send=False, how=how)
            else:
                composer.focus()

        from cs_console.ui.screens.choice import ChoiceScreen

        self.app.push_screen(
            ChoiceScreen(
                _("“{title}” is written for the customer, but you are writing a note.").format(
                    title=safe_line(reply.title)
                ),
                [
                    (REPLY, _("Switch to a reply and insert it")),
                    (NOTE, _("Insert it into the internal note")),
                ],
            ),
            chosen,
        )

    def _switch_mode_now(self, mode: str) -> bool:
        """Switch reply/note at once (the drafts swapped before the next keystroke);
        False, with the text kept, when the store refuses the draft."""
        composer = self.query_one("#composer", Composer)
        if composer.mode == mode:
            return True
        if self.open_id is not None and not self._write_draft(composer.mode, composer.text):
            return False
        self._remember_mode(mode)
        composer.show_mode(mode)
        self._load_draft()
        return True

    def _remember_mode(self, mode: str) -> None:
        """The open conversation opens in ``mode`` next time it is shown."""
        if self.open_id is None:
            return
        if mode == NOTE:
            self._note_mode.add(self.open_id)
        else:
            self._note_mode.discard(self.open_id)

    @on(Composer.PaletteRequested)
    def _palette_requested(self) -> None:
        self.action_quick_replies()

    @on(Composer.ReplyKey)
    def _reply_key(self, message: Composer.ReplyKey) -> None:
        reply = self._reply_keys.get(message.key)
        if reply is not None:
            suggested = message.key in SUGGESTION_KEYS
            self.insert_reply(reply, how="suggestion" if suggested else "hotkey")

    # --- cases and remarks -------------------------------------------------------

    def action_log_case(self) -> None:
        """Open the case form for this conversation, pre-filled."""
        target, ctx = self._target(), self.ctx
        if not (target and ctx):
            return
        from cs_console.services import cases, conversations

        pane = self.query_one("#orders", OrderPane)
        info = conversations.info(ctx, target)
        draft = cases.draft_for(
            ctx,
            conversation_id=target,
            customer_id=info.customer_id if info else None,
            order=pane.selected_order,
            messages=self.query_one("#thread", ThreadView).messages,
        )
        self._edit_case(draft)

    def _edit_case(self, draft: Any) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        from cs_console.services import cases, orders

        customer_orders = orders.for_customer(ctx, draft.customer_id) if draft.customer_id else []
        choices = [
            (o.order_id, f"{o.number} · {order_status_label(o.status)}") for o in customer_orders
        ]

        def saved(result: Any) -> None:
            if result is None:
                return
            try:
                outcome = cases.save(ctx, result)
            except Exception as exc:
                self.notify(
                    _("Case not saved: {error}").format(error=exc), severity="error", markup=False
                )
                return
            if outcome.needs_approval:
                self.notify(
                    _(
                        "Refund and compensation are over your limit on this order: the case "
                        "waits for a supervisor's approval."
                    ),
                    severity="warning",
                    timeout=8,
                )
            else:
                self.notify(_("Case saved."))
                self._offer_refund(result, customer_orders, outcome.case_id)
            self.console_app.kick_sync()

        from cs_console.ui.screens.case_form import CaseFormScreen

        self.app.push_screen(
            CaseFormScreen(
                draft,
                orders=choices,
                today=self.console_app.clock().astimezone().date(),
                limit_minor=cases.authority_limit_minor(ctx),
            ),
            saved,
        )

    def action_add_remark(self) -> None:
        """Flag the selected order with a remark."""
        ctx = self.ctx
        order = self.query_one("#orders", OrderPane).selected_order
        if ctx is None or order is None:
            self.notify(_("Select an order first."), severity="warning")
            return
        from cs_console.domain import DEFAULT_FLAG_MEANINGS, FlagColour
        from cs_console.services import orders

        meanings = dict(ctx.settings.flag_meanings or DEFAULT_FLAG_MEANINGS)
        # The seeds' convention: purple for a change to an unshipped order, blue once shipped.
        suggested = FlagColour.BLUE if order.shipped_at else FlagColour.PURPLE

        def chosen(result: tuple[FlagColour, str] | None) -> None:
            if result is None:
                return
            flag, text = result
            try:
                orders.add_remark(ctx, order.order_id, flag, text)
            except Exception as exc:
                self.notify(
                    _("Remark not saved: {error}").format(error=exc),
                    severity="error",
                    markup=False,
                )
                return
            self.notify(_("Remark added."))
            self.console_app.kick_sync()
            if self.open_id is not None:
                self.show_conversation(self.open_id, keep_position=True)

        from cs_console.ui.screens.remark_form import RemarkFormScreen

        self.app.push_screen(RemarkFormScreen(order.number, meanings, suggested=suggested), chosen)

    def action_cases(self) -> None:
        """The register and today's follow-ups."""
        ctx = self.ctx
        if ctx is None:
            return
        from cs_console.services import cases, orders

        def chosen(target: OpenTarget | None) -> None:
            if target is None:
                return
            if target.case is not None:
                self._edit_case(cases.from_row(target.case))
            elif target.customer_id is not None:
                conversation = orders.conversation_of_customer(ctx, target.customer_id)
                if conversation is None:
                    self.notify(_("No conversation with this customer yet."))
                    return
                self.reload_queue(jump_to=conversation)
                self.show_conversation(conversation)

        from cs_console.ui.screens.cases import CasesScreen

        self.app.push_screen(
            CasesScreen(ctx, now=self.console_app.clock, on_change=self.console_app.kick_sync),
            chosen,
        )

    # --- shift handover --------------------------------------------------------------

    def _show_shift_start(self) -> None:
        """After the first sync: the previous shift's note, if this console has not shown it."""
        ctx = self.ctx
        if ctx is None:
            return
        from cs_console.services import shift
        from cs_console.ui.screens.handover import HandoverScreen, when

        handover = shift.unseen_handover(ctx)
        if handover is None:
            return
        shift.mark_seen(ctx, handover)
        items = shift.open_items(ctx, self.console_app.clock())
        self.app.push_screen(
            HandoverScreen(
                ending=False,
                previous=(handover.author, when(handover.created_at), handover.note),
                open_lines=items.lines(),
            )
        )

    def action_end_shift(self) -> None:
        """List what is open and ask for the handover note."""
        ctx = self.ctx
        if ctx is None:
            return
        from cs_console.services import shift
        from cs_console.ui.screens.handover import HandoverScreen

        items = shift.open_items(ctx, self.console_app.clock())
        started = self.query_one("#status", StatusBar).shift_started

        def done(note: str | None) -> None:
            if note is None:
                return
            try:
                shift.hand_over(ctx, shift_started_at=started, note=note)
            except Exception as exc:
                self.notify(
                    _("Handover not saved: {error}").format(error=exc),
                    severity="error",
                    markup=False,
                )
                return
            self.notify(_("Handed over. The next shift sees your note when they start."))
            self.console_app.kick_sync()

        self.app.push_screen(
            HandoverScreen(ending=True, previous=None, open_lines=items.lines()), done
        )

    def action_focus_pane(self, pane: str) -> None:
        """Focus the queue, thread or composer of this screen. (Textual's ``app.focus``
        looks the id up from the app, which does not reach a pushed screen's widgets.)"""
        self.query_one(f"#{pane}").focus()

    def action_focus_orders(self) -> None:
        """Go to the orders; in a narrow terminal they take the queue's place until
        F6 is pressed again (or Escape goes back to the queue)."""
        if self.has_class("-narrow"):
            showing = not self.has_class("-show-orders")
            self.set_class(showing, "-show-orders")
            if not showing:
                self.query_one("#queue", QueueList).focus()
                return
        self.query_one("#order-list").focus()

    def action_figures(self) -> None:
        """This shift's figures (a supervisor sees everyone's) and the week's cases."""
        ctx = self.ctx
        if ctx is None:
            return
        from cs_console.ui.screens.shift_report import ShiftReportScreen

        self.app.push_screen(
            ShiftReportScreen(
                ctx, self.console_app.clock(), target_s=ctx.settings.response_target_minutes * 60
            )
        )

    def _offer_refund(self, draft: Any, customer_orders: list[Any], case_id: str) -> None:
        """A case settled by a refund: offer to make it in the order system now."""
        from cs_console.domain import Resolution

        ctx = self.ctx
        order = next((o for o in customer_orders if o.order_id == draft.order_id), None)
        if (
            ctx is None
            or order is None
            or draft.resolution not in (Resolution.REFUND, Resolution.RETURN_AND_REFUND)
            or draft.refund_minor <= 0
        ):
            return
        unable = self._missing("refunds")
        if unable is not None:
            self.notify(
                _("Refund it in the shop's own system: {why}").format(why=safe_line(unable)),
                markup=False,
            )
            return
        from cs_console.services import orders
        from cs_console.ui.screens.choice import ChoiceScreen
        from cs_console.ui.text import money

        amount = money(draft.refund_minor, order.currency)

        def chosen(answer: str | None) -> None:
            if answer != "refund":
                return
            try:
                orders.refund(
                    ctx,
                    order,
                    draft.refund_minor,
                    _("refund for case {case}").format(case=case_id),
                    case_id=case_id,
                )
            except orders.RefundError as exc:
                self.notify(str(exc), severity="warning", markup=False)
                return
            except Exception as exc:  # the store refused (disk full, locked)
                self.notify(
                    _("Refund not queued: {error}").format(error=exc),
                    severity="error",
                    markup=False,
                )
                return
            self.notify(
                _("Refund of {amount} queued; it shows in the timeline once made.").format(
                    amount=amount
                )
            )
            self.console_app.kick_sync()

        title = _("Refund {amount} on order {number} now?").format(
            amount=amount, number=safe_line(order.number)
        )
        self.app.push_screen(
            ChoiceScreen(title, [("refund", _("Refund now")), ("later", _("Not now"))]),
            chosen,
        )

    def action_link_customer(self) -> None:
        """Link this chat's customer to their record in the order system, by hand."""
        ctx, conversation_id = self.ctx, self.open_id
        if ctx is None or conversation_id is None:
            self.notify(_("Open a conversation first."), severity="warning")
            return
        from cs_console.services import conversations, customers
        from cs_console.ui.screens.link_customer import LinkCustomerScreen

        info = conversations.info(ctx, conversation_id)
        if info is None:
            return
        customer_id = info.customer_id

        def chosen(other_id: str | None) -> None:
            if other_id is None:
                return
            try:
                customers.link(ctx, customer_id, other_id)
            except customers.LinkError as exc:
                self.notify(str(exc), severity="warning", markup=False)
                return
            except Exception as exc:  # the store refused (disk full, locked)
                self.notify(
                    _("Not linked: {error}").format(error=exc), severity="error", markup=False
                )
                return
            self.notify(_("Linked: their orders now show here."))
            self.show_conversation(conversation_id, keep_position=True)

        self.app.push_screen(
            LinkCustomerScreen(
                info.customer_name,
                customers.same_person(ctx, customer_id),
                lambda text: customers.find(ctx, text),
            ),
            chosen,
        )
