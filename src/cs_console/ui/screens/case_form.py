"""The case form: pre-filled from the conversation, finished with a few keys.

The fields come in the order of the decisions (category, resolution, amounts); the
category brings its usual responsible party and resolution. Letters typed on a closed
list pick an option, Tab moves on, Enter saves from any field (Ctrl+S in the notes),
Escape cancels. Amounts are typed as money (``12.50``); the follow-up date as
``YYYY-MM-DD`` or ``+N`` days from today.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea

from cs_console.domain import (
    STANDARD_HANDLING,
    CaseCategory,
    CaseStatus,
    Resolution,
    Responsible,
)
from cs_console.i18n import N_, _
from cs_console.sanitize import sanitize
from cs_console.ui.text import (
    case_status_label,
    resolution_label,
    responsible_label,
    safe_line,
    safe_text,
)
from cs_console.ui.widgets.case_history import CaseHistory
from cs_console.ui.widgets.jump_select import JumpSelect

CATEGORY_LABELS: dict[CaseCategory, str] = {
    CaseCategory.WRONG_ADDRESS: N_("Logistics · wrong address"),
    CaseCategory.OUTSIDE_AREA: N_("Logistics · outside delivery area"),
    CaseCategory.NO_TRACKING_UPDATE: N_("Logistics · no tracking update"),
    CaseCategory.MISROUTED: N_("Logistics · mis-routed"),
    CaseCategory.LOST: N_("Logistics · lost"),
    CaseCategory.COURIER_DOOR: N_("Logistics · courier won't deliver to the door"),
    CaseCategory.DAMAGED_TRANSIT: N_("Goods · damaged in transit"),
    CaseCategory.DAMAGED_LATE: N_("Goods · found damaged long after delivery"),
    CaseCategory.QUALITY: N_("Goods · quality"),
    CaseCategory.DISLIKE: N_("Goods · dislike / 7-day return"),
    CaseCategory.USAGE_QUESTION: N_("Goods · usage question"),
    CaseCategory.COUNTERFEIT: N_("Goods · counterfeit claim"),
    CaseCategory.MISSING_ITEM: N_("Fulfilment · missing item"),
    CaseCategory.WRONG_ITEM: N_("Fulfilment · wrong item"),
    CaseCategory.REFUND_BEFORE_GROUP: N_("Refund · before the group forms"),
    CaseCategory.REFUND_BEFORE_SHIPPING: N_("Refund · before shipping"),
    CaseCategory.REFUND_SHIPPED: N_("Refund · shipped, refund only"),
    CaseCategory.REFUND_SIGNED: N_("Refund · signed for, refund only"),
    CaseCategory.REFUND_LATE_CLAIM: N_("Refund · late claim"),
    CaseCategory.INVOICE: N_("Invoice missing"),
    CaseCategory.ATTITUDE: N_("Complaint about an agent's attitude"),
    CaseCategory.NEGATIVE_REVIEW: N_("Negative review"),
    CaseCategory.SUGGESTION: N_("Suggestion"),
    CaseCategory.FEEDBACK: N_("After-sale feedback"),
}


def parse_money(text: str) -> int:
    """``12.5`` -> 1250 minor units; blank -> 0."""
    cleaned = text.strip().replace(",", "").lstrip("¥$€")
    if not cleaned:
        return 0
    try:
        value = round(float(cleaned) * 100)
    except ValueError:
        raise ValueError(_("not an amount: {text!r}").format(text=text)) from None
    if value < 0:
        raise ValueError(_("amounts cannot be negative"))
    return value


def parse_follow_up(text: str, today: date) -> date | None:
    """``2026-11-30``, ``+3`` (days from today) or blank."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if cleaned.startswith("+") and cleaned[1:].isdigit():
        return today + timedelta(days=int(cleaned[1:]))
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            _("follow-up date as YYYY-MM-DD or +days, not {text!r}").format(text=cleaned)
        ) from None


def _money(minor: int) -> str:
    return f"{minor / 100:.2f}" if minor else ""


