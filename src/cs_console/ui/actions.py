"""Every key of the console in one table: what it does, where, and when it applies.

Each row is one binding, by the id users remap in ``[keymap]``. From this table come
each class's ``BINDINGS`` (:func:`bindings_for`), the footer (through those bindings),
``check_action`` (:func:`check_action`), the command palette (``ui/palette.py``), F1 and
``cs-console keys`` (``ui/keys.py``). A new key is one row here (and its catalogue
entries); the acceptance suite presses it without a change.

Strings are marked with ``N_`` (the table is built at import, before the language is
chosen) and translated where they are shown. This module imports no screen and no
service, so every widget can read its bindings from it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual.binding import Binding, BindingType

from cs_console.i18n import N_, _

if TYPE_CHECKING:
    from cs_console.views import Abilities

#: Who binds a row: the app, the workspace screen, the queue pane, or a widget.
Owner = Literal["app", "workspace", "queue_pane", "queue", "thread", "composer", "orders"]

#: The areas F1 and ``cs-console keys`` list, in order. "Everywhere" keys work in any
#: area; a key of one area may not also be an Everywhere key (``keys.check_keymap``).
EVERYWHERE = N_("Everywhere")
QUEUE = N_("Queue (single keys)")
THREAD = N_("Thread")
COMPOSER = N_("Composer")
ORDERS = N_("Orders")
AREAS = (EVERYWHERE, QUEUE, THREAD, COMPOSER, ORDERS)

#: Keys that insert the three suggested replies shown above the composer (no bindings:
#: the composer takes them, with the reply library's hotkeys, before its text box).
SUGGESTION_KEYS = ("alt+q", "alt+w", "alt+e")

#: Why a key is greyed out. (What the backend cannot do is said by the backend's
#: adapter: ``views.Abilities.reason``.)
NO_STORE = N_("The store is not open yet.")
NO_CONVERSATION = N_("Open a conversation first.")


@dataclass(frozen=True, slots=True)
class Situation:
    """What decides whether an action applies now."""

    store_open: bool = False
    conversation_open: bool = False
    #: What the backend can do; None until known (nothing is greyed out meanwhile).
    abilities: Abilities | None = None


@dataclass(frozen=True, slots=True)
class When:
    """When an action applies: it needs the store, an open conversation, an ability."""

    store: bool = False
    conversation: bool = False
    #: An ability name of ``backends.base.ABILITIES`` (``views.Abilities``).
    ability: str | None = None

    def why_not(self, situation: Situation) -> str | None:
        """None when the action applies; else why not, in the interface language (an
        ability's reason comes from the backend's adapter: untrusted, sanitise it)."""
        if self.ability is not None and situation.abilities is not None:
            missing = situation.abilities.reason(self.ability)
            if missing is not None:
                return missing
        if (self.store or self.conversation) and not situation.store_open:
            return _(NO_STORE)
        if self.conversation and not situation.conversation_open:
            return _(NO_CONVERSATION)
        return None


ALWAYS = When()
STORE = When(store=True)
CONVERSATION = When(conversation=True)
ASSIGN = When(conversation=True, ability="assign")
STATUSES = When(conversation=True, ability="statuses")
PRESENCE = When(store=True, ability="presence")
REMARKS = When(conversation=True, ability="remarks")


@dataclass(frozen=True, slots=True)
class Action:
    """One binding: its id, default keys, what it runs and where, when it applies."""

    id: str
    keys: str
    #: The Textual action string, run on ``owner`` (``screen.`` runs it on the screen).
    action: str
    #: The footer's word (and F1's).
    description: str
    area: str
    owner: Owner
    show: bool = True
    priority: bool = False
    when: When = ALWAYS
    #: The command palette's "Area: verb"; None keeps the action out of the palette.
    title: str | None = None
    #: Under the title in the palette, before the current keys.
    help: str = ""
    #: More bindings doing the same, whose keys the palette shows too.
    also: tuple[str, ...] = ()
    #: The footer's order, most important first: when the width cannot hold every
    #: shown key, the least important are left out (``widgets/key_footer.py``).
    importance: int = 0

    @property
    def name(self) -> str:
        """The action's name, as ``check_action`` receives it."""
        return action_name(self.action)

    def binding(self) -> Binding:
        """The Textual binding (description untranslated: the screens translate)."""
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            id=self.id,
        )


