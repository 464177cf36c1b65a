"""The search dialog (Ctrl+F): customers, conversations, messages and orders as you type.

Each keystroke starts a search in a thread worker after a short pause (the previous
one is dropped; an answer for older text is ignored), so typing never waits for the
store. Hits come grouped; ↑/↓ move between them from the text box, Enter chooses,
Escape closes. A store whose index is not complete yet is indexed by a worker while
the dialog is open, and the status line says how far it has got.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from cs_console.domain import ConversationStatus, MessageKind, OrderStatus
from cs_console.i18n import N_, _
from cs_console.services import search
from cs_console.services.search import HitKind, Progress, SearchHit, SearchResults, Snippet
from cs_console.ui.text import (
    local_time,
    message_kind_label,
    order_status_label,
    safe_line,
    status_label,
)

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext

#: Seconds of quiet after a keystroke before the search starts.
DEBOUNCE_S = 0.12

GROUP_TITLES = {
    HitKind.CUSTOMER: N_("Customers"),
    HitKind.CONVERSATION: N_("Conversations"),
    HitKind.MESSAGE: N_("Messages"),
    HitKind.ORDER: N_("Orders"),
}


def marked(snippet: Snippet) -> Content:
    """The snippet as literal text (never markup), what was typed in bold."""
    content = Content(snippet.text)
    for start, end in snippet.marks:
        content = content.stylize("bold underline $accent", start, end)
    return content


def _status(hit: SearchHit) -> str:
    """The hit's status in the interface language ('' if it has none we know)."""
    value = hit.status
    if value is None:
        return ""
    try:
        if hit.kind is HitKind.CONVERSATION:
            return status_label(ConversationStatus(value))
        if hit.kind is HitKind.ORDER:
            return order_status_label(OrderStatus(value))
        if hit.kind is HitKind.MESSAGE:
            return message_kind_label(MessageKind(value))
    except ValueError:
        pass  # a value from a newer backend: show it as it came
    return safe_line(value)


def hit_prompt(hit: SearchHit) -> Content:
    """Two lines: the matched text, then whose it is, its status and time."""
    details = [part for part in (hit.context, _status(hit), local_time(hit.at)) if part]
    second = Content.styled("  " + " · ".join(details), "$text-muted")
    return Content("\n").join([marked(hit.label), second])


class SearchScreen(ModalScreen[SearchHit | None]):
    """Type to search; ↑/↓ choose; Enter opens the hit's conversation; Esc closes."""

    CSS_PATH = "search.tcss"
    BINDINGS = [
        Binding("escape", "close", N_("Close"), id="search.close"),
        Binding("down", "move(1)", N_("Next"), show=False, id="search.down"),
        Binding("up", "move(-1)", N_("Previous"), show=False, id="search.up"),
    ]

    @dataclass
    class Searched(Message):
        """A search finished (possibly for text the agent has typed past since)."""

        results: SearchResults

    @dataclass
    class Indexed(Message):
        """The background build indexed another chunk."""

        progress: Progress

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.results: SearchResults | None = None
        self.hits: list[SearchHit] = []
        self._debounce: Timer | None = None
        self._indexing: Progress | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Input(
                placeholder=_(
                    "Search: names, emails, phones, messages, order numbers (4417), pinyin (fh)"
                ),
                id="query",
            )
            yield OptionList(id="hits", markup=False)
            yield Static(id="status")

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self._say(_("Type at least two characters · Enter opens · Esc closes"))
        self._build_index()

    # --- searching ---------------------------------------------------------------------

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, self._search_now)

    def _search_now(self) -> None:
        self._debounce = None
        self._search(self.query_one("#query", Input).value)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, text: str) -> None:
        # A thread: the store is read (and a sync page's worth indexed) off the UI.
        self.post_message(self.Searched(search.search(self.ctx, text)))

    @on(Searched)
    def _searched(self, message: Searched) -> None:
        if message.results.query != self.query_one("#query", Input).value:
            return  # an answer for what was typed before: a newer search is on its way
        self._show(message.results)

    def _show(self, results: SearchResults) -> None:
        self.results = results
        self.hits = results.hits
        options: list[Option] = []
        position = 0
        for kind, hits in results.groups:
            if not hits:
                continue
            # A disabled option: shown as the group's title, skipped by the cursor.
            options.append(Option(Content(_(GROUP_TITLES[kind])), disabled=True))
            for hit in hits:
                options.append(Option(hit_prompt(hit), id=f"hit-{position}"))
                position += 1
        hit_list = self.query_one("#hits", OptionList)
        hit_list.clear_options()
        hit_list.add_options(options)
        if self.hits:
            hit_list.highlighted = 1  # the first hit, under its group's title
        self._update_status()

    def _update_status(self) -> None:
        results = self.results
        parts: list[str] = []
        if results is None or results.too_short:
            parts.append(_("Type at least two characters"))
        elif not results.hits:
            parts.append(_("Nothing found"))
        else:
            parts.append(_("{count} found · Enter opens · Esc closes").format(count=len(self.hits)))
        progress = self._indexing or (results.progress if results else None)
        if progress is not None and not progress.done:
            parts.append(
                _("indexing {percent}%: older messages may be missing").format(
                    percent=int(progress.fraction * 100)
                )
            )
        self._say(" · ".join(parts))

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(Content(text))

    # --- the index ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="search-index", exit_on_error=False)
    def _build_index(self) -> None:
        # A store from a release without the index (or its first fill) is indexed in
        # chunks while the dialog is open; searches meanwhile answer from what is there.
        worker = get_current_worker()
        if search.index_progress(self.ctx).done or not self.ctx.db.writer:
            return

        def indexed(progress: Progress) -> None:
            self.post_message(self.Indexed(progress))

        search.build_index(self.ctx, on_progress=indexed, should_stop=lambda: worker.is_cancelled)

    @on(Indexed)
    def _indexed(self, message: Indexed) -> None:
        self._indexing = message.progress
        if message.progress.done:
            self._indexing = None
            self._search(self.query_one("#query", Input).value)  # now complete
        self._update_status()

    # --- keys --------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        """Move to the next or previous hit (group titles are skipped)."""
        hit_list = self.query_one("#hits", OptionList)
        if step > 0:
            hit_list.action_cursor_down()
        else:
            hit_list.action_cursor_up()

    def _current(self) -> SearchHit | None:
        hit_list = self.query_one("#hits", OptionList)
        index = hit_list.highlighted
        if index is None:
            return None
        option_id = hit_list.get_option_at_index(index).id
        if option_id is None or not option_id.startswith("hit-"):
            return None
        position = int(option_id.removeprefix("hit-"))
        return self.hits[position] if position < len(self.hits) else None

    @on(Input.Submitted, "#query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.results is None or self.results.query != event.value:
            # Enter straight after typing (an order number read off a screenshot): the
            # hits on screen are for older text, so search now, a few milliseconds.
            if self._debounce is not None:
                self._debounce.stop()
                self._debounce = None
            self._show(search.search(self.ctx, event.value))
        self.action_choose()

    @on(OptionList.OptionSelected, "#hits")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose()

    def action_choose(self) -> None:
        """Open the highlighted hit."""
        hit = self._current()
        if hit is not None:
            self.dismiss(hit)

    def action_close(self) -> None:
        """Close without opening anything."""
        self.dismiss(None)
