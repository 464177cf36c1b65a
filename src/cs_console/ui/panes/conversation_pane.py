"""The conversation pane: the thread, the suggested replies and the composer; drafts,
reply or note, send, undo and retry.

Each conversation keeps a draft per mode (reply, note), saved as the agent types. A
conversation opens as a reply unless the agent switched that one to a note, so a note
mode left on never carries a customer's answer into the next chat.

Above the thread, one line says who the customer is, whether they are typing, and where
they write from (with an email's subject); above the composer of an email conversation,
one line says where a reply will go and under what subject, as the server will send it.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static, TextArea

from cs_console.domain import DeliveryState
from cs_console.i18n import N_, _, ngettext
from cs_console.mail_subject import reply_subject
from cs_console.ui.panes.base import CaseWanted, Desk, OpenConversation, Pane, QueueStale
from cs_console.ui.panes.quick_replies import QuickReplies
from cs_console.ui.text import safe_line, status_label
from cs_console.ui.widgets.composer import HOLE, NOTE, REPLY, Composer
from cs_console.ui.widgets.reply_to import ReplyTo
from cs_console.ui.widgets.thread_view import ThreadView
from cs_console.views import APP, EMAIL, WEB, channel_kind

# Services are imported where they are used: they load SQLAlchemy, which the first frame
# does not wait for; so are the dialogs.

if TYPE_CHECKING:
    from cs_console.services.conversations import Queued
    from cs_console.views import ConversationInfo

# A page of the thread: enough to fill a tall terminal; older ones load on scrolling up.
THREAD_PAGE = 60

#: "typing…" shows this long after the customer was last seen typing. The server tells
#: at most every 3 s while they type, so it stays on while they go on and goes soon
#: after they stop (or send).
TYPING_SHOWN_S = 6.0

_CHANNEL_LABELS = {WEB: N_("Web chat"), EMAIL: N_("Email"), APP: N_("App")}


def channel_label(channel: str) -> str:
    """Where a customer writes from, in words: translated for the channels the console
    knows, else as the backend names it (made safe: a backend wrote it)."""
    known = _CHANNEL_LABELS.get(channel_kind(channel))
    return _(known) if known is not None else safe_line(channel)


class ConversationPane(Pane):
    """The middle of the workspace."""

    CSS_FILE = Path(__file__).with_suffix(".tcss")

    def __init__(self, desk: Desk, *, id: str | None = None) -> None:
        super().__init__(desk, id=id)
        #: The last reply queued, for Ctrl+R.
        self.last_queued: Queued | None = None
        self.replies = QuickReplies(self, switch_mode=self.switch_mode_now)
        self._draft_timer: Timer | None = None
        self._draft_as_loaded = ""
        self._loading_draft = False
        #: Conversations the agent switched to note.
        self._note_mode: set[str] = set()
        #: Where the file picker opens: the folder of the last file sent.
        self._last_folder: Path | None = None
        #: The open conversation's header, as last read (the header lines are drawn
        #: from it again when "typing…" runs out or the mode changes).
        self._info: ConversationInfo | None = None
        self._typing_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        # The header line inside the thread's frame, so the panes' tops stay level.
        with Vertical(id="thread-box"):
            yield Static(id="thread-header")
            yield ThreadView(id="thread")
        yield Static(id="suggestions")
        yield ReplyTo(id="reply-to")
        yield Composer(id="composer", enter_sends=self.desk.console.settings.ui.enter_sends)

    def on_mount(self) -> None:
        # Border titles are markup: translations must not be read as tags.
        self.thread_box.border_title = Content(_("Conversation"))
        self.composer.border_title = Content(_("Reply"))
        self.composer.disabled = True
        # Every way the mode changes (Ctrl+N, a quick reply, another conversation, an
        # undo) ends in the composer's reactive: the reply-to line follows it there.
        self.watch(self.composer, "mode", self._show_reply_to, init=False)

    @property
    def thread_box(self) -> Vertical:
        """The frame around the header line and the thread (it carries their titles)."""
        return self.query_one("#thread-box", Vertical)

    @property
    def thread(self) -> ThreadView:
        """The thread widget."""
        return self.query_one("#thread", ThreadView)

    @property
    def composer(self) -> Composer:
        """The composer widget."""
        return self.query_one("#composer", Composer)

    @property
    def is_typing(self) -> bool:
        """Whether the composer holds text (what arrives meanwhile is not "seen")."""
        return bool(self.composer.text.strip())

    def show(
        self,
        conversation_id: str,
        info: ConversationInfo | None,
        *,
        keep_position: bool = False,
        mark_seen: bool = True,
    ) -> None:
        """Show a conversation's thread and its draft; it is the open one from now on."""
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import conversations

        composer = self.composer
        if conversation_id != self.desk.open_id:
            self.save_draft()
            self.desk.open_id = conversation_id
            self.replies.pending_actions.clear()
            keep_position = False
            composer.disabled = info is None
            composer.show_mode(NOTE if conversation_id in self._note_mode else REPLY)
            self._load_draft()
        self._info = info
        self._show_header()
        self._show_reply_to()
        rows = conversations.messages(ctx, conversation_id, THREAD_PAGE)
        thread = self.thread
        thread.show(rows, has_older=len(rows) == THREAD_PAGE, keep_position=keep_position)
        if info is not None:
            box = self.thread_box
            box.border_title = Content(
                _("Conversation · {status}").format(status=status_label(info.status))
            )
            # Border titles are parsed as markup: backend text goes in as Content.
            box.border_subtitle = Content(
                _("assigned to {agent}").format(agent=safe_line(info.assignee))
                if info.assignee
                else _("unassigned")
            )
        if rows and mark_seen:
            conversations.mark_seen(ctx, conversation_id, max(r.seq for r in rows))

    # --- the header lines ----------------------------------------------------------------

    def _show_header(self) -> None:
        """Who the customer is, "typing…" while they are, the channel and an email's
        subject; when "typing…" is shown, a timer takes it away unless news comes first."""
        header = self.query_one("#thread-header", Static)
        if self._typing_timer is not None:
            self._typing_timer.stop()
            self._typing_timer = None
        info = self._info
        if info is None:
            header.display = False
            return
        typing_left = 0.0
        if info.customer_typing_at is not None:
            seen_ago = (self.desk.console.clock() - info.customer_typing_at).total_seconds()
            # A server clock ahead of ours must not keep it on for longer than the window.
            typing_left = min(TYPING_SHOWN_S - seen_ago, TYPING_SHOWN_S)
        # Customer and backend text goes in as plain parts of Content: never markup.
        parts: list[str | tuple[str, str]] = [(safe_line(info.customer_name), "bold")]
        if typing_left > 0:
            parts += [" ", (_("typing…"), "italic $accent")]
        parts += ["  ·  ", (channel_label(info.channel), "$secondary")]
        if info.is_email and info.subject:
            parts += ["  ·  ", safe_line(info.subject)]
        header.update(Content.assemble(*parts))
        header.display = True
        if typing_left > 0:
            self._typing_timer = self.set_timer(typing_left, self._show_header)

    def _show_reply_to(self) -> None:
        """Above an email conversation's composer: where a reply goes and its subject;
        in note mode, that a note is never sent; without an address, that it cannot go."""
        line = self.query_one("#reply-to", ReplyTo)
        info = self._info
        if info is None or not info.is_email:
            line.display = False
            return
        from cs_console.services import conversations

        note = self.composer.mode == NOTE
        refused = None if note else conversations.cannot_reply(info)
        line.set_class(note, "-note")
        line.set_class(refused is not None, "-warning")
        if note:
            line.show_parts(Content(_("internal note: never sent")))
        elif refused is not None:
            line.show_parts(Content(_(refused)))
        else:
            name = safe_line(info.customer_name)
            address = safe_line(info.customer_email)
            recipient = f"{name} <{address}>" if name else address
            to = Content.assemble((_("To:") + " ", "$foreground-muted"), recipient)
            if info.subject is None:
                # A backend that keeps no subject (Chatwoot's email inboxes) picks its own.
                line.show_parts(to)
            else:
                subject = safe_line(reply_subject(info.subject, info.conversation_id))
                line.show_parts(
                    to, Content.assemble((_("Subject:") + " ", "$foreground-muted"), subject)
                )
        line.display = True

    def _refused_reply(self, note: bool) -> str | None:
        """Why a reply to the open conversation cannot go (translated); None if it can."""
        info = self._info
        if note or info is None or info.conversation_id != self.desk.open_id:
            return None
        from cs_console.services import conversations

        refused = conversations.cannot_reply(info)
        return None if refused is None else _(refused)

    async def mark_read(self, conversation_id: str) -> None:
        """The agent opened the conversation: its unread count goes (on the backend too)."""
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import conversations

        written = await self.desk.write(
            self,
            lambda: conversations.mark_read(ctx, conversation_id),
            name=_("Open"),
            failed=lambda error: _("Not marked as read: {error}").format(error=error),
        )
        if written is not None and written.value is not None:
            self.desk.console.kick_sync()

    @on(ThreadView.NeedOlder)
    def _older(self, message: ThreadView.NeedOlder) -> None:
        ctx, open_id = self.desk.ctx, self.desk.open_id
        if ctx is None or open_id is None:
            return
        from cs_console.services import conversations

        older = conversations.messages(ctx, open_id, THREAD_PAGE, before_seq=message.before_seq)
        self.thread.prepend(older, has_older=len(older) == THREAD_PAGE)

    # --- drafts and modes ----------------------------------------------------------------

    def save_draft(self) -> None:
        """Save the composer's text now (on quit, on switching conversation)."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        composer = self.composer
        if composer.text == self._draft_as_loaded:
            return  # unchanged: spare the disk a synced write on every cursor move
        if self._write_draft(composer.mode, composer.text):
            self._draft_as_loaded = composer.text

    def _load_draft(self) -> None:
        composer = self.composer
        text = ""
        if self.desk.ctx is not None and self.desk.open_id is not None:
            from cs_console.services import conversations

            text = conversations.draft(self.desk.ctx, self.desk.open_id, composer.mode)
        self._draft_as_loaded = text
        self._show_text(text)
        composer.move_cursor(composer.document.end)

    def _show_text(self, text: str) -> None:
        """Put ``text`` in the composer without taking it for typing (no autosave)."""
        self._loading_draft = True
        self.composer.load_text(text)
        self._loading_draft = False

    def _write_draft(self, mode: str, text: str) -> bool:
        """Save the open conversation's draft for ``mode``; False (and said) when the
        store refuses it (disk full, read-only): the caller keeps the text on screen.
        On the UI thread, unlike other writes: a draft must be saved before quitting."""
        ctx, open_id = self.desk.ctx, self.desk.open_id
        if ctx is None or open_id is None:
            return False
        from cs_console.services import conversations
        from cs_console.services.context import StoreError

        try:
            conversations.save_draft(ctx, open_id, mode, text)
        except StoreError as exc:
            self.notify(
                _("Draft not saved: {error}").format(error=exc), severity="error", markup=False
            )
            return False
        return True

    @on(TextArea.Changed, "#composer")
    def _composer_changed(self) -> None:
        if not self.composer.text.strip():
            self.replies.pending_actions.clear()  # the replies they came with are gone
        if self._loading_draft:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(0.4, self.save_draft)

    @on(Composer.ModeChanged)
    def _mode_changed(self, message: Composer.ModeChanged) -> None:
        self._remember_mode(message.new)
        # Not saved (disk full): keep the text in the composer rather than load the other
        # mode's draft over it.
        open_draft = self.desk.ctx is not None and self.desk.open_id is not None
        if open_draft and not self._write_draft(message.old, message.composer.text):
            return
        self._load_draft()

    def switch_mode_now(self, mode: str) -> bool:
        """Switch reply/note at once (the drafts swapped before the next keystroke);
        False, with the text kept, when the store refuses the draft."""
        composer = self.composer
        if composer.mode == mode:
            return True
        if self.desk.open_id is not None and not self._write_draft(composer.mode, composer.text):
            return False
        self._remember_mode(mode)
        composer.show_mode(mode)
        self._load_draft()
        return True

    def _remember_mode(self, mode: str) -> None:
        """The open conversation opens in ``mode`` next time it is shown."""
        if self.desk.open_id is None:
            return
        if mode == NOTE:
            self._note_mode.add(self.desk.open_id)
        else:
            self._note_mode.discard(self.desk.open_id)

    @on(Composer.Left)
    def _composer_left(self) -> None:
        self.save_draft()  # the workspace gives the focus back to the queue

    @on(Composer.PaletteRequested)
    def _palette_requested(self) -> None:
        self.replies.open_palette()

    @on(Composer.ReplyKey)
    def _reply_key(self, message: Composer.ReplyKey) -> None:
        self.replies.pressed(message.key)

    # --- attachments ---------------------------------------------------------------------

    @on(Composer.AttachRequested)
    def _attach_requested(self) -> None:
        desk = self.desk
        if desk.ctx is None or desk.open_id is None:
            return
        unable = (
            desk.missing("attachments")
            or desk.missing("send_messages")
            or self._refused_reply(self.composer.mode == NOTE)
        )
        if unable is not None:
            self.notify(
                _("Not sent: {error}").format(error=unable), severity="warning", markup=False
            )
            return
        from cs_console.ui.screens.file_picker import FilePickerScreen  # a dialog

        conversation_id = desk.open_id

        async def picked(path: Path | None) -> None:
            if path is not None:
                await self.send_file(conversation_id, path)
            self.composer.focus()

        start = self._last_folder or Path.home()
        self.app.push_screen(FilePickerScreen(start), picked)

    async def send_file(self, conversation_id: str, path: Path) -> None:
        """Queue the file at ``path`` for the conversation, as a reply (or a note, in
        note mode); it shows as queued, and Ctrl+R takes it back like a reply."""
        desk = self.desk
        ctx = desk.ctx
        if ctx is None:
            return
        from cs_console.services import attachments, conversations

        note = self.composer.mode == NOTE
        self._last_folder = path.parent
        written = await desk.write(
            self,
            lambda: attachments.attach(ctx, conversation_id, path, note=note),
            name=_("Attach"),
            failed=lambda error: _("Not sent: {error}").format(error=error),
            refusals=(conversations.ActionError,),
        )
        if written is None:
            return
        self.last_queued = written.value
        self._queued(
            conversation_id, note, _("File queued; Ctrl+R takes it back within {seconds:g} s")
        )

    @on(ThreadView.OpenAttachment)
    async def _open_attachment(self, message: ThreadView.OpenAttachment) -> None:
        desk = self.desk
        ctx = desk.ctx
        if ctx is None:
            return
        from cs_console.services import attachments, conversations

        attachment = message.attachment
        session = desk.console.session

        def fetch() -> attachments.Opened:
            try:
                backend = session.backend()
            except Exception:  # no backend configured: a copy here may still open
                return attachments.open_attachment(ctx, None, attachment)
            try:
                return attachments.open_attachment(ctx, backend, attachment)
            finally:
                backend.close()

        written = await desk.write(
            self,
            fetch,
            name=_("Open file"),
            failed=lambda error: _("Not opened: {error}").format(error=error),
            refusals=(conversations.ActionError,),
        )
        if written is None:
            return
        opened = written.value
        path = str(Path(opened.path).resolve()) if opened.path else None
        if not attachments.is_remote_session() and attachments.system_open(
            path or opened.url or ""
        ):
            self.notify(
                _("Opening {name}").format(name=safe_line(attachment.file_name)), markup=False
            )
            return
        # No viewer here (a remote session): say where it is instead, as plain text.
        where = [w for w in (path, opened.url) if w]
        self.notify(
            _("Open it from: {where}").format(where=safe_line("  ·  ".join(where))),
            timeout=30,
            markup=False,
        )

    # --- sending -------------------------------------------------------------------------

    @on(Composer.Submitted)
    async def _submitted(self) -> None:
        # What the composer holds now, not when the key was pressed: a second Enter
        # during the first one's write must not send the text twice.
        composer = self.composer
        await self.send(composer.text, note=composer.mode == NOTE, force=False)

    async def send(self, text: str, *, note: bool, force: bool) -> None:
        """Queue ``text`` as a reply or note to the open conversation; with ``force``,
        even though something arrived that the agent has not seen."""
        desk = self.desk
        ctx, conversation_id = desk.ctx, desk.open_id
        if ctx is None or conversation_id is None:
            return
        from cs_console.services import conversations

        unable = desk.missing("internal_notes" if note else "send_messages")
        if unable is not None:
            self.notify(
                _("Not sent, your text is kept: {error}").format(error=unable),
                severity="warning",
                markup=False,
            )
            return
        refused = self._refused_reply(note)
        if refused is not None:
            self.notify(
                _("Not sent, your text is kept: {error}").format(error=refused),
                severity="warning",
                markup=False,
            )
            return
        blank = HOLE.search(text)
        if blank is not None:
            self.composer.select_next_hole()
            self.notify(
                _("Fill {blank} first (Tab jumps to it).").format(blank=blank.group(0)),
                severity="warning",
                markup=False,
            )
            return
        from cs_console.services.context import StoreError

        order = desk.selected_order()
        actions = () if note else tuple(self.replies.pending_actions)
        written = await desk.write(
            self,
            lambda: conversations.send(
                ctx,
                conversation_id,
                text,
                note=note,
                force=force,
                actions=actions,
                order_id=order.order_id if order else None,
            ),
            name=_("Reply"),
            failed=lambda error: _("Not sent, your text is kept: {error}").format(error=error),
            refusals=(conversations.ActionError,),
        )
        if written is None:
            return
        outcome = written.value
        if isinstance(outcome, conversations.NewActivity):
            self.post_message(OpenConversation(conversation_id, keep_position=True))
            from cs_console.ui.screens.new_activity import NewActivityScreen  # a dialog

            async def decided(send_anyway: bool | None) -> None:
                if send_anyway:
                    await self.send(text, note=note, force=True)
                else:
                    self.composer.focus()

            self.app.push_screen(NewActivityScreen(outcome.messages), decided)
            return
        mode = NOTE if note else REPLY
        if desk.open_id == conversation_id:
            # Keep what was typed after the text while it was being written.
            typed = self.composer.text
            self._show_text(typed[len(text) :] if typed.startswith(text) else typed)
        elif conversations.draft(ctx, conversation_id, mode) == text:
            # The agent moved on while it was written, and leaving saved it as a draft:
            # clear it (if the disk refuses, the draft is only shown again).
            with suppress(StoreError):
                conversations.save_draft(ctx, conversation_id, mode, "")
        self.last_queued = outcome
        self.replies.pending_actions.clear()
        if outcome.open_case is not None:
            self.post_message(CaseWanted(outcome.open_case))
        self._queued(
            conversation_id, note, _("Reply queued; Ctrl+R takes it back within {seconds:g} s")
        )

    def _queued(self, conversation_id: str, note: bool, undo_told: str) -> None:
        """A reply or file is queued: within the undo window it waits (and says how to
        take it back) before the sync sends it; a note, or no window, goes at once."""
        console = self.desk.console
        undo = console.settings.shift.undo_seconds
        if not note and undo > 0:
            self.notify(undo_told.format(seconds=undo), timeout=undo)
            self.set_timer(undo + 0.05, console.kick_sync)
        else:
            console.kick_sync()
        self.post_message(OpenConversation(conversation_id))
        self.post_message(QueueStale())

    async def undo_send(self) -> None:
        """Take the last reply back while it is still queued; its text comes back."""
        desk = self.desk
        await desk.settled()  # a reply still being written is the one to take back
        queued, ctx = self.last_queued, desk.ctx
        if queued is None or ctx is None:
            self.notify(_("Nothing to take back."), severity="warning")
            return
        from cs_console.services import conversations

        self.save_draft()  # what was typed since must survive the undo
        label = _("Undo send")
        written = await desk.write(
            self,
            lambda: conversations.undo(ctx, queued),
            name=label,
            failed=lambda error: _("{action} failed: {error}").format(action=label, error=error),
        )
        if written is None:
            return
        if not written.value:
            self.notify(_("Too late: it has already gone."), severity="warning")
            return
        self.last_queued = None
        conversation_id = queued.entry.conversation_id
        if conversation_id == desk.open_id:
            composer = self.composer
            composer.mode = NOTE if queued.note else REPLY
            self._load_draft()
            composer.focus()
        if conversation_id is not None:
            self.post_message(OpenConversation(conversation_id))
        self.post_message(QueueStale())
        self.notify(_("Taken back; the text is in the composer again."))

    async def retry_failed(self) -> None:
        """Send this conversation's failed messages again."""
        ctx, open_id = self.desk.ctx, self.desk.open_id
        if ctx is None or open_id is None:
            return
        from cs_console.services import conversations

        failed = [m for m in self.thread.messages if m.delivery is DeliveryState.FAILED]
        if not failed:
            self.notify(_("No failed message in this conversation."))
            return
        written = await self.desk.write(
            self,
            lambda: sum(conversations.retry(ctx, m.message_id) for m in failed),
            name=_("Retry failed"),
            failed=lambda error: _("Not retried: {error}").format(error=error),
        )
        if written is None:
            return
        retried = written.value
        self.notify(
            ngettext("Retrying {count} message.", "Retrying {count} messages.", retried).format(
                count=retried
            )
        )
        self.desk.console.kick_sync()
        self.post_message(OpenConversation(open_id, keep_position=True))
