"""Ctrl+O: the agent says whether they take new conversations (online), keep theirs
without new ones (away), or leave (offline: theirs go back to the pool after the
server's grace period)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cs_console.i18n import N_, _

if TYPE_CHECKING:
    from textual.screen import Screen

#: (presence, label): the services' values, the agent's words.
PRESENCE_CHOICES = [
    ("online", N_("Online: assign me new conversations")),
    ("away", N_("Away: keep mine, no new ones")),
    ("offline", N_("Offline: give mine back after a while")),
]

PRESENCE_LABELS = {
    "online": N_("online"),
    "away": N_("away"),
    "offline": N_("offline"),
}


def presence_label(presence: str) -> str:
    """A presence in the agent's language (for the status bar)."""
    known = PRESENCE_LABELS.get(presence)
    return _(known) if known is not None else presence


def choose_presence(workspace: Screen[None]) -> None:
    """Ask online, away or offline, and queue the choice for the backend."""
    from cs_console.ui.panes.base import console_of
    from cs_console.ui.screens.choice import ChoiceScreen  # a dialog: loaded when opened

    console = console_of(workspace)
    ctx = console.session.context
    if ctx is None:
        workspace.notify(_("The store is not open yet."), severity="warning")
        return
    from cs_console.services import presence
    from cs_console.services.context import StoreError

    now = presence.current(ctx)
    choices = [
        (value, ("• " if value == now else "  ") + _(label)) for value, label in PRESENCE_CHOICES
    ]

    def chosen(value: str | None) -> None:
        if value is None:
            return
        try:
            presence.set_presence(ctx, value)
        except StoreError as exc:
            workspace.notify(
                _("Presence not changed: {error}").format(error=exc),
                severity="error",
                markup=False,
            )
            return
        workspace.notify(
            _("You are {presence}.").format(presence=presence_label(value)), markup=False
        )
        console.kick_sync()

    workspace.app.push_screen(ChoiceScreen(_("Presence"), choices), chosen)
