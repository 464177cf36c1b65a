"""Logging and editing a case from the workspace, and the refund a case settles on.

The workspace loads this module when the agent first logs a case, so the services it
imports (and SQLAlchemy with them) are never on the way to the first frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widget import Widget

from cs_console.domain import CaseCategory, Resolution
from cs_console.i18n import _
from cs_console.services import cases, conversations, orders
from cs_console.ui.screens.case_form import CaseFormScreen
from cs_console.ui.screens.choice import ChoiceScreen
from cs_console.ui.text import money, order_status_label, safe_line

if TYPE_CHECKING:
    from cs_console.services.cases import CaseDraft
    from cs_console.ui.panes.base import Desk
    from cs_console.views import OrderRow


def log_case(desk: Desk, node: Widget, *, category: str | None = None) -> None:
    """Open the case form for the conversation on screen, pre-filled from it (and, for a
    new case, with ``category`` when a quick reply asked for one)."""
    ctx, target = desk.ctx, desk.open_id
    if target is None:
        node.notify(_("Open a conversation first."), severity="warning")
        return
    if ctx is None:
        return
    info = conversations.info(ctx, target)
    draft = cases.draft_for(
        ctx,
        conversation_id=target,
        customer_id=info.customer_id if info else None,
        order=desk.selected_order(),
        messages=desk.thread_messages(),
    )
    if category is not None:
        draft = cases.with_category(draft, CaseCategory(category))
    edit_case(desk, node, draft)


def edit_case(desk: Desk, node: Widget, draft: CaseDraft) -> None:
    """Open the case form on ``draft``; save what the agent confirms."""
    ctx = desk.ctx
    if ctx is None:
        return
    customer_orders = orders.for_customer(ctx, draft.customer_id) if draft.customer_id else []
    choices = [
        (o.order_id, f"{o.number} · {order_status_label(o.status)}") for o in customer_orders
    ]

    async def saved(result: CaseDraft | None) -> None:
        if result is None:
            return
        written = await desk.write(
            node,
            lambda: cases.save(ctx, result),
            name=_("Log case"),
            failed=lambda error: _("Case not saved: {error}").format(error=error),
            refusals=(ValueError,),  # the protocol's limits (a note too long...)
        )
        if written is None:
            return
        if written.value.needs_approval:
            node.notify(
                _(
                    "Refund and compensation are over your limit on this order: the case "
                    "waits for a supervisor's approval."
                ),
                severity="warning",
                timeout=8,
            )
        else:
            node.notify(_("Case saved."))
            offer_refund(desk, node, result, customer_orders, written.value.case_id)
        desk.console.kick_sync()

    node.app.push_screen(
        CaseFormScreen(
            draft,
            orders=choices,
            today=desk.console.clock().astimezone().date(),
            limit_minor=cases.authority_limit_minor(ctx),
        ),
        saved,
    )


def offer_refund(
    desk: Desk, node: Widget, draft: CaseDraft, customer_orders: list[OrderRow], case_id: str
) -> None:
    """A case settled by a refund: offer to make it in the order system now."""
    ctx = desk.ctx
    order = next((o for o in customer_orders if o.order_id == draft.order_id), None)
    if (
        ctx is None
        or order is None
        or draft.resolution not in (Resolution.REFUND, Resolution.RETURN_AND_REFUND)
        or draft.refund_minor <= 0
    ):
        return
    unable = desk.missing("refunds")
    if unable is not None:
        node.notify(
            _("Refund it in the shop's own system: {why}").format(why=safe_line(unable)),
            markup=False,
        )
        return
    amount = money(draft.refund_minor, order.currency)
    reason = _("refund for case {case}").format(case=case_id)

    async def chosen(answer: str | None) -> None:
        if answer != "refund":
            return
        written = await desk.write(
            node,
            lambda: orders.refund(ctx, order, draft.refund_minor, reason, case_id=case_id),
            name=_("Refund now"),
            failed=lambda error: _("Refund not queued: {error}").format(error=error),
            refusals=(orders.RefundError,),
        )
        if written is None:
            return
        node.notify(
            _("Refund of {amount} queued; it shows in the timeline once made.").format(
                amount=amount
            )
        )
        desk.console.kick_sync()

    title = _("Refund {amount} on order {number} now?").format(
        amount=amount, number=safe_line(order.number)
    )
    node.app.push_screen(
        ChoiceScreen(title, [("refund", _("Refund now")), ("later", _("Not now"))]),
        chosen,
    )
