"""The status bar: who, how long into the shift, the link, who waits for an answer and
who waits too long."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from cs_console.i18n import _, ngettext
from cs_console.timeutil import humanize_duration
from cs_console.ui.presence_flow import presence_label
from cs_console.ui.text import fit, local_time, safe_line
from cs_console.views import SyncStatus

if TYPE_CHECKING:
    from cs_console.services.alerts import Unanswered

#: How each presence is coloured: online is the one that brings new conversations.
_PRESENCE_STYLES = {"online": "$success", "away": "$warning", "offline": "$text-muted"}

#: The most of a backend error the bar shows, in terminal cells.
ERROR_CELLS = 120


class StatusBar(Static):
    """One line at the bottom of the workspace."""

    sync: reactive[SyncStatus | None] = reactive(None)
    over_alert: reactive[int] = reactive(0)
    agent: reactive[str] = reactive("")
    #: The agent's presence (online, away, offline); "" until the store says.
    presence: reactive[str] = reactive("")
    #: Open conversations whose customer waits for us (mine, all); None: not counted yet.
    unanswered: reactive[Unanswered | None] = reactive(None)

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.shift_started = clock()

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def render(self) -> Content:
        parts: list[Content] = []
        who = Content.styled(f" {safe_line(self.agent) or '…'}", "bold")
        if self.presence:
            style = _PRESENCE_STYLES.get(self.presence, "$text-muted")
            who = who + Content(" · ") + Content.styled(presence_label(self.presence), style)
        parts.append(who + Content(" "))
        shift = humanize_duration((self.clock() - self.shift_started).total_seconds())
        parts.append(Content(" " + _("shift {duration}").format(duration=shift) + " "))
        status = self.sync
        if status is None:
            parts.append(Content.styled(" ○ " + _("connecting…") + " ", "$text-muted"))
        elif status.online:
            last = local_time(status.last_sync_at, "%H:%M:%S")
            parts.append(
                Content.styled(" ● " + _("synced {time}").format(time=last) + " ", "$success")
            )
        else:
            parts.append(Content.styled(" ○ " + _("not connected") + " ", "$error"))
        if status is not None:
            depth_style = "$warning" if status.outbox_depth else "$text-muted"
            outbox = _("outbox {count}").format(count=status.outbox_depth)
            parts.append(Content.styled(f" {outbox} ", depth_style))
        if self.over_alert:
            waiting = ngettext(
                "{count} waiting too long", "{count} waiting too long", self.over_alert
            ).format(count=self.over_alert)
            parts.append(Content.styled(f" {waiting} ", "bold $error"))
        # After the red count: on a narrow terminal the end of the bar is what is cut.
        counted = self.unanswered
        if counted is not None:
            waiting_on_us = _("unanswered {mine} mine · {all} all").format(
                mine=counted.mine, all=counted.everyone
            )
            style = "$warning" if counted.mine else "$text-muted"
            parts.append(Content.styled(f" {waiting_on_us} ", style))
        if status is not None and status.last_error:
            # Backend error text is untrusted: Content() never parses it as markup. Cut by
            # terminal cells, so a Chinese message is not twice as wide as intended.
            error = safe_line(status.last_error)
            if cell_len(error) > ERROR_CELLS:
                error = fit(error, ERROR_CELLS)
            parts.append(Content(" " + error).stylize("$error"))
        return Content(" │ ").join(parts)
