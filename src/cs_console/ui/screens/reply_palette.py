"""The quick-reply palette: fuzzy search (pinyin and typos included) with a preview of
the reply filled from the open conversation. Enter inserts, Ctrl+S inserts and sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cs_console.i18n import N_, _
from cs_console.replies.placeholders import fill
from cs_console.sanitize import sanitize
from cs_console.services.replies import rank_by_use
from cs_console.ui.text import safe_line

if TYPE_CHECKING:
    from cs_console.replies.library import QuickReply
    from cs_console.replies.placeholders import FilledReply, ReplyContext
    from cs_console.replies.search import ReplyIndex

SHOWN = 50

_ACTION_WORDS = {
    "set_status": N_("set status"),
    "add_remark": N_("flag the order"),
    "open_case": N_("open a case"),
    "transfer": N_("transfer to"),
}


@dataclass(frozen=True, slots=True)
class PaletteChoice:
    """The reply picked, and whether to send it at once."""

    reply: QuickReply
    send: bool


def describe_actions(reply: QuickReply) -> str:
    """What sending the reply will also do, in words."""
    parts = []
    for action in reply.actions:
        detail = ", ".join(f"{v}" for k, v in action.params.items() if k != "text")
        words = _(_ACTION_WORDS[action.kind]) if action.kind in _ACTION_WORDS else action.kind
        parts.append(f"{words} {detail}".strip())
    return "; ".join(parts)


class ReplyPaletteScreen(ModalScreen[PaletteChoice | None]):
    """Type to search; ↑/↓ pick; Enter inserts; Ctrl+S inserts and sends; Esc closes."""

    CSS_PATH = "reply_palette.tcss"
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="palette.close"),
        Binding("down", "move(1)", N_("Next"), show=False, id="palette.down"),
        Binding("up", "move(-1)", N_("Previous"), show=False, id="palette.up"),
        Binding("ctrl+s", "choose(True)", N_("Insert and send"), priority=True, id="palette.send"),
    ]

    def __init__(
        self,
        index: ReplyIndex,
        *,
        language: str,
        context: ReplyContext,
        suggested: list[QuickReply],
        uses: Mapping[str, int] | None = None,
    ) -> None:
        """``uses``: how often this agent inserted each reply; among equally good matches
        the most used comes first, and the count shows beside the title."""
        super().__init__()
        self.uses: Mapping[str, int] = uses or {}
        self.index = index
        self.language = language
        self.reply_context = context
        self.suggested = suggested
        self.hits: list[QuickReply] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Input(
                placeholder=_("Search quick replies: words, pinyin (fh = 发货), typos are fine"),
                id="query",
            )
            with Horizontal(id="body"):
                yield OptionList(id="hits", markup=False)
                yield Static(id="preview")
            yield Static(
                Content.styled(
                    _("Enter insert · Ctrl+S insert and send · ↑↓ choose · Esc close"),
                    "$text-muted",
                ),
                id="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self._search("")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._search(event.value)

    def _search(self, query: str) -> None:
        found = self.index.search(query, language=self.language, limit=SHOWN)
        hits = [hit.reply for hit in rank_by_use(found, self.uses)]
        if not query.strip() and self.suggested:
            seen = {r.id for r in self.suggested}
            hits = self.suggested + [r for r in hits if r.id not in seen]
        self.hits = hits[:SHOWN]
        option_list = self.query_one("#hits", OptionList)
        option_list.clear_options()
        option_list.add_options([Option(self._label(r), id=r.id) for r in self.hits])
        if self.hits:
            option_list.highlighted = 0
        self._preview()

    def _label(self, reply: QuickReply) -> Content:
        label = Content.assemble(
            (safe_line(reply.title), "bold"),
            (f"  {reply.language} · {reply.group}", "$text-muted"),
        )
        if reply.hotkey:
            label = label + Content.styled(f"  {reply.hotkey}", "$accent")
        if reply.actions:
            label = label + Content.styled("  ⚙", "$warning")
        used = self.uses.get(reply.id)
        if used:
            label = label + Content.styled(f"  ×{used}", "$text-muted")
        return label

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._preview()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose(False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose(False)

    def _current(self) -> QuickReply | None:
        index = self.query_one("#hits", OptionList).highlighted
        return self.hits[index] if index is not None and 0 <= index < len(self.hits) else None

    def _preview(self) -> None:
        preview = self.query_one("#preview", Static)
        reply = self._current()
        if reply is None:
            preview.update(Content.styled(_("No reply matches."), "$text-muted"))
            return
        filled: FilledReply = fill(reply.body, self.reply_context)
        # Reply bodies are the shop's, values are customer data: sanitise, no markup.
        text = Content(sanitize(filled.text))
        for start, end, _name in filled.holes:
            text = text.stylize("bold reverse $warning", start, end)
        parts = [text]
        actions = describe_actions(reply)
        if actions:
            parts.append(
                Content.styled(
                    _("On send: {actions}").format(actions=safe_line(actions)), "bold $warning"
                )
            )
        if filled.holes:
            parts.append(
                Content.styled(
                    _("Highlighted spots have no value yet: Tab jumps to them."), "$text-muted"
                )
            )
        preview.update(Content("\n\n").join(parts))

    def action_move(self, step: int) -> None:
        option_list = self.query_one("#hits", OptionList)
        if self.hits:
            current = option_list.highlighted or 0
            option_list.highlighted = max(0, min(len(self.hits) - 1, current + step))

    def action_choose(self, send: bool) -> None:
        reply = self._current()
        if reply is not None:
            self.dismiss(PaletteChoice(reply, send))

    def action_close(self) -> None:
        self.dismiss(None)