# One row per binding: id, default keys, action, footer word, area, owner; then the
# extras. Kept as a table, one row to a line or two, rather than one argument to a line.
# fmt: off
ACTIONS: tuple[Action, ...] = (
    Action("app.help", "f1", "help", N_("Help"), EVERYWHERE, "app",
           title=N_("Help: show every key"), importance=100),
    Action("app.quit", "ctrl+q", "quit", N_("Quit"), EVERYWHERE, "app", priority=True,
           importance=10),
    Action("workspace.next_waiting", "ctrl+g", "next_waiting", N_("Next waiting"), EVERYWHERE,
           "workspace", priority=True, when=STORE,
           title=N_("Queue: jump to the longest-waiting customer"), also=("queue.next_waiting",),
           importance=86),
    Action("workspace.undo_send", "ctrl+r", "undo_send", N_("Undo send"), EVERYWHERE,
           "workspace", when=STORE, title=N_("Reply: take back the last reply"),
           help=N_("While still queued"), importance=65),
    Action("workspace.retry", "f5", "retry_failed", N_("Retry failed"), EVERYWHERE, "workspace",
           show=False, when=CONVERSATION, title=N_("Reply: retry failed messages"),
           help=N_("In this conversation")),
    Action("workspace.focus_queue", "f2", "focus_pane('queue')", N_("Queue"), EVERYWHERE,
           "workspace", show=False),
    Action("workspace.focus_thread", "f3", "focus_pane('thread')", N_("Thread"), EVERYWHERE,
           "workspace", show=False),
    Action("workspace.focus_composer", "f4", "focus_pane('composer')", N_("Composer"),
           EVERYWHERE, "workspace", show=False),
    # F6 and F7 are priority keys: in the composer, the text box would take them first
    # (select line, select all) and the agent could not reach either.
    Action("workspace.focus_orders", "f6", "focus_orders", N_("Orders"), EVERYWHERE,
           "workspace", show=False, priority=True,
           title=N_("Orders: show the customer's orders")),
    Action("workspace.log_case", "ctrl+l", "log_case", N_("Log case"), EVERYWHERE, "workspace",
           when=CONVERSATION, importance=45),
    Action("workspace.add_remark", "f8", "add_remark", N_("Remark"), EVERYWHERE, "workspace",
           when=REMARKS, importance=35),
    Action("workspace.cases", "f7", "cases", N_("Cases"), EVERYWHERE, "workspace",
           priority=True, when=STORE, title=N_("Cases: register and today's follow-ups"),
           importance=30),
    Action("workspace.end_shift", "f10", "end_shift", N_("End shift"), EVERYWHERE, "workspace",
           show=False, when=STORE, title=N_("Shift: end and hand over")),
    Action("workspace.figures", "f9", "figures", N_("Figures"), EVERYWHERE, "workspace",
           show=False, when=STORE, title=N_("Shift: figures (response times, cases)")),
    Action("workspace.link_customer", "ctrl+k", "link_customer", N_("Link customer"),
           EVERYWHERE, "workspace", show=False, when=CONVERSATION),
    # Ctrl+F and Ctrl+D are priority keys: the text box would take them (word right,
    # delete right; both have other keys there).
    Action("workspace.search", "ctrl+f", "search", N_("Search"), EVERYWHERE, "workspace",
           priority=True, when=STORE,
           title=N_("Search: conversations, messages, customers, orders"),
           help=N_("Chinese, pinyin, or an order number's last digits"), importance=50),
    Action("workspace.done_next", "ctrl+d", "done_next", N_("Done, next"), EVERYWHERE,
           "workspace", priority=True, when=STATUSES,
           title=N_("Conversation: resolve and open the next waiting"),
           help=N_("Lands in the next customer's composer"), importance=80),
    Action("workspace.presence", "ctrl+o", "presence", N_("Presence"), EVERYWHERE,
           "workspace", show=False, when=PRESENCE,
           title=N_("Me: online, away or offline"),
           help=N_("New conversations are assigned to online agents")),
    # The queue list moves its cursor; the queue pane acts on the conversation.
    Action("queue.down", "down,j", "cursor_down", N_("Down"), QUEUE, "queue", show=False),
    Action("queue.up", "up,k", "cursor_up", N_("Up"), QUEUE, "queue", show=False),
    Action("queue.page_down", "pagedown", "page_down", N_("Page down"), QUEUE, "queue",
           show=False),
    Action("queue.page_up", "pageup", "page_up", N_("Page up"), QUEUE, "queue", show=False),
    Action("queue.first", "home,g", "first", N_("First"), QUEUE, "queue", show=False),
    Action("queue.last", "end,G", "last", N_("Last"), QUEUE, "queue", show=False),
    Action("queue.open", "enter", "choose", N_("Open"), QUEUE, "queue", importance=90),
    # n, l and f run the screen's action under another name than Ctrl+G, Ctrl+L and F8
    # (Textual's footer would show one key per action string); the footer shows the
    # queue's key for what ``also`` links, or the description shares.
    Action("queue.next_waiting", "n", "screen.next_waiting", N_("Next waiting"), QUEUE,
           "queue_pane", when=STORE, importance=86),
    Action("queue.reply", "r", "screen.focus_pane('composer')", N_("Reply"), QUEUE,
           "queue_pane", importance=88),
    Action("queue.claim", "c", "claim", N_("Claim"), QUEUE, "queue_pane", when=ASSIGN,
           title=N_("Conversation: claim"), help=N_("Assign it to me"), importance=70),
    Action("queue.transfer", "t", "transfer", N_("Transfer"), QUEUE, "queue_pane", when=ASSIGN,
           title=N_("Conversation: transfer"), help=N_("To a desk or an agent"), importance=60),
    Action("queue.resolve", "x", "set_status('resolved')", N_("Resolve"), QUEUE, "queue_pane",
           when=STATUSES, title=N_("Conversation: resolve"), help=N_("Mark resolved"),
           importance=75),
    Action("queue.reopen", "o", "set_status('open')", N_("Reopen"), QUEUE, "queue_pane",
           when=STATUSES, title=N_("Conversation: reopen"), help=N_("Back to open"),
           importance=38),
    Action("queue.pending", "p", "set_status('pending')", N_("Pending"), QUEUE, "queue_pane",
           show=False, when=STATUSES, title=N_("Conversation: mark pending"),
           help=N_("Waiting on us")),
    Action("queue.snooze", "z", "snooze", N_("Snooze"), QUEUE, "queue_pane", when=STATUSES,
           title=N_("Conversation: snooze"), help=N_("Hide until later"), importance=55),
    Action("queue.log_case", "l", "screen.log_case", N_("Log case"), QUEUE, "queue_pane",
           when=CONVERSATION, title=N_("Case: log a case for this conversation"),
           also=("workspace.log_case",), importance=45),
    Action("queue.add_remark", "f", "screen.add_remark", N_("Flag order"), QUEUE, "queue_pane",
           when=REMARKS, title=N_("Order: add a flagged remark"),
           also=("workspace.add_remark",), importance=35),
    Action("queue.history", "h", "screen.history", N_("History"), QUEUE, "queue_pane",
           when=CONVERSATION, title=N_("Customer: earlier conversations, cases and orders"),
           importance=40),
    Action("queue.cycle_priority", "P", "cycle_priority", N_("Priority"), QUEUE, "queue_pane",
           show=False, when=STORE, title=N_("Queue: urgent / high / every priority")),
    Action("queue.filter_tag", "T", "filter_tag", N_("Tag"), QUEUE, "queue_pane", show=False,
           when=STORE, title=N_("Queue: only one tag (VIP, blacklist, ...)")),
    Action("queue.show_open", "1", "filter_status('open')", N_("Open ones"), QUEUE,
           "queue_pane", show=False, title=N_("Queue: show open")),
    Action("queue.show_pending", "2", "filter_status('pending')", N_("Pending ones"), QUEUE,
           "queue_pane", show=False, title=N_("Queue: show pending")),
    Action("queue.show_snoozed", "3", "filter_status('snoozed')", N_("Snoozed ones"), QUEUE,
           "queue_pane", show=False, title=N_("Queue: show snoozed")),
    Action("queue.show_resolved", "4", "filter_status('resolved')", N_("Resolved ones"), QUEUE,
           "queue_pane", show=False, title=N_("Queue: show resolved")),
    Action("queue.scope_all", "a", "filter_scope('all')", N_("All"), QUEUE, "queue_pane",
           show=False, title=N_("Queue: everyone's")),
    Action("queue.scope_mine", "m", "filter_scope('mine')", N_("Mine"), QUEUE, "queue_pane",
           show=False, title=N_("Queue: mine")),
    Action("queue.scope_unassigned", "u", "filter_scope('unassigned')", N_("Unassigned"),
           QUEUE, "queue_pane", show=False, title=N_("Queue: unassigned")),
    Action("queue.cycle_group", "v", "cycle_group", N_("Pre/after-sale"), QUEUE, "queue_pane",
           show=False, title=N_("Queue: switch pre-sale / after-sale / both")),
    Action("thread.up", "up,k", "scroll_up", N_("Up"), THREAD, "thread", show=False),
    Action("thread.down", "down,j", "scroll_down", N_("Down"), THREAD, "thread", show=False),
    Action("thread.page_up", "pageup", "page_up", N_("Page up"), THREAD, "thread", show=False),
    Action("thread.page_down", "pagedown", "page_down", N_("Page down"), THREAD, "thread",
           show=False),
    Action("thread.end", "end,G", "scroll_end", N_("Newest"), THREAD, "thread", show=False),
    Action("thread.open_attachment", "o", "open_attachment", N_("Open file"), THREAD, "thread",
           when=CONVERSATION, title=N_("Thread: open the newest photo or file"),
           help=N_("The system viewer, or its address on a remote session"), importance=50),
    Action("composer.quick_replies", "ctrl+t", "palette", N_("Quick replies"), COMPOSER,
           "composer", when=CONVERSATION, title=N_("Reply: quick replies"),
           help=N_("Also / in an empty composer"), importance=90),
    Action("composer.toggle_note", "ctrl+n", "toggle_mode", N_("Reply/Note"), COMPOSER,
           "composer", importance=85),
    Action("composer.leave", "escape", "leave", N_("Queue"), COMPOSER, "composer", importance=60),
    # F7 (the text box's own select-all key) is the case register everywhere.
    Action("composer.select_all", "ctrl+a", "select_all", N_("Select all"), COMPOSER,
           "composer", show=False),
    Action("composer.attach", "ctrl+u", "attach", N_("Attach"), COMPOSER, "composer",
           when=CONVERSATION, title=N_("Reply: send a photo or file"),
           help=N_("Pick a file; it goes through the outbox like a reply"), importance=40),
    Action("orders.leave", "escape", "leave", N_("Queue"), ORDERS, "orders", importance=70),
)
# fmt: on


