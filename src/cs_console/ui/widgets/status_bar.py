"""The status bar: who, how long into the shift, the link, and who waits too long."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from cs_console.timeutil import humanize_duration
from cs_console.ui.text import local_time, safe_line
from cs_console.views import SyncStatus


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
        parts.append(Content(f" shift {shift} "))
        status = self.sync
        if status is None:
            parts.append(Content.styled(" ○ connecting… ", "$text-muted"))
        elif status.online:
            last = local_time(status.last_sync_at, "%H:%M:%S")
            parts.append(Content.styled(f" ● online {last} ", "$success"))
        else:
            parts.append(Content.styled(" ○ offline ", "$error"))
        if status is not None:
            depth_style = "$warning" if status.outbox_depth else "$text-muted"
            parts.append(Content.styled(f" outbox {status.outbox_depth} ", depth_style))
        if self.over_alert:
            parts.append(Content.styled(f" {self.over_alert} waiting too long ", "bold $error"))
        if status is not None and status.last_error:
            # Backend error text is untrusted: Content() never parses it as markup.
            parts.append(Content(" " + safe_line(status.last_error)[:120]).stylize("$error"))
        return Content(" │ ").join(parts)
