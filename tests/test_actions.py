"""The action table (``ui/actions.py``) is every key's one source: the bindings of each
class, the footer, ``check_action``, the command palette, F1 and ``cs-console keys``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import grimp
import pytest
from textual.app import App
from textual.binding import ActiveBinding, Binding
from textual.widget import Widget
from textual.widgets import Static

from cs_console.domain import ConversationStatus
from cs_console.i18n import set_language
from cs_console.ui.actions import (
    ACTIONS,
    BY_ID,
    NO_CONVERSATION,
    NO_STORE,
    Owner,
    Situation,
    check_action,
    key_label,
    keys_label,
    why_not,
)
from cs_console.ui.app import ConsoleApp
from cs_console.ui.keys import (
    binding_table,
    check_keymap,
    effective_keys,
    translate_active_bindings,
)
from cs_console.ui.palette import system_commands
from cs_console.ui.panes.base import Desk, Pane
from cs_console.ui.panes.queue_pane import QueuePane
from cs_console.ui.screens.help import HelpScreen
from cs_console.ui.screens.workspace import WorkspaceScreen
from cs_console.ui.widgets.composer import Composer
from cs_console.ui.widgets.order_pane import OrderPane
from cs_console.ui.widgets.queue_list import QueueList
from cs_console.ui.widgets.thread_view import ThreadView
from cs_console.views import Abilities
from tests.ui_support import offline_app, offline_settings, wait_loaded, wait_until, workspace

#: Every binding id and default key there was before the table: users' [keymap]
#: entries name these, so none may change.
KEPT = {
    "app.help": "f1",
    "app.quit": "ctrl+q",
    "workspace.next_waiting": "ctrl+g",
    "workspace.undo_send": "ctrl+r",
    "workspace.retry": "f5",
    "workspace.focus_queue": "f2",
    "workspace.focus_thread": "f3",
    "workspace.focus_composer": "f4",
    "workspace.focus_orders": "f6",
    "workspace.log_case": "ctrl+l",
    "workspace.add_remark": "f8",
    "workspace.cases": "f7",
    "workspace.end_shift": "f10",
    "workspace.figures": "f9",
    "workspace.link_customer": "ctrl+k",
    "workspace.search": "ctrl+f",
    "workspace.done_next": "ctrl+d",
    "workspace.presence": "ctrl+o",
    "thread.open_attachment": "o",
    "composer.attach": "ctrl+u",
    "queue.down": "down,j",
    "queue.up": "up,k",
    "queue.page_down": "pagedown",
    "queue.page_up": "pageup",
    "queue.first": "home,g",
    "queue.last": "end,G",
    "queue.open": "enter",
    "queue.next_waiting": "n",
    "queue.reply": "r",
    "queue.claim": "c",
    "queue.transfer": "t",
    "queue.resolve": "x",
    "queue.reopen": "o",
    "queue.pending": "p",
    "queue.snooze": "z",
    "queue.log_case": "l",
    "queue.add_remark": "f",
    "queue.history": "h",
    "queue.cycle_priority": "P",
    "queue.filter_tag": "T",
    "queue.show_open": "1",
    "queue.show_pending": "2",
    "queue.show_snoozed": "3",
    "queue.show_resolved": "4",
    "queue.scope_all": "a",
    "queue.scope_mine": "m",
    "queue.scope_unassigned": "u",
    "queue.cycle_group": "v",
    "thread.up": "up,k",
    "thread.down": "down,j",
    "thread.page_up": "pageup",
    "thread.page_down": "pagedown",
    "thread.end": "end,G",
    "composer.quick_replies": "ctrl+t",
    "composer.toggle_note": "ctrl+n",
    "composer.leave": "escape",
    "composer.select_all": "ctrl+a",
    "orders.leave": "escape",
}

#: The class that carries each owner's bindings.
OWNERS: dict[Owner, type[Any]] = {
    "app": ConsoleApp,
    "workspace": WorkspaceScreen,
    "queue_pane": QueuePane,
    "queue": QueueList,
    "thread": ThreadView,
    "composer": Composer,
    "orders": OrderPane,
}

EVERYTHING = Situation(
    store_open=True, conversation_open=True, abilities=Abilities(backend="reference")
)


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


def own_bindings(cls: type[Any]) -> dict[str, Binding]:
    return {b.id: b for b in vars(cls)["BINDINGS"] if isinstance(b, Binding) and b.id}


# --- the table and the bindings --------------------------------------------------------


def test_every_id_and_default_key_is_kept() -> None:
    assert {action.id: action.keys for action in ACTIONS} == KEPT
    assert len(ACTIONS) == len(BY_ID)  # no id twice


@pytest.mark.parametrize("owner", sorted(OWNERS))
def test_every_table_row_is_a_binding_of_its_class(owner: Owner) -> None:
    rows = {action.id: action for action in ACTIONS if action.owner == owner}
    bound = own_bindings(OWNERS[owner])
    assert sorted(bound) == sorted(rows)
    for binding_id, binding in bound.items():
        row = rows[binding_id]
        assert (binding.key, binding.action, binding.description) == (
            row.keys,
            row.action,
            row.description,
        )
        assert (binding.show, binding.priority) == (row.show, row.priority)


def test_no_two_actions_of_one_area_share_a_key() -> None:
    assert check_keymap({}) == []


def test_rows_sharing_an_action_name_share_when_it_applies() -> None:
    rules: dict[str, set[object]] = {}
    for action in ACTIONS:
        rules.setdefault(action.name, set()).add(action.when)
    assert {name: when for name, when in rules.items() if len(when) > 1} == {}


def test_cs_console_keys_lists_the_table() -> None:
    assert [row[1] for row in effective_keys({})] == [action.id for action in ACTIONS]
    remapped = dict((row[1], row[2]) for row in effective_keys({"queue.claim": "y"}))
    assert remapped["queue.claim"] == "y"


def test_a_clash_made_by_the_keymap_is_reported() -> None:
    problems = check_keymap({"queue.claim": "t", "nowhere.at_all": "q"})
    assert "'t' is bound to both queue.claim and queue.transfer" in problems
    assert any("nowhere.at_all" in problem for problem in problems)


# --- when an action applies --------------------------------------------------------------


def test_check_action_greys_out_with_the_reason(english: None) -> None:
    no_store = Situation()
    assert check_action("next_waiting", no_store) is None
    assert why_not("next_waiting", no_store) == NO_STORE

    no_conversation = Situation(store_open=True)
    assert check_action("claim", no_conversation) is None
    assert why_not("screen.log_case", no_conversation) == NO_CONVERSATION
    assert check_action("next_waiting", no_conversation) is True

    cannot_assign = Abilities(backend="x", missing={"assign": "this shop assigns by itself"})
    situation = dataclasses.replace(EVERYTHING, abilities=cannot_assign)
    assert check_action("claim", situation) is None
    assert why_not("claim", situation) == "this shop assigns by itself"
    assert check_action("set_status", situation) is True

    assert check_action("claim", EVERYTHING) is True
    # Filters, focus keys and Textual's own actions always apply.
    for name in ("filter_status", "focus_pane", "scroll_up", "focus_next"):
        assert check_action(name, Situation()) is True


def test_the_panes_and_the_workspace_grey_out_by_one_rule() -> None:
    desk = Desk(Widget(), selected_order=lambda: None, thread_messages=list)
    pane = Pane(desk)
    assert pane.check_action("claim", ()) is None
    desk.ctx = object()  # type: ignore[assignment]
    desk.open_id = "conv-1"
    assert pane.check_action("claim", ()) is True
    desk.abilities = Abilities(backend="x", missing={"assign": "no"})
    assert pane.check_action("claim", ()) is None
    assert desk.situation() == Situation(True, True, desk.abilities)


def test_a_greyed_out_key_says_why_in_its_tooltip(english: None) -> None:
    node = Widget()
    claim = BY_ID["queue.claim"].binding()
    shown = translate_active_bindings(
        {
            "c": ActiveBinding(node, claim, False, ""),
            "x": ActiveBinding(node, BY_ID["queue.resolve"].binding(), True, ""),
        },
        lambda binding: "[b]backend[/b] says no" if binding is claim else None,
    )
    assert shown["c"].tooltip == r"\[b]backend\[/b] says no"  # markup, escaped
    assert shown["x"].tooltip == ""


# --- the palette and F1 -------------------------------------------------------------------


class Host:
    """Stands in for the workspace: its situation, and a node for each owner."""

    def __init__(self, situation: Situation) -> None:
        self.situation_now = situation
        self.nodes: dict[Owner, Widget] = {}

    def situation(self) -> Situation:
        return self.situation_now

    def action_node(self, owner: Owner) -> Widget:
        return self.nodes.setdefault(owner, Widget())


class KeymapApp(App[None]):
    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.effective_keymap = keymap


def palette(app: App[Any], host: Host) -> dict[str, tuple[str, Any]]:
    return {
        command.title: (command.help, command.callback) for command in system_commands(app, host)
    }


def test_the_palette_shows_the_current_keys(english: None) -> None:
    host = Host(EVERYTHING)
    app = KeymapApp({})
    commands = palette(app, host)
    assert commands["Conversation: claim"][0] == "Assign it to me (c)"
    assert commands["Queue: jump to the longest-waiting customer"][0] == "Ctrl+G or n"
    assert commands["Case: log a case for this conversation"][0] == "l or Ctrl+L"
    assert commands["Queue: show pending"][0] == "2"
    assert commands["Help: show every key"][0] == "F1"

    remapped = palette(KeymapApp({"queue.claim": "y", "workspace.next_waiting": "f12"}), host)
    assert remapped["Conversation: claim"][0] == "Assign it to me (y)"
    assert remapped["Queue: jump to the longest-waiting customer"][0] == "F12 or n"

    # A command runs the action where its key would: on the node that binds it.
    expected: list[tuple[str, str, Owner]] = [
        ("Conversation: resolve", "set_status('resolved')", "queue_pane"),
        ("Case: log a case for this conversation", "screen.log_case", "queue_pane"),
        ("Reply: quick replies", "palette", "composer"),
        ("Cases: register and today's follow-ups", "cases", "workspace"),
        ("Help: show every key", "help", "app"),
    ]
    for title, action, owner in expected:
        callback = commands[title][1]
        assert isinstance(callback, partial)
        assert callback.func == app.run_action
        assert callback.args == (action, host.nodes[owner])


def test_the_palette_says_why_an_action_does_not_apply(english: None) -> None:
    app = KeymapApp({})
    commands = palette(app, Host(Situation(store_open=True)))
    help_text, callback = commands["Conversation: claim"]
    assert help_text == "Not now: Open a conversation first."
    assert isinstance(callback, partial)
    assert callback.func == app.notify
    assert callback.args == ("Open a conversation first.",)
    assert commands["Queue: show open"][0] == "1"  # a filter always applies

    hostile = Abilities(backend="x", missing={"assign": "[@click=app.quit]no[/]"})
    situation = dataclasses.replace(EVERYTHING, abilities=hostile)
    help_text, _callback = palette(app, Host(situation))["Conversation: claim"]
    assert help_text == r"Not now: \[@click=app.quit]no\[/]"  # read as markup: escaped


def test_the_palette_speaks_the_agents_language() -> None:
    set_language("zh-CN")
    try:
        commands = palette(KeymapApp({}), Host(EVERYTHING))
        assert commands["会话：认领"][0] == "分配给我 (c)"
        assert commands["会话列表：跳到等得最久的买家"][0] == "Ctrl+G 或 n"
    finally:
        set_language("en")


def test_f1_shows_the_remapped_keys(english: None) -> None:
    table = binding_table({"workspace.cases": "f12"}, "Enter / Ctrl+J")
    assert re.search(r"^  F12 +Cases$", table, re.MULTILINE)
    assert re.search(r"^  c +Claim", table, re.MULTILINE)
    assert re.search(r"^  Enter / Ctrl\+J +Send / new line", table, re.MULTILINE)
    assert "workspace.cases" not in table


def test_key_labels() -> None:
    assert [key_label(k) for k in ("ctrl+g", "f5", "n", "G", "escape", "alt+q", "pagedown")] == [
        "Ctrl+G",
        "F5",
        "n",
        "G",
        "Esc",
        "Alt+Q",
        "PgDn",
    ]
    assert keys_label(["ctrl+g", "n", "f5"]) == "Ctrl+G or n or F5"


async def test_a_remapped_key_shows_in_f1_and_the_palette_of_the_running_console(
    tmp_path: Path,
) -> None:
    settings = offline_settings(tmp_path).model_copy(update={"keymap": {"queue.claim": "y"}})
    app = offline_app(settings)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot, online=False)
        commands = {c.title: c.help for c in system_commands(app, app.screen)}
        assert commands["Conversation: claim"] == "Assign it to me (y)"
        show_pending = {c.title: c.callback for c in system_commands(app, app.screen)}
        await show_pending["Queue: show pending"]()
        assert workspace(app).filter.status is ConversationStatus.PENDING
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await wait_until(pilot, lambda: bool(app.screen.query(".help-area")))
        shown = "\n".join(
            str(static.content) for static in app.screen.query(".help-area").results(Static)
        )
        assert re.search(r"^ *y +Claim", shown, re.MULTILINE), shown
        # Over a dialog, the palette's commands are still the workspace's.
        commands = {c.title: c.help for c in system_commands(app, app.screen)}
        assert commands["Conversation: claim"] == "Assign it to me (y)"
    if app.context is not None:
        app.context.close()


# --- the import graph ----------------------------------------------------------------------


def test_no_import_circle_in_the_ui() -> None:
    graph = grimp.build_graph("cs_console")
    ui = {m for m in graph.modules if m.startswith("cs_console.ui")}
    circles = sorted(
        (importer, imported)
        for importer in ui
        for imported in graph.find_modules_directly_imported_by(importer) & ui
        if graph.find_shortest_chain(importer=imported, imported=importer)
    )
    assert circles == []
    for module in ("cs_console.ui.actions", "cs_console.ui.keys", "cs_console.ui.palette"):
        reached = graph.find_upstream_modules(module)
        assert not {
            m
            for m in reached
            if m == "cs_console.ui.app"
            or m.startswith(("cs_console.ui.screens", "cs_console.ui.panes"))
        }, module
    assert graph.find_modules_that_directly_import("cs_console.ui.app") & ui == {
        "cs_console.ui.launch"
    }
