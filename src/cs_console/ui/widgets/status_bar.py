"""The status bar: who, how long into the shift, the link, and who waits too long."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.cells import cell_len
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from cs_console.i18n import _, ngettext
from cs_console.timeutil import humanize_duration
from cs_console.ui.text import fit, local_time, safe_line
from cs_console.views import SyncStatus

#: The most of a backend error the bar shows, in terminal cells.
ERROR_CELLS = 120


class StatusBar(Static):
    """One line at the bottom of the workspace."""

    sync: reactive[SyncStatus | None] = reactive(None)
    over_alert: reactive[int] = reactive(0)
    agent: reactive[str] = reactive("")

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.shift_started = clock()

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def render(self) -> Content:
        parts: list[Content] = []
        parts.append(Content.styled(f" {self.agent or '…'} ", "bold"))
        shift = humanize_duration((self.clock() - self.shift_started).total_seconds())
        parts.append(Content(" " + _("shift {duration}").format(duration=shift) + " "))
        status = self.sync
        if status is None:
            parts.append(Content.styled(" ○ " + _("connecting…") + " ", "$text-muted"))
        elif status.online:
            last = local_time(status.last_sync_at, "%H:%M:%S")
            parts.append(
                Content.styled(" ● " + _("online {time}").format(time=last) + " ", "$success")
            )
        else:
            parts.append(Content.styled(" ○ " + _("offline") + " ", "$error"))
        if status is not None:
            depth_style = "$warning" if status.outbox_depth else "$text-muted"
            outbox = _("outbox {count}").format(count=status.outbox_depth)
            parts.append(Content.styled(f" {outbox} ", depth_style))
        if self.over_alert:
            waiting = ngettext(
                "{count} waiting too long", "{count} waiting too long", self.over_alert
            ).format(count=self.over_alert)
            parts.append(Content.styled(f" {waiting} ", "bold $error"))
        if status is not None and status.last_error:
            # Backend error text is untrusted: Content() never parses it as markup. Cut by
            # terminal cells, so a Chinese message is not twice as wide as intended.
            error = safe_line(status.last_error)
            if cell_len(error) > ERROR_CELLS:
                error = fit(error, ERROR_CELLS)
            parts.append(Content(" " + error).stylize("$error"))
        return Content(" │ ").join(parts)
