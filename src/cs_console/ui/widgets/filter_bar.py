"""The queue's filter line: status, scope and group, each with its count and its key."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from cs_console.domain import ConversationStatus
from cs_console.i18n import _, pgettext
from cs_console.ui.text import group_label, status_label
from cs_console.ui.widgets.queue_list import tag_label
from cs_console.views import QueueCounts, QueueFilter

_STATUS_KEYS = {
    ConversationStatus.OPEN: "1",
    ConversationStatus.PENDING: "2",
    ConversationStatus.SNOOZED: "3",
    ConversationStatus.RESOLVED: "4",
}


class FilterBar(Static):
    """Shows which filter applies and how many each choice would show."""

    # The bar wraps onto more lines as the counts grow (height: auto), but a layout pass
    # reflows the whole screen: ask for one only when the number of lines changes, not
    # on every filter keystroke (the queue keys' biggest remaining cost).
    counts: reactive[QueueCounts | None] = reactive(None)
    current: reactive[QueueFilter] = reactive(QueueFilter)
    _lines = 0

    def watch_counts(self) -> None:
        self._relayout_if_taller_or_shorter()

    def watch_current(self) -> None:
        self._relayout_if_taller_or_shorter()

    def on_resize(self) -> None:
        self._relayout_if_taller_or_shorter()

    def _relayout_if_taller_or_shorter(self) -> None:
        width = self.content_size.width
        lines = len(self.render().wrap(width)) if width > 0 else 0
        if lines != self._lines:
            self._lines = lines
            self.refresh(layout=True)

    def render(self) -> Content:
        flt, counts = self.current, self.counts

        def item(key: str, label: str, count: int | None, active: bool) -> Content:
            text = f"{key} {label}" + (f" {count}" if count is not None else "")
            return Content.styled(text, "bold reverse" if active else "$text-muted")

        statuses = [
            item(
                _STATUS_KEYS[s],
                status_label(s),
                counts.by_status[s] if counts else None,
                flt.status is s,
            )
            for s in ConversationStatus
        ]
        scopes = [
            item("a", _("all"), counts.everyone if counts else None, flt.scope == "all"),
            item("m", _("mine"), counts.mine if counts else None, flt.scope == "mine"),
            item(
                "u",
                _("unassigned"),
                counts.unassigned if counts else None,
                flt.scope == "unassigned",
            ),
        ]
        desk = pgettext("desks", "both") if flt.group is None else group_label(flt.group)
        group_count = None
        if counts is not None and flt.group is not None:
            group_count = counts.by_group[flt.group]
        groups = [item("v", desk, group_count, flt.group is not None)]
        lines = [
            Content(" ").join(statuses),
            Content(" ").join(scopes) + Content("  ") + Content(" ").join(groups),
        ]
        # Shown only while on, so the bar stays as short as it was for everyone else.
        extra = []
        if flt.min_priority == "urgent":
            extra.append(item("P", _("urgent"), None, True))
        elif flt.min_priority == "high":
            extra.append(item("P", _("high+"), None, True))
        if flt.tag:
            # A tag may come from a backend: Content.styled keeps it plain text.
            extra.append(item("T", tag_label(flt.tag), None, True))
        if extra:
            lines.append(Content(" ").join(extra))
        return Content("\n").join(lines)
