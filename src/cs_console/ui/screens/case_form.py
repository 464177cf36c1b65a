"""The case form: pre-filled from the conversation, finished with a few keys.

Tab moves between fields, Ctrl+S saves, Escape cancels. Amounts are typed as money
(``12.50``); the follow-up date as ``YYYY-MM-DD`` or ``+N`` days from today.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea

from cs_console.domain import CaseCategory, CaseStatus, Resolution, Responsible
from cs_console.ui.text import safe_line

CATEGORY_LABELS: dict[CaseCategory, str] = {
    CaseCategory.WRONG_ADDRESS: "Logistics · wrong address",
    CaseCategory.OUTSIDE_AREA: "Logistics · outside delivery area",
    CaseCategory.NO_TRACKING_UPDATE: "Logistics · no tracking update",
    CaseCategory.MISROUTED: "Logistics · mis-routed",
    CaseCategory.LOST: "Logistics · lost",
    CaseCategory.COURIER_DOOR: "Logistics · courier won't deliver to the door",
    CaseCategory.DAMAGED_TRANSIT: "Goods · damaged in transit",
    CaseCategory.DAMAGED_LATE: "Goods · found damaged long after delivery",
    CaseCategory.QUALITY: "Goods · quality",
    CaseCategory.DISLIKE: "Goods · dislike / 7-day return",
    CaseCategory.USAGE_QUESTION: "Goods · usage question",
    CaseCategory.COUNTERFEIT: "Goods · counterfeit claim",
    CaseCategory.MISSING_ITEM: "Fulfilment · missing item",
    CaseCategory.WRONG_ITEM: "Fulfilment · wrong item",
    CaseCategory.REFUND_BEFORE_GROUP: "Refund · before the group forms",
    CaseCategory.REFUND_BEFORE_SHIPPING: "Refund · before shipping",
    CaseCategory.REFUND_SHIPPED: "Refund · shipped, refund only",
    CaseCategory.REFUND_SIGNED: "Refund · signed for, refund only",
    CaseCategory.REFUND_LATE_CLAIM: "Refund · late claim",
    CaseCategory.INVOICE: "Invoice missing",
    CaseCategory.ATTITUDE: "Complaint about an agent's attitude",
    CaseCategory.NEGATIVE_REVIEW: "Negative review",
    CaseCategory.SUGGESTION: "Suggestion",
    CaseCategory.FEEDBACK: "After-sale feedback",
}


def parse_money(text: str) -> int:
    """``12.5`` -> 1250 minor units; blank -> 0."""
    cleaned = text.strip().replace(",", "").lstrip("¥$€")
    if not cleaned:
        return 0
    try:
        value = round(float(cleaned) * 100)
    except ValueError:
        raise ValueError(f"not an amount: {text!r}") from None
    if value < 0:
        raise ValueError("amounts cannot be negative")
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
        raise ValueError(f"follow-up date as YYYY-MM-DD or +days, not {cleaned!r}") from None


def _money(minor: int) -> str:
    return f"{minor / 100:.2f}" if minor else ""


class CaseFormScreen(ModalScreen[Any]):
    """Returns the edited ``CaseDraft``, or None when cancelled."""

    CSS_PATH = "case_form.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save case", priority=True, id="case.save"),
        Binding("escape", "cancel", "Cancel", id="case.cancel"),
    ]

    def __init__(
        self, draft: Any, *, orders: list[tuple[str, str]], today: date, limit_minor: int
    ) -> None:
        super().__init__()
        self.draft = draft
        self.orders = orders
        self.today = today
        self.limit_minor = limit_minor

    def compose(self) -> ComposeResult:
        d = self.draft
        title = "Edit case" if d.case_id else "Log a case"
        with Vertical(id="dialog"):
            yield Static(Content.styled(title, "bold"), id="title")
            with Grid(id="fields"):
                yield Label("Category")
                yield Select(
                    [(label, c.value) for c, label in CATEGORY_LABELS.items()],
                    value=d.category.value,
                    allow_blank=False,
                    id="category",
                )
                yield Label("Order")
                yield Select(
                    [(safe_line(label), order_id) for order_id, label in self.orders],
                    value=d.order_id if d.order_id in {o for o, _ in self.orders} else Select.NULL,
                    prompt="(no order)",
                    id="order",
                )
                yield Label("Responsible")
                yield Select(
                    [(r.value, r.value) for r in Responsible],
                    value=d.responsible.value if d.responsible else Select.NULL,
                    prompt="(not known yet)",
                    id="responsible",
                )
                yield Label("Resolution")
                yield Select(
                    [(r.value, r.value) for r in Resolution],
                    value=d.resolution.value if d.resolution else Select.NULL,
                    prompt="(not decided)",
                    id="resolution",
                )
                yield Label("Status")
                yield Select(
                    [(s.value, s.value) for s in CaseStatus],
                    value=d.status.value,
                    allow_blank=False,
                    id="status",
                )
                yield Label("Refund")
                yield Input(_money(d.refund_minor), placeholder="0.00", id="refund")
                yield Label("Compensation")
                yield Input(
                    _money(d.compensation_minor),
                    placeholder=f"0.00 (over {self.limit_minor / 100:.2f} needs a supervisor)",
                    id="compensation",
                )
                yield Label("Postage lost")
                yield Input(_money(d.postage_lost_minor), placeholder="0.00", id="postage")
                yield Label("Follow up on")
                yield Input(
                    d.follow_up_on.isoformat() if d.follow_up_on else "",
                    placeholder="YYYY-MM-DD or +3",
                    id="follow-up",
                )
                yield Label("Evidence")
                yield Input(
                    ", ".join(d.evidence),
                    placeholder="photo paths or URLs, comma-separated",
                    id="evidence",
                )
            yield Label("Notes")
            yield TextArea(d.notes, id="notes", soft_wrap=True, tab_behavior="focus")
            yield Static(
                Content.styled("Ctrl+S save · Esc cancel · Tab next field", "$text-muted"),
                id="hint",
            )
            yield Static(id="error")

    def on_mount(self) -> None:
        self.query_one("#category", Select).focus()

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
