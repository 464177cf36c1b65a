"""Ctrl+F: the search dialog, and opening the conversation of the hit chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cs_console.i18n import _
from cs_console.ui.panes.base import GoToConversation

if TYPE_CHECKING:
    from textual.widget import Widget

    from cs_console.services.search import SearchHit
    from cs_console.ui.panes.base import Desk


def open_search(desk: Desk, workspace: Widget) -> None:
    """Show the search dialog over ``workspace``; the hit chosen opens its conversation
    (a customer's or an order's: the customer's most recent one) in the workspace, the
    queue's cursor on it."""
    ctx = desk.ctx
    if ctx is None:
        workspace.notify(_("The store is not open yet."), severity="warning")
        return
    # The dialog and the services load when first asked for, not with the first frame.
    from cs_console.services import search
    from cs_console.ui.screens.search import SearchScreen

    def chosen(hit: SearchHit | None) -> None:
        if hit is None:
            return
        conversation = search.conversation_for(ctx, hit)
        if conversation is None:
            workspace.notify(_("No conversation with this customer yet."))
            return
        workspace.post_message(GoToConversation(conversation))

    workspace.app.push_screen(SearchScreen(ctx), chosen)
