"""Quick replies in the conversation pane: the hotkeys and the three suggestions above
the composer, the palette, and inserting a filled reply at the cursor."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual
from textual.widgets import Static

from cs_console.i18n import _
from cs_console.replies.placeholders import fill
from cs_console.ui.actions import SUGGESTION_KEYS, key_label
from cs_console.ui.panes.base import Pane
from cs_console.ui.text import safe_line
from cs_console.ui.widgets.composer import NOTE, REPLY, Composer
from cs_console.ui.widgets.thread_view import ThreadView

# Services are imported where they are used: they load SQLAlchemy, which the first frame
# does not wait for; so are the dialogs.

if TYPE_CHECKING:
    from textual.css.styles import RulesMap

    from cs_console.replies.library import QuickReply, ReplyAction
    from cs_console.replies.placeholders import ReplyContext
    from cs_console.services.replies import UseKind
    from cs_console.ui.screens.reply_palette import PaletteChoice


class WholeParts(Visual):
    """Parts on as few lines as the width allows, none split across two: a suggestion's
    key stays with its title (Chinese titles break anywhere, so wrapping would not)."""

    def __init__(self, parts: list[Content], separator: str = "   ") -> None:
        self.parts = parts
        self.separator = separator

    def laid_out(self, width: int) -> Content:
        """The parts in lines of at most ``width`` cells (a part wider than that alone
        on its line, where it wraps)."""
        lines: list[Content] = []
        line = Content("")
        for part in self.parts:
            joined = Content.assemble(line, self.separator, part) if line else part
            if line and joined.cell_length > width:
                lines.append(line)
                joined = part
            line = joined
        lines.append(line)
        return Content("\n").join(lines)

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        return self.laid_out(width).render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.laid_out(container_width).get_optimal_width(rules, container_width)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.laid_out(width).get_height(rules, width)


class QuickReplies:
    """The conversation pane's quick replies.

    Args:
        pane: The pane with the composer, the thread and the suggestions bar.
        switch_mode: Switches the composer to a reply or a note at once (drafts
            swapped); False when the store refused the draft.
    """

    def __init__(self, pane: Pane, *, switch_mode: Callable[[str], bool]) -> None:
        self.pane = pane
        self.switch_mode = switch_mode
        #: What each reply key inserts right now: hotkeys, then suggestion keys.
        self.keys: dict[str, QuickReply] = {}
        #: Actions of the replies inserted into the composer, applied when it is sent.
        self.pending_actions: list[ReplyAction] = []

    @property
    def composer(self) -> Composer:
        """The composer replies go into."""
        return self.pane.query_one("#composer", Composer)

    def refresh(self) -> None:
        """Hotkeys in the conversation's language (the agent's language fills gaps) and
        the top three suggestions for what the customer last said."""
        desk = self.pane.desk
        loaded = desk.console.replies
        bar = self.pane.query_one("#suggestions", Static)
        if loaded is None or desk.ctx is None:
            return
        from cs_console.replies.suggest import suggest  # the search index's modules
        from cs_console.services import replies

        language = self.language()
        agent_language = desk.console.settings.agent.language
        keys = replies.hotkey_table(loaded.library, language, fallback=agent_language)
        last_customer = next(
            (
                m.body
                for m in reversed(self.pane.query_one("#thread", ThreadView).messages)
                if m.kind.value == "customer"
            ),
            None,
        )
        order = desk.selected_order()
        suggested = (
            suggest(
                loaded.index,
                loaded.library,
                last_customer_message=last_customer,
                order_status=order.status.value if order else None,
                language=language,
            )
            if desk.open_id
            else []
        )
        parts = []
        for key, reply in zip(SUGGESTION_KEYS, suggested, strict=False):
            keys[key] = reply
            parts.append(
                Content.assemble((key_label(key), "bold $accent"), " ", safe_line(reply.title))
            )
        self.keys = keys
        self.composer.reply_keys = frozenset(keys)
        bar.update(
            WholeParts([Content.styled(_("Suggested:"), "$text-muted"), *parts]) if parts else ""
        )
        bar.display = bool(parts)

    def listed(self) -> list[tuple[str, str]]:
        """(key, reply title) of every reply key now, hotkeys first, for F1. The titles
        may come from the shop: whoever shows them sanitises them."""
        from cs_console.replies.vocabulary import HOTKEYS

        # In keyboard order (Alt+A, Alt+S, Alt+D...), as the library's lint lists them.
        order = {key: index for index, key in enumerate(HOTKEYS)}
        hotkeys = sorted(
            ((k, r.title) for k, r in self.keys.items() if k not in SUGGESTION_KEYS),
            key=lambda pair: (order.get(pair[0], len(order)), pair[0]),
        )
        suggestions = [(k, r.title) for k, r in self.keys.items() if k in SUGGESTION_KEYS]
        return hotkeys + suggestions

    def pressed(self, key: str) -> None:
        """A reply key was pressed in the composer."""
        reply = self.keys.get(key)
        if reply is not None:
            self.insert(reply, how="suggestion" if key in SUGGESTION_KEYS else "hotkey")

    def open_palette(self) -> None:
        """Open the quick-reply palette."""
        desk = self.pane.desk
        loaded = desk.console.replies
        if loaded is None:
            self.pane.notify(_("Quick replies are still loading."))
            return
        if desk.open_id is None:
            self.pane.notify(_("Open a conversation first."), severity="warning")
            return
        from cs_console.services import replies
        from cs_console.ui.screens.reply_palette import ReplyPaletteScreen  # a dialog

        suggested = [r for k, r in self.keys.items() if k in SUGGESTION_KEYS]
        ctx = desk.ctx
        uses = replies.use_counts(ctx, agent=ctx.agent_name) if ctx is not None else {}

        def chosen(choice: PaletteChoice | None) -> None:
            self.composer.focus()
            if choice is not None:
                self.insert(
                    choice.reply,
                    send=choice.send,
                    how="palette-send" if choice.send else "palette",
                )

        # Pinyin folding (~0.5 s, tens of MB) waits until someone searches: start it now,
        # while the agent reads the list, so the first "fh" does not pay for it.
        self.pane.run_worker(
            loaded.index.prepare_pinyin, thread=True, group="pinyin", exclusive=True
        )
        self.pane.app.push_screen(
            ReplyPaletteScreen(
                loaded.index,
                language=self.language(),
                context=self.context(),
                suggested=suggested,
                uses=uses,
            ),
            chosen,
        )

    def insert(self, reply: QuickReply, *, send: bool = False, how: UseKind = "palette") -> None:
        """Insert a filled reply at the cursor; with ``send``, send it at once (unless a
        spot is still blank). ``how`` is recorded for the usage figures."""
        desk = self.pane.desk
        if desk.ctx is None or desk.open_id is None:
            return
        if self.composer.mode == NOTE:
            self._ask_into_note(reply, send=send, how=how)
            return
        self._insert_now(reply, send=send, how=how)

    def language(self) -> str:
        """The open conversation's language (else the agent's)."""
        desk = self.pane.desk
        if desk.ctx is not None and desk.open_id is not None:
            from cs_console.services import conversations

            info = conversations.info(desk.ctx, desk.open_id)
            if info is not None:
                return info.customer_language
        return desk.console.settings.agent.language

    def context(self) -> ReplyContext:
        """What a reply's placeholders are filled from."""
        from cs_console.services import conversations, replies

        desk = self.pane.desk
        ctx = desk.ctx
        assert ctx is not None
        info = conversations.info(ctx, desk.open_id) if desk.open_id else None
        return replies.context_for(
            ctx.settings,
            agent_name=ctx.agent_name,
            info=info,
            order=desk.selected_order(),
            now=desk.console.clock(),
        )

    def _insert_now(self, reply: QuickReply, *, send: bool, how: UseKind) -> None:
        desk = self.pane.desk
        ctx, conversation_id = desk.ctx, desk.open_id
        if ctx is None or conversation_id is None:
            return
        from cs_console.services import replies
        from cs_console.services.context import StoreError

        def record() -> None:
            # A thread: a synced write must not hold up the keystroke; and a lost usage
            # count (disk full) is not worth interrupting the agent for.
            with contextlib.suppress(StoreError):
                replies.record_use(ctx, reply.id, how, conversation_id=conversation_id)

        self.pane.run_worker(record, thread=True, group="reply-use")

        filled = fill(reply.body, self.context())
        composer = self.composer
        composer.focus()
        # fill() sanitises the reply and each value piece by piece, so the hole offsets
        # it returns hold for the text as inserted.
        composer.insert_filled(filled.text, filled.holes, filled.landing())
        self.pending_actions.extend(reply.actions)
        if send:
            composer.post_message(Composer.Submitted(composer, composer.text, composer.mode))

    def _ask_into_note(self, reply: QuickReply, *, send: bool, how: UseKind) -> None:
        """Quick replies speak to the customer: one chosen while the composer is on an
        internal note asks where it belongs, rather than go out as a note unseen."""
        from cs_console.ui.screens.choice import ChoiceScreen  # a dialog

        def chosen(answer: str | None) -> None:
            if answer == REPLY and self.switch_mode(REPLY):
                self.insert(reply, send=send, how=how)
            elif answer == NOTE:
                self._insert_now(reply, send=False, how=how)
            else:
                self.composer.focus()

        self.pane.app.push_screen(
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
