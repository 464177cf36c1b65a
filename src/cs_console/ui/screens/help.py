"""The help screen: every key of the action table (``ui/actions.py``), by area, in
words, as ``[keymap]`` remapped it; then the quick replies' Alt keys with their titles.
No binding ids: those are for ``[keymap]``, and ``cs-console keys`` lists them."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from cs_console.i18n import N_, _
from cs_console.ui.keys import KeySection, applied_keymap, key_sections
from cs_console.ui.panes.conversation_pane import ConversationPane

CLOSE = N_("Press Escape to close.")


def section_content(section: KeySection) -> Content:
    """One area of F1: its title, then each key and what it does, the words aligned.

    Built as Content, never markup: reply titles come from the shop.
    """
    keys_width = max((cell_len(row.keys) for row in section.rows), default=0)
    lines = [Content.styled(section.title, "bold $accent")]
    for row in section.rows:
        keys = row.keys + " " * (keys_width - cell_len(row.keys))
        line = Content.assemble("  ", (keys, "bold $text-accent"), "  ", row.what)
        if row.detail:
            line = Content.assemble(line, ("  " + row.detail, "$text-muted"))
        lines.append(line)
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """Press Escape or F1 to close."""

    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,f1,q", "close", N_("Close"), id="help.close")]

    #: Two columns of areas from 120 cells up.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def compose(self) -> ComposeResult:
        note: str = getattr(self.app, "composer_keys_note", "")
        sections = key_sections(applied_keymap(self.app), note, self.reply_keys())
        with VerticalScroll(id="help-body"):
            yield Static(Content.styled(_("Keys"), "bold"), classes="help-title")
            with Grid(id="help-areas"):
                for section in sections:
                    yield Static(section_content(section), classes="help-area")
            yield Static(Content.styled(_(CLOSE), "$text-muted"), classes="help-close")

    def reply_keys(self) -> list[tuple[str, str]]:
        """(key, title) of the quick-reply keys of the workspace under this screen."""
        for screen in reversed(self.app.screen_stack):
            for pane in screen.query(ConversationPane):
                listed: list[tuple[str, str]] = pane.replies.listed()
                return listed
        return []

    def action_close(self) -> None:
        self.dismiss(None)
