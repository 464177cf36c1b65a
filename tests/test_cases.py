"""The after-sales register end to end: a real server, real stores, the authority rule."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx

from cs_console.domain import CaseCategory, CaseStatus, Resolution, Responsible
from cs_console.services import cases, conversations, orders, sync
from tests.harness import LiveServer, client_context


def test_case_logged_synced_with_history(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "lan", live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    engine.run_once()
    order = orders.for_customer(ctx, "cus-1")[0]
    draft = cases.draft_for(
        ctx,
        conversation_id="conv-1",
        customer_id="cus-1",
        order=order,
        messages=conversations.messages(ctx, "conv-1"),
    )
    # "我的快递怎么8天没动了?" is a parcel that stopped moving.
    assert draft.category is CaseCategory.NO_TRACKING_UPDATE
    assert draft.order_id == "ord-1"
    draft.responsible = Responsible.COURIER
    draft.notes = "快递8天无更新，已联系中通"
    saved = cases.save(ctx, draft)
    assert not saved.needs_approval
    engine.run_once()
    server_case = {c.id: c for c in live_server.state.changes(0, 1000).cases}[saved.case_id]
    assert server_case.created_by == "Lan"
    assert server_case.category is CaseCategory.NO_TRACKING_UPDATE
    # The form for this conversation now reopens the same case rather than a twin.
    again = cases.draft_for(
        ctx, conversation_id="conv-1", customer_id="cus-1", order=order, messages=[]
    )
    assert again.case_id == saved.case_id
    again.resolution = Resolution.COURIER_CLAIM
    again.status = CaseStatus.WAITING_COURIER
    cases.save(ctx, again)
    engine.run_once()
    history = cases.history(ctx, saved.case_id)
    assert [h.action for h in history] == ["created", "updated"]
    assert "status: open → waiting-courier" in history[1].changes
    assert history[1].author == "Lan"
    engine.backend.close()
    ctx.close()


def test_over_limit_compensation_needs_a_supervisor(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    lan = client_context(tmp_path / "lan", live_server, tokens["Lan"])
    lan_engine = sync.make_engine(lan)
    lan_engine.run_once()
    draft = cases.draft_for(
        lan, conversation_id="conv-2", customer_id="cus-2", order=None, messages=[]
    )
    draft.category = CaseCategory.QUALITY
    draft.resolution = Resolution.COMPENSATION
    draft.compensation_minor = 5000  # 50.00 > the 20.00 default limit
    draft.status = CaseStatus.RESOLVED
    saved = cases.save(lan, draft)
    assert saved.needs_approval
    lan_engine.run_once()
    server_case = {c.id: c for c in live_server.state.changes(0, 1000).cases}[saved.case_id]
    assert server_case.status is CaseStatus.AWAITING_APPROVAL

    # The server enforces it whatever the client does.
    forbidden = httpx.post(
        live_server.url + "/api/v1/operations",
        headers={"Authorization": f"Bearer {tokens['Lan']}", "Idempotency-Key": "sneaky"},
        json={
            "operation": {
                "op": "save_case",
                "id": saved.case_id,
                "category": "goods.quality",
                "compensation_minor": 5000,
                "status": "resolved",
            }
        },
    )
    assert forbidden.status_code == 403
    self_approval = httpx.post(
        live_server.url + "/api/v1/operations",
        headers={"Authorization": f"Bearer {tokens['Lan']}", "Idempotency-Key": "sneaky-2"},
        json={"operation": {"op": "decide_case", "id": saved.case_id, "approve": True}},
    )
    assert self_approval.status_code == 403

    sofia = client_context(tmp_path / "sofia", live_server, tokens["Sofia"])
    sofia_engine = sync.make_engine(sofia)
    sofia_engine.run_once()
    assert [c.case_id for c in cases.register(sofia, statuses=("awaiting-approval",))] == [
        saved.case_id
    ]
    cases.decide(sofia, saved.case_id, approve=True, note="OK, long-standing customer")
    sofia_engine.run_once()
    approved = {c.id: c for c in live_server.state.changes(0, 1000).cases}[saved.case_id]
    assert approved.approved_by == "Sofia"
    assert approved.status is CaseStatus.OPEN

    # With the approval, the agent can now resolve the case at the approved amount.
    lan_engine.run_once()
    row = cases.get(lan, saved.case_id)
    assert row is not None
    resolved = cases.from_row(row)
    resolved.status = CaseStatus.RESOLVED
    assert not cases.save(lan, resolved).needs_approval
    report = lan_engine.run_once()
    assert report.refused == 0
    final = {c.id: c for c in live_server.state.changes(0, 1000).cases}[saved.case_id]
    assert final.status is CaseStatus.RESOLVED
    for engine, ctx in ((lan_engine, lan), (sofia_engine, sofia)):
        engine.backend.close()
        ctx.close()


def test_export_csv_opens_in_a_spreadsheet(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "lan", live_server, tokens["Lan"])
    sync.make_engine(ctx).run_once()
    draft = cases.draft_for(
        ctx, conversation_id="conv-1", customer_id="cus-1", order=None, messages=[]
    )
    draft.notes = '=HYPERLINK("http://evil") 顾客说杯子裂了'
    draft.postage_lost_minor = 1200
    cases.save(ctx, draft)
    text = cases.export(ctx, since=None, fmt="csv")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0]["customer_name"] == "王芳"
    assert rows[0]["postage_lost"] == "12.00"
    assert rows[0]["notes"].startswith("'=HYPERLINK")  # never a live formula
    assert list(rows[0]) == list(cases.EXPORT_COLUMNS)
    ctx.close()
