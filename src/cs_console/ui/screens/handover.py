"""Shift start and end: the last handover note and what is open; at the end, a note.

Starting: shows the previous shift's note and the open items; Enter or Escape closes.
Ending: lists what is still open and asks for the note; Ctrl+S hands over.

The workspace loads this module after the first sync (the shift start) or on F10, so
the services it imports are never on the way to the first frame.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static, TextArea

from cs_console.i18n import N_, _
from cs_console.services import shift
from cs_console.ui.text import local_time, safe, safe_line

if TYPE_CHECKING:
    from cs_console.ui.panes.base import Desk


class HandoverScreen(ModalScreen[str | None]):
    """Returns the note when ending a shift (None: cancelled, or just read)."""

    CSS_PATH = "handover.tcss"
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="handover.close"),
        Binding("ctrl+s", "hand_over", N_("Hand over"), priority=True, id="handover.save"),
    ]

    def __init__(
        self,
        *,
        ending: bool,
        previous: tuple[str, str, str] | None,
        open_lines: list[str],
    ) -> None:
        """``previous`` is (author, when, note) of the last handover."""
        super().__init__()
        self.ending = ending
        self.previous = previous
        self.open_lines = open_lines

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            title = _("End of shift: hand over") if self.ending else _("Start of shift")
            yield Static(Content.styled(title, "bold"), id="title")
            if self.previous is not None:
                author, when, note = self.previous
                yield Static(
                    Content.assemble(
                        (
                            _("Last handover, by {author} at {when}:").format(
                                author=safe_line(author), when=when
                            ),
                            "bold $accent",
                        ),
                        "\n",
                        safe(note),
                    ),
                    id="previous",
                )
            elif not self.ending:
                yield Static(
                    Content.styled(_("No handover note from the last shift."), "$text-muted")
                )
            yield Static(
                Content("\n").join(
                    [Content.styled(_("Still open:"), "bold")]
                    + [Content("• " + safe_line(line)) for line in self.open_lines]
                ),
                id="open",
            )
            if self.ending:
                yield TextArea(id="note", soft_wrap=True, tab_behavior="focus")
                yield Static(
                    Content.styled(
                        _("What did you do, what is pending? Ctrl+S hands over · Esc cancels"),
                        "$text-muted",
                    )
                )
            else:
                yield Static(Content.styled(_("Esc closes"), "$text-muted"))

    def on_mount(self) -> None:
        if self.ending:
            self.query_one("#note", TextArea).focus()

    def action_hand_over(self) -> None:
        if not self.ending:
            self.dismiss(None)
            return
        note = self.query_one("#note", TextArea).text.strip()
        if not note:
            self.notify(_("Write what the next shift needs to know."), severity="warning")
            return
        self.dismiss(note)

    def action_close(self) -> None:
        self.dismiss(None)


def when(value: object) -> str:
    """A handover time for the header."""
    return local_time(value) if isinstance(value, datetime) else ""


def show_shift_start(desk: Desk, node: Widget) -> None:
    """After the first sync: the previous shift's note, if this console has not shown it."""
    ctx = desk.ctx
    if ctx is None:
        return
    handover = shift.unseen_handover(ctx)
    if handover is None:
        return
    shift.mark_seen(ctx, handover)
    items = shift.open_items(ctx, desk.console.clock())
    node.app.push_screen(
        HandoverScreen(
            ending=False,
            previous=(handover.author, when(handover.created_at), handover.note),
            open_lines=items.lines(),
        )
    )


def end_shift(desk: Desk, node: Widget, *, started: datetime) -> None:
    """List what is open and ask for the handover note; hand over what the agent writes."""
    ctx = desk.ctx
    if ctx is None:
        return
    items = shift.open_items(ctx, desk.console.clock())

    async def done(note: str | None) -> None:
        if note is None:
            return
        written = await desk.write(
            node,
            lambda: shift.hand_over(ctx, shift_started_at=started, note=note),
            name=_("Hand over"),
            failed=lambda error: _("Handover not saved: {error}").format(error=error),
            refusals=(ValueError,),  # a handover needs a note
        )
        if written is None:
            return
        node.notify(_("Handed over. The next shift sees your note when they start."))
        desk.console.kick_sync()

    node.app.push_screen(HandoverScreen(ending=True, previous=None, open_lines=items.lines()), done)