def action_name(action: str) -> str:
    """``screen.set_status('open')`` -> ``set_status``: what ``check_action`` receives."""
    return action.partition("(")[0].rpartition(".")[2]


BY_ID: dict[str, Action] = {action.id: action for action in ACTIONS}


def _same_things() -> dict[str, str]:
    # Rows linked by ``also`` (either way) do one thing: each maps to the group's first
    # row, so the footer shows one key for it.
    group: dict[str, str] = {}
    for action in ACTIONS:
        linked = {action.id, *action.also}
        linked |= {other.id for other in ACTIONS if action.id in other.also}
        first = min(linked, key=lambda binding_id: ACTIONS.index(BY_ID[binding_id]))
        group[action.id] = first
    return group


#: Binding id -> the id of the first row doing the same thing (itself, mostly).
SAME_THING: dict[str, str] = _same_things()

#: When each action name applies. Rows sharing a name share the rule (a test checks),
#: since Textual asks ``check_action`` by name.
WHEN: dict[str, When] = {action.name: action.when for action in ACTIONS}


def bindings_for(owner: Owner) -> list[BindingType]:
    """The ``BINDINGS`` of ``owner``, in table order (the footer's order)."""
    return [action.binding() for action in ACTIONS if action.owner == owner]


def check_action(action: str, situation: Situation) -> bool | None:
    """What a pane's or the workspace's ``check_action`` answers: True when the action
    applies, None (shown greyed out, not run) when it does not."""
    when = WHEN.get(action)
    if when is None or when.why_not(situation) is None:
        return True
    return None


