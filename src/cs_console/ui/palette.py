"""The command palette's console commands, from the action table: each action's
"Area: verb" title, its help text and the keys that do it now (as ``[keymap]``
remapped them); what does not apply now says why instead of running."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any, Protocol, runtime_checkable

from textual.app import App, SystemCommand
from textual.dom import DOMNode
from textual.markup import escape

from cs_console.i18n import _
from cs_console.ui.actions import (
    ACTIONS,
    BY_ID,
    Action,
    Owner,
    Situation,
    current_keys,
    keys_label,
)
from cs_console.ui.keys import applied_keymap
from cs_console.ui.text import safe_line


@runtime_checkable
class ActionHost(Protocol):
    """The screen whose actions the palette offers (the workspace)."""

    def situation(self) -> Situation:
        """What decides whether an action applies now."""
        ...

    def action_node(self, owner: Owner) -> DOMNode:
        """Where an action of ``owner`` runs: the app, the screen, a pane or a widget."""
        ...


def palette_keys(action: Action, keymap: dict[str, str]) -> str:
    """The keys that run ``action`` now, its own and those of ``action.also``, in words."""
    keys: list[str] = []
    for binding_id in (action.id, *action.also):
        keys += current_keys(BY_ID[binding_id], keymap).split(",")
    return keys_label(keys)


def palette_help(action: Action, keymap: dict[str, str]) -> str:
    """The line under the title: the help text and the current keys ("Mark resolved (x)")."""
    keys = palette_keys(action, keymap)
    if not action.help:
        return keys
    return _("{help} ({keys})").format(help=_(action.help), keys=keys)


def system_commands(app: App[Any], host: object) -> Iterator[SystemCommand]:
    """The console's commands for ``App.get_system_commands``.

    Args:
        app: The running app (its ``effective_keymap`` gives the current keys).
        host: The screen the palette was opened on; when it is not the workspace (a
            dialog), the workspace under it.

    Yields:
        One command per action with a palette title. One that does not apply now
        (no conversation open, the backend cannot) says why, and running it says so.
    """
    workspace = _workspace(app, host)
    if workspace is None:
        return
    keymap = applied_keymap(app)
    situation = workspace.situation()
    for action in ACTIONS:
        if action.title is None:
            continue
        reason = action.when.why_not(situation)
        if reason is None:
            help_text = palette_help(action, keymap)
            node = workspace.action_node(action.owner)
            # As its key would: on the node that binds it, greyed-out actions not run.
            callback: Any = partial(app.run_action, action.action, node)
        else:
            # A backend's reason is untrusted text.
            reason = safe_line(reason)
            help_text = _("Not now: {reason}").format(reason=reason)
            callback = partial(app.notify, reason, severity="warning", markup=False)
        # The palette reads help text as markup: keys from [keymap] and a backend's
        # reason go in escaped.
        yield SystemCommand(_(action.title), escape(help_text), callback)


def _workspace(app: App[Any], host: object) -> ActionHost | None:
    if isinstance(host, ActionHost):
        return host
    return next((s for s in reversed(app.screen_stack) if isinstance(s, ActionHost)), None)
