"""One shift on the demo shop, with real keys only, every write checked on the server.

Lan starts her shift (Mei's handover note is on screen), answers the longest-waiting
customer, writes a note, moves on, answers with a quick reply, flags an order, logs a
case within her limit and one over it, takes a reply back, snoozes and resolves, looks
at the register and her figures, and hands over. Then the console starts again on the
same home, and nothing goes out twice; and Sofia, the supervisor, starts her shift with
Lan's note and approves the case that was over Lan's limit.

Checks that fail because of an app bug are collected and reported together at the end
(``Expectations``), so one run names every bug the shift meets; where the shift cannot
go on as the agent wants without it, the test does what the agent would do next (switch
the composer back to a reply) and says so in the failure.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from cs_console import protocol as p
from cs_console.domain import CaseStatus, ConversationStatus, FlagColour, MessageKind
from cs_console.replies.placeholders import HOLE_RE
from cs_console.services import conversations
from cs_console.services import replies as reply_service
from cs_console.ui.app import ConsoleApp
from cs_console.ui.screens.case_form import CaseFormScreen
from cs_console.ui.screens.cases import CasesScreen
from cs_console.ui.screens.choice import ChoiceScreen
from cs_console.ui.screens.handover import HandoverScreen
from cs_console.ui.screens.remark_form import RemarkFormScreen
from cs_console.ui.screens.shift_report import ShiftReportScreen
from cs_console.ui.screens.workspace import WorkspaceScreen
from cs_console.ui.widgets.composer import NOTE, REPLY
from cs_console.ui.widgets.order_pane import OrderPane
from tests.acceptance.shop import (
    DemoShop,
    demo_app,
    demo_settings,
    everything,
    messages_with_body,
    server_counts,
)
from tests.ui_support import (
    SyncWatcher,
    composer,
    context,
    highlighted_id,
    queue_list,
    screen_text,
    type_text,
    wait_for_sync_cycles,
    wait_loaded,
    wait_until,
    workspace,
)

SIZE = (160, 45)
AGENT = "Lan"
#: Long enough to press Ctrl+R in, short enough not to slow every reply down.
UNDO_S = 3.0
#: A reply waits out the undo window, then the next sync cycle sends it.
SENT_WITHIN_S = UNDO_S + 10.0
#: The quick-reply keys (the suggestion keys Alt+Q W E change with the conversation).
HOTKEYS = tuple(f"alt+{letter}" for letter in "asdghjklzx")


class Expectations:
    """Checks that let the shift go on when they fail; reported together at the end."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, ok: object, what: str) -> bool:
        """Record ``what`` as failed unless ``ok``; returns ``bool(ok)``."""
        if not ok:
            self.failures.append(what)
        return bool(ok)


@contextmanager
def expectations() -> Iterator[Expectations]:
    """Yield an Expectations; fail at the end with all of them (and with whatever
    stopped the shift early)."""
    expect = Expectations()
    try:
        yield expect
    except Exception as exc:
        listed = "".join(f"\n- {failure}" for failure in expect.failures)
        raise AssertionError(
            f"the shift stopped: {type(exc).__name__}: {exc}"
            + (f"\nand before that:{listed}" if listed else "")
        ) from exc
    assert not expect.failures, "the shift went wrong:" + "".join(
        f"\n- {failure}" for failure in expect.failures
    )


# --- the server's view ---------------------------------------------------------------


def conversation(shop: DemoShop, conversation_id: str) -> p.ConversationRecord:
    """The server's record of one conversation."""
    return next(c for c in everything(shop.state).conversations if c.id == conversation_id)


def longest_waiting(shop: DemoShop, agent: str = AGENT) -> list[str]:
    """Open conversations of nobody or ``agent`` with a waiting customer, longest first:
    what Ctrl+G (and the cursor after resolving) should pick, as the server has it."""
    waiting = [
        c
        for c in everything(shop.state).conversations
        if c.status is ConversationStatus.OPEN
        and c.waiting_since is not None
        and c.assignee in (None, agent)
    ]
    return [c.id for c in sorted(waiting, key=lambda c: (c.waiting_since, c.id))]