def why_not(action: str, situation: Situation) -> str | None:
    """Why ``action`` (a name, or a binding's whole action string) is greyed out now
    (None: it is not)."""
    when = WHEN.get(action_name(action))
    return None if when is None else when.why_not(situation)


def in_area(area: str) -> Iterator[Action]:
    """The rows F1 and ``cs-console keys`` list under ``area``."""
    return (action for action in ACTIONS if action.area == area)


def current_keys(action: Action, keymap: dict[str, str]) -> str:
    """The action's keys after the ``[keymap]`` remapping (comma-separated)."""
    return keymap.get(action.id, action.keys)


#: How the palette and F1 write a key: ``ctrl+g`` is Ctrl+G.
_KEY_NAMES = {
    "ctrl": "Ctrl",
    "alt": "Alt",
    "shift": "Shift",
    "meta": "Meta",
    "super": "Super",
    "enter": "Enter",
    "escape": "Esc",
    "tab": "Tab",
    "space": "Space",
    "backspace": "Backspace",
    "delete": "Del",
    "insert": "Ins",
    "home": "Home",
    "end": "End",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "slash": "/",
    "question_mark": "?",
}


def key_label(key: str, platform: str | None = None) -> str:
    """One key as people write it: ``ctrl+g`` as Ctrl+G, ``f5`` as F5, ``n`` as n.

    The footer, F1, the palette and the quick-reply bar all write keys through this, so
    Alt reads the same everywhere: Alt+Q, except on macOS, whose keyboards print ⌥
    (written ⌥Q, as Mac menus do).

    Args:
        key: A Textual key, with its modifiers: ``alt+q``.
        platform: ``sys.platform`` (the running one when None).
    """
    on_mac = (sys.platform if platform is None else platform) == "darwin"
    *modifiers, last = key.strip().split("+")
    if len(last) == 1:
        name = last.upper() if modifiers else last
    elif last[0] == "f" and last[1:].isdigit():
        name = last.upper()
    else:
        name = _KEY_NAMES.get(last, last.capitalize())
    label = ""
    for modifier in modifiers:
        if modifier == "alt" and on_mac:
            label += "⌥"  # the Mac way: no "+" after the symbol
        else:
            label += _KEY_NAMES.get(modifier, modifier.capitalize()) + "+"
    return label + name


def keys_label(keys: list[str]) -> str:
    """Several keys for one thing, in words: "Ctrl+G or n"."""
    labels = [key_label(key) for key in keys if key.strip()]
    text = labels[0] if labels else ""
    for label in labels[1:]:
        text = _("{first} or {second}").format(first=text, second=label)
    return text
