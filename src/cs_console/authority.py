"""What a supervisor's approval of a case covers: one rule, read by the server (which
enforces it) and by the console (which asks for approval before the server refuses)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CaseTerms:
    """The parts of a case an approval is bound to."""

    order_id: str | None
    customer_id: str | None
    currency: str
    compensation_minor: int
    refund_minor: int


def approval_withdrawn(approved: CaseTerms, proposed: CaseTerms) -> str | None:
    """Why an approval given for ``approved`` does not cover ``proposed``; None if it
    still does. Another order, customer or currency, or a higher amount, needs a new
    approval; lower amounts and other edits (notes, follow-up) keep it."""
    checks = (
        (proposed.order_id != approved.order_id, "the order changed"),
        (proposed.customer_id != approved.customer_id, "the customer changed"),
        (proposed.currency != approved.currency, "the currency changed"),
        (
            proposed.compensation_minor > approved.compensation_minor,
            "the compensation went up",
        ),
        (proposed.refund_minor > approved.refund_minor, "the refund went up"),
    )
    return next((why for changed, why in checks if changed), None)