def only_message(shop: DemoShop, body: str) -> p.MessageRecord | None:
    """The one message on the server with exactly this text (None while none is)."""
    found = messages_with_body(shop.state, body)
    assert len(found) <= 1, f"the server holds {body!r} {len(found)} times"
    return found[0] if found else None


def queue_ids(app: ConsoleApp) -> list[str]:
    """The conversations the queue shows, top to bottom."""
    queue = queue_list(app)
    rows = (queue.row(index) for index in range(queue.total))
    return [row.conversation_id for row in rows if row is not None]


def waiting_since(app: ConsoleApp, conversation_id: str) -> datetime | None:
    """The waiting clock the console's queue shows for a conversation."""
    queue = queue_list(app)
    for index in range(queue.total):
        row = queue.row(index)
        if row is not None and row.conversation_id == conversation_id:
            return row.waiting_since
    raise AssertionError(f"{conversation_id} is not in the queue")


def on_workspace(app: ConsoleApp) -> bool:
    """Whether no dialog is open."""
    return isinstance(app.screen, WorkspaceScreen)


# --- the shift -------------------------------------------------------------------------


async def test_a_shift_on_the_demo_shop(tmp_path: Path, shop: DemoShop) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = demo_settings(tmp_path / "client", shop, agent=AGENT, undo_seconds=UNDO_S)
    app = demo_app(shop, settings)
    watcher = SyncWatcher()
    with expectations() as expect:
        async with app.run_test(size=SIZE, message_hook=watcher) as pilot:
            await wait_loaded(pilot)

            # The shift starts with the previous shift's note.
            await wait_until(
                pilot, lambda: isinstance(app.screen, HandoverScreen), what="the shift start"
            )
            await pilot.press("escape")
            await wait_until(pilot, lambda: on_workspace(app), what="the workspace")
            await wait_until(pilot, lambda: app.replies is not None, what="the quick replies")

            # --- answer the longest-waiting customer ------------------------------------
            first = longest_waiting(shop)[0]
            await pilot.press("ctrl+g")
            expect(
                workspace(app).open_id == first,
                f"Ctrl+G opened {workspace(app).open_id}, not the longest-waiting {first}",
            )
            first = workspace(app).open_id or first
            assert app.focused is composer(app), "Ctrl+G lands in the composer"
            answer = f"Hello, your order ships today ({tag}-answer)."
            await type_text(pilot, answer)
            await pilot.press("enter")
            await wait_until(
                pilot, lambda: only_message(shop, answer), SENT_WITHIN_S, what="the answer"
            )
            sent = only_message(shop, answer)
            assert sent is not None
            expect(sent.kind is MessageKind.AGENT, f"the answer went out as {sent.kind.value}")
            expect(sent.conversation_id == first, "the answer went to another conversation")
            expect(sent.author == AGENT, f"the answer is signed {sent.author}")

            # --- an internal note ----------------------------------------------------------
            await pilot.press("ctrl+n")
            expect(composer(app).mode == NOTE, "Ctrl+N did not switch to an internal note")
            note = f"Promised shipping today ({tag}-note)"
            await type_text(pilot, note)
            await pilot.press("enter")
            await wait_until(pilot, lambda: only_message(shop, note), what="the note")
            written = only_message(shop, note)
            assert written is not None
            expect(written.kind is MessageKind.NOTE, f"the note went out as {written.kind.value}")
            expect(written.conversation_id == first, "the note went to another conversation")

            # --- the next conversation opens as a reply (issue 14, bug 2) -----------------
            # Answered, the first customer went down the queue: n finds who waits next.
            await pilot.press("escape", "n", "enter")
            second = workspace(app).open_id
            assert second is not None, "n, Enter opened no conversation"
            assert second != first, "n, Enter did not move to the next conversation"
            if not expect(
                composer(app).mode == REPLY,
                "note mode stuck: the next conversation's composer is still an internal note "
                "(keys: Ctrl+N, type, Enter, Esc, n, Enter); the shift goes on after Ctrl+N",
            ):
                await pilot.press("ctrl+n")

            # --- a quick reply by its Alt key, sent ----------------------------------------
            info = conversations.info(context(app), second)
            assert info is not None
            assert app.replies is not None
            table = reply_service.hotkey_table(
                app.replies.library, info.customer_language, fallback=settings.agent.language
            )
            bound = [key for key in HOTKEYS if key in table and not table[key].actions]
            inserted = ""
            for key in bound:
                await pilot.press(key)
                inserted = composer(app).text
                if inserted and not HOLE_RE.search(inserted):
                    break
                await pilot.press("ctrl+a", "backspace")  # select all, delete: try the next
                inserted = ""
            assert inserted, f"no quick reply without blanks on {bound} for {second}"
            await pilot.press("enter")
            quick = inserted.strip("\n")
            await wait_until(
                pilot, lambda: only_message(shop, quick), SENT_WITHIN_S, what="the quick reply"
            )
            sent = only_message(shop, quick)
            assert sent is not None
            expect(sent.kind is MessageKind.AGENT, f"the quick reply went as {sent.kind.value}")
            expect(sent.conversation_id == second, "the quick reply went to another chat")

            # --- a red-flagged remark on the selected order --------------------------------
            await pilot.press("escape")
            order = workspace(app).query_one("#orders", OrderPane).selected_order
            assert order is not None, f"{second} has no order to flag"
            await pilot.press("f")
            assert isinstance(app.screen, RemarkFormScreen), "f opens the remark form"
            await pilot.press("shift+tab", "enter", "home", "enter")  # the flag: red
            expect(
                app.screen.query_one("#flag", Select).value == FlagColour.RED.value,
                "Home, Enter in the flag list did not pick red",
            )
            await pilot.press("tab")
            reason = f"Customer asked to hold the parcel ({tag}-remark)"
            await type_text(pilot, reason)
            await pilot.press("enter")
            await wait_until(pilot, lambda: on_workspace(app), what="the remark form to close")
            await wait_until(
                pilot,
                lambda: [r for r in everything(shop.state).remarks if reason in r.text],
                what="the remark on the server",
            )
            remarks = [r for r in everything(shop.state).remarks if reason in r.text]
            expect(len(remarks) == 1, f"the server holds the remark {len(remarks)} times")
            expect(remarks[0].flag is FlagColour.RED, f"the remark is {remarks[0].flag.value}")
            expect(remarks[0].author == AGENT, f"the remark is signed {remarks[0].author}")
            expect(remarks[0].order_id == order.order_id, "the remark is on another order")

            # --- a case within the authority limit, one over it ----------------------------
            cases_before = len(everything(shop.state).cases)
            within = await log_case(pilot, app, "5.00")
            await pilot.press("j")
            third = workspace(app).open_id
            over = await log_case(pilot, app, "50.00")
            expect(within != over, "the second case went to the same conversation")

            def case_of(conversation_id: str | None) -> list[p.CaseRecord]:
                found = everything(shop.state).cases
                return [c for c in found if c.conversation_id == conversation_id]

            await wait_until(
                pilot, lambda: case_of(second) and case_of(third), what="both cases on the server"
            )
            expect(
                len(everything(shop.state).cases) == cases_before + 2,
                "the server does not hold exactly the two new cases",
            )
            [small] = case_of(second)
            [large] = case_of(third)
            expect(small.compensation_minor == 500, f"compensation {small.compensation_minor}")
            expect(
                small.status is not CaseStatus.AWAITING_APPROVAL,
                "a case within the limit waits for approval",
            )
            expect(large.compensation_minor == 5000, f"compensation {large.compensation_minor}")
            expect(
                large.status is CaseStatus.AWAITING_APPROVAL,
                f"a case over the limit is {large.status.value}, not awaiting approval",
            )

            # --- undo: the reply never leaves, the customer keeps their place (bug 3) -----
            await pilot.press("ctrl+g")
            undone_in = workspace(app).open_id
            assert undone_in is not None
            place = queue_ids(app).index(undone_in)
            clock = waiting_since(app, undone_in)
            expect(clock is not None, "Ctrl+G picked a customer without a waiting clock")
            taken_back = f"Sorry, wrong chat ({tag}-undo)"
            await type_text(pilot, taken_back)
            await pilot.press("enter", "ctrl+r")
            deadline = time.monotonic() + UNDO_S
            expect(composer(app).text == taken_back, "Ctrl+R did not put the text back")
            await wait_until(
                pilot, lambda: time.monotonic() > deadline, UNDO_S + 1, what="the undo window"
            )
            await wait_for_sync_cycles(pilot, watcher, 3)
            expect(
                not messages_with_body(shop.state, taken_back), "the server got the undone reply"
            )
            expect(
                waiting_since(app, undone_in) == clock,
                f"after Ctrl+R the customer's waiting clock is {waiting_since(app, undone_in)}, "
                f"not {clock} (keys: Ctrl+G, type, Enter, Ctrl+R)",
            )
            expect(
                queue_ids(app).index(undone_in) == place,
                f"after Ctrl+R the customer is row {queue_ids(app).index(undone_in)} of the "
                f"queue, not back at row {place}",
            )
            await pilot.press("ctrl+a", "backspace", "escape")  # the agent drops the text

            # --- snooze one, resolve one ----------------------------------------------------
            await pilot.press("j")
            snoozed = workspace(app).open_id
            await pilot.press("z")
            assert isinstance(app.screen, ChoiceScreen), "z asks for how long"
            await pilot.press("1")  # 15 minutes
            await wait_until(
                pilot,
                lambda: conversation(shop, snoozed or "").status is ConversationStatus.SNOOZED,
                what="the snooze on the server",
            )
            expect(
                conversation(shop, snoozed or "").snoozed_until is not None,
                "snoozed with no time to wake",
            )

            await pilot.press("ctrl+g", "escape")  # Ctrl+G lands in the composer
            resolved = workspace(app).open_id
            assert resolved is not None
            await pilot.press("x")
            await wait_until(
                pilot,
                lambda: conversation(shop, resolved).status is ConversationStatus.RESOLVED,
                what="the resolution on the server",
            )
            following = longest_waiting(shop)[0]
            rows = queue_ids(app)
            expect(
                highlighted_id(app) == following,
                f"after x the cursor is on {highlighted_id(app)} (row "
                f"{rows.index(highlighted_id(app) or '') if highlighted_id(app) in rows else '?'}"
                f" of {len(rows)}), not on the next waiting customer {following}",
            )

            # --- the register, every tab; the figures ------------------------------------
            await pilot.press("f7")
            assert isinstance(app.screen, CasesScreen), "F7 opens the register"
            for tab in "1234":
                await pilot.press(tab)
                assert isinstance(app.screen, CasesScreen), f"tab {tab} left the register"
                rows_shown = app.screen.query_one(DataTable).row_count
                if tab == "2":
                    expect(rows_shown >= 1, "the case over the limit is not awaiting approval")
                if tab == "3":
                    expect(rows_shown >= 1, "nothing due today on the demo shop")
            await pilot.press("escape")
            await pilot.press("f9")
            assert isinstance(app.screen, ShiftReportScreen), "F9 opens the figures"
            await wait_until(pilot, lambda: "Counting…" not in screen_text(app), what="the figures")
            expect("Could not count" not in screen_text(app), "the figures failed")
            await pilot.press("escape")

            # --- hand over -------------------------------------------------------------
            await pilot.press("f10")
            assert isinstance(app.screen, HandoverScreen), "F10 asks for the handover note"
            handover = f"Two cases logged, one waits for Sofia ({tag}-handover)"
            await type_text(pilot, handover)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: on_workspace(app), what="the handover to close")

            def handovers() -> list[p.HandoverRecord]:
                return [h for h in everything(shop.state).handovers if h.note == handover]

            await wait_until(pilot, handovers, what="the handover on the server")
            expect(len(handovers()) == 1, f"the handover is on the server {len(handovers())}x")
            expect(handovers()[0].author == AGENT, "the handover is not signed by Lan")

            await wait_until(
                pilot,
                lambda: not conversations.outbox_entries(context(app)),
                SENT_WITHIN_S,
                what="the outbox to empty",
            )
            await pilot.press("ctrl+q")
        counts = server_counts(shop.state)

        # --- the next start on the same home sends nothing again ---------------------------
        again = demo_app(shop, settings)
        watcher = SyncWatcher()
        async with again.run_test(size=SIZE, message_hook=watcher) as pilot:
            await wait_loaded(pilot)
            await wait_for_sync_cycles(pilot, watcher, 3)
            expect(
                server_counts(shop.state) == counts,
                f"after the restart the server holds {server_counts(shop.state)}, not {counts}",
            )
            expect(not isinstance(again.screen, HandoverScreen), "her own handover shown again")
            expect(
                conversation(shop, snoozed or "").status is ConversationStatus.SNOOZED,
                "the snooze did not last",
            )
            expect(
                conversation(shop, resolved).status is ConversationStatus.RESOLVED,
                "the resolution did not last",
            )
            await pilot.press("3")
            expect(snoozed in queue_ids(again), "3 (snoozed) does not show the snoozed chat")
            await pilot.press("4")
            expect(resolved in queue_ids(again), "4 (resolved) does not show the resolved chat")
            expect(not conversations.outbox_entries(context(again)), "the outbox is not empty")
            await pilot.press("ctrl+q")

        # --- the supervisor starts: Lan's note, then the case over the limit -------------
        sofia = demo_app(shop, demo_settings(tmp_path / "sofia", shop, agent="Sofia"))
        async with sofia.run_test(size=SIZE) as pilot:
            await wait_loaded(pilot)
            await wait_until(
                pilot, lambda: isinstance(sofia.screen, HandoverScreen), what="Sofia's start"
            )
            await wait_until(pilot, lambda: sofia.screen.query("#previous"), what="the note")
            shown = str(sofia.screen.query_one("#previous", Static).render())
            expect(handover in shown, f"Sofia's shift start shows {shown!r}, not Lan's note")
            await pilot.press("escape", "f7", "2")
            assert isinstance(sofia.screen, CasesScreen), "F7 opens the register"
            expect(
                sofia.screen.query_one(DataTable).row_count == 1,
                "the register's approval tab does not hold exactly Lan's case",
            )
            await pilot.press("y")
            await wait_until(
                pilot,
                lambda: case_of(third)[0].approved_by == "Sofia",
                what="the approval on the server",
            )
            expect(
                case_of(third)[0].status is CaseStatus.OPEN,
                f"the approved case is {case_of(third)[0].status.value}",
            )
            approvals = [
                e
                for e in everything(shop.state).case_events
                if e.case_id == large.id and e.action == "approved"
            ]
            expect(len(approvals) == 1, f"the approval is on the server {len(approvals)} times")
            await pilot.press("escape", "ctrl+q")


async def log_case(pilot: Pilot[None], app: ConsoleApp, compensation: str) -> str | None:
    """From the queue: l, Tab to the compensation, type it, Ctrl+S. Returns the
    conversation the case is for."""
    conversation_id = workspace(app).open_id
    await pilot.press("l")
    assert isinstance(app.screen, CaseFormScreen), "l opens the case form"
    for _ in range(15):
        if isinstance(app.focused, Input) and app.focused.id == "compensation":
            break
        await pilot.press("tab")
    assert isinstance(app.focused, Input), "Tab never reached the compensation field"
    assert app.focused.id == "compensation", "Tab never reached the compensation field"
    await type_text(pilot, compensation)
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: on_workspace(app), what="the case form to close")
    return conversation_id