class CaseFormScreen(ModalScreen[Any]):
    """Returns the edited ``CaseDraft``, or None when cancelled."""

    CSS_PATH = "case_form.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save case"), priority=True, id="case.save"),
        Binding("escape", "cancel", N_("Cancel"), id="case.cancel"),
    ]

    def __init__(
        self, draft: Any, *, orders: list[tuple[str, str]], today: date, limit_minor: int
    ) -> None:
        super().__init__()
        self.draft = draft
        self.orders = orders
        self.today = today
        self.limit_minor = limit_minor
        #: Selects the agent changed (a category's presets leave them alone).
        self._touched: set[str] = set()
        #: Selects being set by a preset, whose Changed is not the agent's.
        self._presetting: set[str] = set()

    def compose(self) -> ComposeResult:
        d = self.draft
        title = _("Edit case") if d.case_id else _("Log a case")
        with Vertical(id="dialog"):
            yield Static(Content.styled(title, "bold"), id="title")
            # The order of the fields is the order of the decisions: what happened, how
            # it is settled, for how much; then the particulars, which are pre-filled.
            with Grid(id="fields"):
                yield Label(_("Category"))
                yield JumpSelect(
                    [(Text(_(label)), c.value) for c, label in CATEGORY_LABELS.items()],
                    value=d.category.value,
                    allow_blank=False,
                    id="category",
                )
                yield Label(_("Resolution"))
                yield JumpSelect(
                    [(Text(resolution_label(r.value)), r.value) for r in Resolution],
                    value=d.resolution.value if d.resolution else Select.NULL,
                    prompt=_("(not decided)"),
                    id="resolution",
                )
                yield Label(_("Refund"))
                yield Input(_money(d.refund_minor), placeholder="0.00", id="refund")
                yield Label(_("Compensation"))
                yield Input(_money(d.compensation_minor), placeholder="0.00", id="compensation")
                yield Label("")
                yield Static(id="limit")
                yield Label(_("Responsible"))
                yield JumpSelect(
                    [(Text(responsible_label(r.value)), r.value) for r in Responsible],
                    value=d.responsible.value if d.responsible else Select.NULL,
                    prompt=_("(not known yet)"),
                    id="responsible",
                )
                yield Label(_("Order"))
                yield JumpSelect(
                    [(safe_text(label), order_id) for order_id, label in self.orders],
                    value=d.order_id
                    if d.order_id in {o for o, _label in self.orders}
                    else Select.NULL,
                    prompt=_("(no order)"),
                    id="order",
                )
                yield Label(_("Status"))
                yield JumpSelect(
                    [(Text(case_status_label(s.value)), s.value) for s in CaseStatus],
                    value=d.status.value,
                    allow_blank=False,
                    id="status",
                )
                yield Label(_("Postage lost"))
                yield Input(_money(d.postage_lost_minor), placeholder="0.00", id="postage")
                yield Label(_("Follow up on"))
                yield Input(
                    d.follow_up_on.isoformat() if d.follow_up_on else "",
                    placeholder=_("YYYY-MM-DD or +3"),
                    id="follow-up",
                )
                yield Label(_("Evidence"))
                yield Input(
                    safe_line(", ".join(d.evidence)),
                    placeholder=_("photo paths or URLs, comma-separated"),
                    id="evidence",
                )
            yield Label(_("Notes"))
            # Notes are pre-filled from the customer's messages: no escape sequence may
            # reach the terminal through the editor.
            yield TextArea(sanitize(d.notes), id="notes", soft_wrap=True, tab_behavior="focus")
            yield Static(
                Content.styled(
                    _("Enter save (Ctrl+S in the notes) · Tab next · letters pick · Esc cancel"),
                    "$text-muted",
                ),
                id="hint",
            )
            yield Static(id="error")
            if d.case_id:  # an existing case: who changed what, read only
                yield CaseHistory(d.case_id, currency=d.currency, categories=CATEGORY_LABELS)

    def on_mount(self) -> None:
        self.query_one("#category", Select).focus()
        self._show_limit()

    def on_key(self, event: events.Key) -> None:
        # Enter saves from any field but the notes (a new line there) and an open list
        # (it picks the option): fields and selects leave Enter to the form.
        if event.key != "enter" or isinstance(self.focused, TextArea):
            return
        if not any(select.expanded for select in self.query(Select)):
            event.stop()
            event.prevent_default()
            self.action_save()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("refund", "compensation"):
            self._show_limit()

    def on_select_changed(self, event: Select.Changed) -> None:
        # Another category brings its usual responsible party and resolution, unless the
        # agent has chosen those already (a new case only: a logged one keeps its own).
        if event.select.id == "category" and self.draft.case_id is None:
            chosen = CaseCategory(str(event.value))
            responsible, resolution = STANDARD_HANDLING[chosen]
            if "responsible" not in self._touched:
                self._set_quietly("#responsible", responsible)
            if "resolution" not in self._touched:
                self._set_quietly("#resolution", resolution)
        elif event.select.id and event.select.id not in self._presetting:
            self._touched.add(event.select.id)
        self._presetting.discard(event.select.id or "")

    def _set_quietly(self, selector: str, value: Responsible | Resolution | None) -> None:
        select = self.query_one(selector, Select)
        wanted = Select.NULL if value is None else value.value
        if select.value != wanted:
            self._presetting.add(selector.lstrip("#"))
            select.value = wanted

    def _show_limit(self) -> None:
        """The authority limit stays in view; past it, it says the case will wait for a
        supervisor (the service decides; this is the agent's warning beforehand)."""
        limit = f"{self.limit_minor / 100:.2f}"
        try:
            given = parse_money(self.query_one("#refund", Input).value) + parse_money(
                self.query_one("#compensation", Input).value
            )
        except ValueError:
            given = 0
        if given > self.limit_minor:
            text = Content.styled(
                _("Over your limit of {limit}: the case waits for a supervisor.").format(
                    limit=limit
                ),
                "bold $warning",
            )
        else:
            text = Content.styled(
                _("Refund and compensation up to {limit} are yours to give.").format(limit=limit),
                "$text-muted",
            )
        self.query_one("#limit", Static).update(text)

    def _value(self, selector: str) -> str | None:
        value = self.query_one(selector, Select).value
        return None if value is Select.NULL or value is None else str(value)

    def action_save(self) -> None:
        try:
            draft = replace(
                self.draft,
                category=CaseCategory(str(self.query_one("#category", Select).value)),
                order_id=self._value("#order"),
                responsible=Responsible(r) if (r := self._value("#responsible")) else None,
                resolution=Resolution(r) if (r := self._value("#resolution")) else None,
                status=CaseStatus(str(self.query_one("#status", Select).value)),
                refund_minor=parse_money(self.query_one("#refund", Input).value),
                compensation_minor=parse_money(self.query_one("#compensation", Input).value),
                postage_lost_minor=parse_money(self.query_one("#postage", Input).value),
                follow_up_on=parse_follow_up(self.query_one("#follow-up", Input).value, self.today),
                evidence=[
                    e.strip()
                    for e in self.query_one("#evidence", Input).value.split(",")
                    if e.strip()
                ],
                notes=self.query_one("#notes", TextArea).text,
            )
        except ValueError as exc:
            self.query_one("#error", Static).update(Content.styled(str(exc), "bold $error"))
            return
        self.dismiss(draft)

    def action_cancel(self) -> None:
        self.dismiss(None)
