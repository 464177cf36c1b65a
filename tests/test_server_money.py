"""The server's money rules, over HTTP as an agent and as a supervisor: refunds never
pass what was paid, an agent's money on one order stays within the authority limit
unless a supervisor approved a case covering it, and an approval covers only what was
approved. Every refusal is checked to have written nothing.

The tiny shop: order ord-1 of 王芳 (cus-1), ¥78.00 paid; Lan and Mei are agents, Sofia
a supervisor; the limit is the default ¥20.00.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cs_console import protocol as p
from cs_console.domain import CaseStatus, OrderStatus, Resolution
from cs_console.server.state import ServerState
from cs_console.services import cases, orders, sync
from cs_console.services.context import AgentContext
from cs_console.store.models import CASE, ORDER
from cs_console.sync.engine import SyncReport
from cs_console.timeutil import utcnow
from tests.harness import LiveServer, client_context
from tests.harness import server_snapshot as snapshot


@dataclass
class Api:
    state: ServerState
    tokens: dict[str, str]
    client: httpx.Client

    def op(self, who: str, operation: dict[str, Any]) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.tokens[who]}",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        return self.client.post(
            "/api/v1/operations", headers=headers, json={"operation": operation}
        )

    def refused(self, who: str, operation: dict[str, Any], status: int) -> str:
        """Send ``operation``, expect ``status`` and no write at all; the reason."""
        before = snapshot(self.state)
        response = self.op(who, operation)
        assert response.status_code == status, response.text
        error = p.ErrorBody.model_validate_json(response.content)
        assert error.error
        assert error.detail
        assert snapshot(self.state) == before, "a refused request wrote something"
        return error.error + " " + error.detail

    def ok(self, who: str, operation: dict[str, Any]) -> dict[str, Any]:
        response = self.op(who, operation)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["result"]
        return result

    def order_status(self, order_id: str) -> str:
        with self.state.read() as conn:
            return str(
                conn.execute(select(ORDER.c.status).where(ORDER.c.id == order_id)).scalar_one()
            )

    def case(self, case_id: str) -> Any:
        with self.state.read() as conn:
            return conn.execute(select(CASE).where(CASE.c.id == case_id)).mappings().one()


@pytest.fixture
def api(live_server: LiveServer, tokens: dict[str, str]) -> Iterator[Api]:
    now = utcnow()
    live_server.state.load_records(
        {
            "order": [
                p.OrderRecord(
                    id=order_id,
                    number=number,
                    customer_id="cus-2",
                    status=OrderStatus.DELIVERED,
                    total_minor=7800,
                    currency=currency,
                    placed_at=now - timedelta(days=5),
                    paid_at=now - timedelta(days=5),
                    updated_at=now,
                )
                for order_id, number, currency in (
                    ("ord-2", "20261115-0002", "CNY"),
                    ("ord-usd", "20261115-0003", "USD"),
                )
            ]
        }
    )
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield Api(live_server.state, tokens, client)


def refund(amount: int, order: str = "ord-1", case_id: str | None = None) -> dict[str, Any]:
    return {
        "op": "refund_order",
        "order_id": order,
        "amount_minor": amount,
        "currency": "CNY",
        "reason": "parcel lost",
        "case_id": case_id,
    }


def case(
    case_id: str,
    *,
    compensation: int = 0,
    refund_minor: int = 0,
    order: str | None = "ord-1",
    customer: str | None = "cus-1",
    status: str = "open",
    currency: str = "CNY",
) -> dict[str, Any]:
    return {
        "op": "save_case",
        "id": case_id,
        "category": "goods.quality",
        "order_id": order,
        "customer_id": customer,
        "compensation_minor": compensation,
        "refund_minor": refund_minor,
        "currency": currency,
        "status": status,
    }


def decide(case_id: str, approve: bool = True) -> dict[str, Any]:
    return {"op": "decide_case", "id": case_id, "approve": approve}


# --- refunds never pass what was paid ------------------------------------------------


def test_three_full_refunds_of_one_order_give_back_what_was_paid_once(api: Api) -> None:
    # Issue 14's report: three full refunds of one order were all answered 200.
    api.ok("Sofia", refund(7800))
    assert api.order_status("ord-1") == OrderStatus.REFUNDED.value
    for amount in (7800, 1):
        reason = api.refused("Sofia", refund(amount), 409)
        assert "only ¥0.00 of order 20261115-0001 is left to refund" in reason
        assert "¥78.00 of the ¥78.00 paid was refunded already" in reason


def test_partial_refunds_keep_a_running_total(api: Api) -> None:
    api.ok("Sofia", refund(5000))
    assert api.order_status("ord-1") == OrderStatus.SHIPPED.value
    reason = api.refused("Sofia", refund(3000), 409)
    assert "only ¥28.00" in reason
    api.ok("Sofia", refund(2800))
    # Two refunds that together give back everything complete the order's refund.
    assert api.order_status("ord-1") == OrderStatus.REFUNDED.value


def test_more_than_the_total_or_in_another_currency_is_invalid(api: Api) -> None:
    assert "more than the order's total" in api.refused("Sofia", refund(7801), 422)
    assert "in USD, not CNY" in api.refused("Sofia", refund(100, order="ord-usd"), 422)
    assert "no order" in api.refused("Sofia", refund(100, order="ord-nope"), 404)


def test_an_order_marked_refunded_has_nothing_left_to_refund(
    api: Api, server_state: ServerState
) -> None:
    # An order that arrived refunded (loaded, or refunded before the ledger existed).
    now = utcnow()
    server_state.load_records(
        {
            "order": [
                p.OrderRecord(
                    id="ord-old",
                    number="OLD-1",
                    customer_id="cus-1",
                    status=OrderStatus.REFUNDED,
                    total_minor=3000,
                    currency="CNY",
                    placed_at=now - timedelta(days=40),
                    updated_at=now,
                )
            ]
        }
    )
    api.refused("Sofia", refund(100, order="ord-old"), 409)


# --- an agent's own limit, per order, over all cases and refunds ----------------------


def test_an_agent_cannot_refund_a_whole_order_without_an_approved_case(api: Api) -> None:
    reason = api.refused("Lan", refund(7800), 403)
    assert "needs a supervisor's approval" in reason
    assert "have it approved" in reason
    # Up to the limit is the agent's own call; one fen more, summed, is not.
    api.ok("Lan", refund(1500))
    api.ok("Lan", refund(500))
    api.refused("Lan", refund(1), 403)
    # The limit is per agent: Mei has her own.
    api.ok("Mei", refund(2000))


def test_compensation_split_over_several_cases_on_one_order_is_refused(api: Api) -> None:
    api.ok("Lan", case("case-a", compensation=1500))
    reason = api.refused("Lan", case("case-b", compensation=1500), 403)
    assert "would come to ¥30.00, over your limit of ¥20.00" in reason
    assert "awaiting-approval" in reason
    api.ok("Lan", case("case-b", compensation=500))  # ¥20.00 in all: allowed
    # Raising one of them afterwards is the same walk around the limit.
    api.refused("Lan", case("case-b", compensation=600), 403)
    # Another order is another count.
    api.ok("Lan", case("case-c", compensation=2000, order="ord-2"))


def test_compensation_and_refunds_on_one_order_add_up(api: Api) -> None:
    api.ok("Lan", case("case-a", compensation=1500))
    api.refused("Lan", refund(600), 403)
    api.ok("Lan", refund(500))
    api.refused("Lan", case("case-b", compensation=1), 403)


def test_cases_without_an_order_add_up_per_customer(api: Api) -> None:
    api.ok("Lan", case("case-a", compensation=1500, order=None, customer="cus-2"))
    api.refused("Lan", case("case-b", compensation=1500, order=None, customer="cus-2"), 403)
    api.ok("Lan", case("case-b", compensation=1500, order=None, customer="cus-1"))


def test_editing_an_old_case_is_not_refused_for_the_limit(api: Api) -> None:
    api.ok("Lan", case("case-a", compensation=2000))
    api.ok("Mei", case("case-m", compensation=2000))
    # Lan notes something on Mei's case: it gives nothing new, so it is not counted.
    edited = case("case-m", compensation=2000) | {"notes": "customer called back"}
    assert api.ok("Lan", edited)["changed"] is True


def test_an_awaiting_case_is_only_opened_by_a_supervisor(api: Api) -> None:
    api.ok("Lan", case("case-a", compensation=5000, status="awaiting-approval"))
    assert "only a supervisor can approve" in api.refused(
        "Lan", case("case-a", compensation=5000), 403
    )
    assert "only a supervisor approves" in api.refused("Lan", decide("case-a"), 403)


def test_a_case_on_an_order_is_in_the_orders_currency(api: Api) -> None:
    reason = api.refused("Lan", case("case-a", compensation=100, currency="USD"), 422)
    assert "is in CNY, not USD" in reason


# --- an approval covers what was approved ---------------------------------------------


def test_an_approved_case_covers_its_refund_and_no_more(api: Api) -> None:
    api.ok("Lan", case("case-a", refund_minor=5000, status="awaiting-approval"))
    api.refused("Lan", refund(5000, case_id="case-a"), 403)  # not approved yet
    api.ok("Sofia", decide("case-a"))
    assert api.ok("Lan", refund(5000, case_id="case-a"))["covered_minor"] == 5000
    # Past what was approved, the refund is the agent's own money again.
    assert api.ok("Lan", refund(2000, case_id="case-a"))["covered_minor"] == 0
    api.refused("Lan", refund(1, case_id="case-a"), 403)
    # And never past what was paid, approval or not.
    api.refused("Sofia", refund(801, case_id="case-a"), 409)


def test_an_approved_refund_is_shared_by_everyone_refunding_under_it(api: Api) -> None:
    api.ok("Lan", case("case-a", refund_minor=6000, status="awaiting-approval"))
    api.ok("Sofia", decide("case-a"))
    assert api.ok("Lan", refund(6000, case_id="case-a"))["covered_minor"] == 6000
    reason = api.refused("Mei", refund(1800 + 1, case_id="case-a"), 409)
    assert "only ¥18.00" in reason
    assert api.ok("Mei", refund(1800, case_id="case-a"))["covered_minor"] == 0


def test_a_declined_case_covers_nothing(api: Api) -> None:
    api.ok("Lan", case("case-a", refund_minor=7800, status="awaiting-approval"))
    api.ok("Sofia", decide("case-a", approve=False))
    api.refused("Lan", refund(7800, case_id="case-a"), 403)


def test_a_case_about_another_order_covers_nothing_here(api: Api) -> None:
    api.ok("Lan", case("case-a", refund_minor=7800, status="awaiting-approval"))
    api.ok("Sofia", decide("case-a"))
    assert "about another order" in api.refused(
        "Lan", refund(7800, order="ord-2", case_id="case-a"), 422
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"order_id": "ord-2"}, "the order changed"),
        ({"customer_id": "cus-2"}, "the customer changed"),
        ({"compensation_minor": 6000}, "the compensation went up"),
        ({"refund_minor": 1}, "the refund went up"),
    ],
)
def test_resaving_an_approved_case_beyond_what_was_approved_drops_the_approval(
    api: Api, change: dict[str, Any], why: str
) -> None:
    api.ok("Lan", case("case-a", compensation=5000, status="awaiting-approval"))
    api.ok("Sofia", decide("case-a"))
    changed = case("case-a", compensation=5000) | change
    # Saved as open, the approval would be carried over to what was not approved.
    api.refused("Lan", changed, 403)
    assert api.case("case-a")["approved_by"] == "Sofia"
    # Saved as a new request, it waits for a supervisor again; the history says why.
    api.ok("Lan", changed | {"status": "awaiting-approval"})
    after = api.case("case-a")
    assert after["approved_by"] is None
    assert after["status"] == CaseStatus.AWAITING_APPROVAL.value
    history = api.state.changes(0, 1000).case_events
    assert any(f"approved_by: Sofia → (withdrawn: {why})" in e.changes for e in history), why


def test_an_approved_case_stays_approved_within_what_was_approved(api: Api) -> None:
    api.ok("Lan", case("case-a", compensation=5000, status="awaiting-approval"))
    api.ok("Sofia", decide("case-a"))
    api.ok("Lan", case("case-a", compensation=4000, status="resolved"))
    resolved = api.case("case-a")
    assert resolved["approved_by"] == "Sofia"
    assert resolved["status"] == CaseStatus.RESOLVED.value


def test_a_supervisor_changing_an_approved_case_also_drops_the_approval(api: Api) -> None:
    api.ok("Lan", case("case-a", refund_minor=2000, status="awaiting-approval"))
    api.ok("Sofia", decide("case-a"))
    api.ok("Sofia", case("case-a", refund_minor=7800))  # no limit, but no approval either
    assert api.case("case-a")["approved_by"] is None
    api.refused("Lan", refund(7800, case_id="case-a"), 403)


# --- the console's own flows still work -----------------------------------------------


@pytest.fixture
def lan(tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]) -> Iterator[AgentContext]:
    ctx = client_context(tmp_path / "lan", live_server, tokens["Lan"])
    yield ctx
    ctx.close()


@pytest.fixture
def sofia(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> Iterator[AgentContext]:
    ctx = client_context(tmp_path / "sofia", live_server, tokens["Sofia"])
    yield ctx
    ctx.close()


def sync_once(ctx: AgentContext) -> SyncReport:
    engine = sync.make_engine(ctx)
    try:
        return engine.run_once()
    finally:
        engine.backend.close()


def new_case(ctx: AgentContext, *, refund_minor: int, compensation: int) -> cases.Saved:
    [order] = orders.for_customer(ctx, "cus-1")
    draft = cases.draft_for(
        ctx, conversation_id="conv-1", customer_id="cus-1", order=order, messages=[]
    )
    draft.resolution = Resolution.REFUND
    draft.refund_minor = refund_minor
    draft.compensation_minor = compensation
    return cases.save(ctx, draft)


def test_console_case_under_the_limit_then_refund(api: Api, lan: AgentContext) -> None:
    sync_once(lan)
    saved = new_case(lan, refund_minor=1500, compensation=0)
    assert not saved.needs_approval
    [order] = orders.for_customer(lan, "cus-1")
    orders.refund(lan, order, 1500, "refund for the chipped mug", case_id=saved.case_id)
    assert sync_once(lan).refused == 0
    [after] = orders.for_customer(lan, "cus-1")
    assert [e.detail for e in after.events if e.kind.value == "refunded"] == [
        "¥15.00 · refund for the chipped mug"
    ]


def test_console_case_over_the_limit_approved_then_refunded(
    api: Api, lan: AgentContext, sofia: AgentContext
) -> None:
    sync_once(lan)
    saved = new_case(lan, refund_minor=7800, compensation=3000)
    assert saved.needs_approval
    assert sync_once(lan).refused == 0
    sync_once(sofia)
    cases.decide(sofia, saved.case_id, approve=True, note="parcel lost by ZTO")
    assert sync_once(sofia).refused == 0
    sync_once(lan)
    [order] = orders.for_customer(lan, "cus-1")
    orders.refund(lan, order, 7800, "parcel lost", case_id=saved.case_id)
    assert sync_once(lan).refused == 0
    [after] = orders.for_customer(lan, "cus-1")
    assert after.status is OrderStatus.REFUNDED
    assert api.order_status("ord-1") == OrderStatus.REFUNDED.value
