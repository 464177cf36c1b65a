"""Alerts: what calls the agent back (services/alerts.py), and what is rung and shown of
it (ui/alerts.py), on a real client store synced from the in-process reference server.

The terminal side (the bell byte and OSC 9 really written by the running console) is in
tests/test_alerts_pty.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from textual.app import App

from cs_console import protocol as p
from cs_console.config import AlertsSection
from cs_console.domain import CaseCategory, ConversationStatus, Group, MessageKind, Resolution
from cs_console.server.state import ServerState
from cs_console.services import cases, sync
from cs_console.services.alerts import (
    Alert,
    AlertKind,
    AlertWatch,
    Unanswered,
    notification_text,
    unanswered,
)
from cs_console.services.context import AgentContext
from cs_console.sync.engine import SyncEngine
from cs_console.timeutil import utcnow
from cs_console.ui.alerts import (
    Alerter,
    describe,
    detect_protocol,
    in_tmux,
    notification_sequence,
)
from cs_console.ui.widgets.status_bar import StatusBar
from tests.harness import client_context
from tests.inprocess import InProcessServer

#: Customer text that would act on a terminal if it reached one raw.
HOSTILE_NAME = (
    "Eve\x1b]0;pwned\x07 \x1b[2J\x9b31m\x9d8;;http://x\x9c\x1bP1$r\x1b\\\u202eevil\u202c\r\nz"
)


@dataclass
class Client:
    """One agent's console without a screen: store, sync, and what it is told."""

    ctx: AgentContext
    engine: SyncEngine

    def sync(self) -> None:
        report = self.engine.run_once()
        assert report.errors == [], report.errors


@pytest.fixture
def lan(tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]) -> Iterator[Client]:
    yield from _client(tmp_path / "lan", inproc_server, tokens["Lan"])


@pytest.fixture
def sofia(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> Iterator[Client]:
    yield from _client(tmp_path / "sofia", inproc_server, tokens["Sofia"])


def _client(home: Path, server: InProcessServer, token: str, **more: object) -> Iterator[Client]:
    ctx = client_context(home, server, token, **more)
    engine = sync.make_engine(ctx, server.backend(ctx.settings))
    client = Client(ctx, engine)
    client.sync()
    yield client
    engine.backend.close()
    ctx.close()


def new_conversation(
    state: ServerState, conversation_id: str, customer_id: str, *, assignee: str | None = None
) -> None:
    """A customer opens a conversation on the server."""
    now = utcnow()
    state.load_records(
        {
            "conversation": [
                p.ConversationRecord(
                    id=conversation_id,
                    customer_id=customer_id,
                    group=Group.AFTER_SALE,
                    status=ConversationStatus.OPEN,
                    assignee=assignee,
                    waiting_since=now,
                    last_activity_at=now,
                    unread_count=1,
                    updated_at=now,
                )
            ],
            "message": [
                p.MessageRecord(
                    id=f"m-{conversation_id}",
                    conversation_id=conversation_id,
                    kind=MessageKind.CUSTOMER,
                    author="customer",
                    body="hello, the secret body",
                    created_at=now,
                )
            ],
        }
    )


def assign(state: ServerState, conversation_id: str, agent: str) -> None:
    """Give a conversation to an agent, on the server."""
    record = next(c for c in state.changes(0, 1000).conversations if c.id == conversation_id)
    state.load_records(
        {"conversation": [record.model_copy(update={"assignee": agent, "updated_at": utcnow()})]}
    )


def kinds(alerts: list[Alert]) -> list[tuple[AlertKind, str | None]]:
    return [(a.kind, a.conversation_id) for a in alerts]


# --- the watch: what happened since the last look ----------------------------------------


def test_the_first_look_is_a_baseline(lan: Client) -> None:
    watch = AlertWatch(lan.ctx)
    # Two customers already wait (one past the red line): not news at start-up.
    assert watch.after_sync() == []
    assert watch.tick(utcnow()) == []
    assert watch.after_sync() == []


def test_a_new_conversation(lan: Client, server_state: ServerState) -> None:
    watch = AlertWatch(lan.ctx)
    watch.after_sync()
    new_conversation(server_state, "conv-new", "cus-2")
    new_conversation(server_state, "conv-mei", "cus-2", assignee="Mei")  # not mine to take
    lan.sync()
    alerts = watch.after_sync()
    assert kinds(alerts) == [(AlertKind.NEW_CONVERSATION, "conv-new")]
    assert alerts[0].name == "Alice Brown"
    assert watch.after_sync() == []  # told once
    # An update of a known conversation (a message, a status) is not a new one.
    server_state.add_customer_message("conv-2", "anyone?")
    lan.sync()
    assert watch.after_sync() == []


def test_a_reply_in_my_conversation_and_not_in_others(
    lan: Client, server_state: ServerState
) -> None:
    assign(server_state, "conv-1", "Lan")
    lan.sync()
    watch = AlertWatch(lan.ctx)
    watch.after_sync()
    server_state.add_customer_message("conv-1", "在吗?")
    server_state.add_customer_message("conv-1", "在吗??")
    server_state.add_customer_message("conv-3", "for Mei")  # Mei's
    server_state.add_customer_message("conv-2", "for nobody yet")  # unassigned
    lan.sync()
    alerts = watch.after_sync()
    assert kinds(alerts) == [(AlertKind.REPLY_IN_MINE, "conv-1")]  # one per conversation
    assert alerts[0].name == "王芳"


def test_no_alert_for_the_conversation_on_screen(lan: Client, server_state: ServerState) -> None:
    assign(server_state, "conv-1", "Lan")
    lan.sync()
    watch = AlertWatch(lan.ctx)
    watch.after_sync()
    server_state.add_customer_message("conv-1", "still there?")
    lan.sync()
    assert watch.after_sync(focused="conv-1") == []
    # ... and it is not told later either: it was seen.
    assert watch.after_sync() == []


def test_a_new_conversation_assigned_to_me_is_one_alert(
    lan: Client, server_state: ServerState
) -> None:
    watch = AlertWatch(lan.ctx)
    watch.after_sync()
    new_conversation(server_state, "conv-mine", "cus-1", assignee="Lan")
    lan.sync()
    assert kinds(watch.after_sync()) == [(AlertKind.NEW_CONVERSATION, "conv-mine")]


def test_a_waiting_clock_turning_red(lan: Client, server_state: ServerState) -> None:
    # tiny_shop: conv-1 has waited 5 minutes (red already), conv-2 one minute; the red
    # line is shift.alert_after_s = 180 s.
    watch = AlertWatch(lan.ctx)
    now = utcnow()
    assert watch.tick(now) == []
    assert watch.tick(now + timedelta(seconds=60)) == []  # conv-2 at 2 minutes
    alerts = watch.tick(now + timedelta(seconds=130))
    assert kinds(alerts) == [(AlertKind.CLOCK_RED, "conv-2")]
    assert alerts[0].name == "Alice Brown"
    assert watch.tick(now + timedelta(seconds=200)) == []  # red once, not every second


def test_a_red_clock_on_screen_or_of_a_colleague_is_not_told(
    lan: Client, server_state: ServerState
) -> None:
    watch = AlertWatch(lan.ctx)
    now = utcnow()
    watch.tick(now)
    assert watch.tick(now + timedelta(seconds=130), focused="conv-2") == []
    assign(server_state, "conv-2", "Mei")
    lan.sync()
    watch = AlertWatch(lan.ctx)
    watch.tick(now)
    assert watch.tick(now + timedelta(seconds=130)) == []


def test_my_case_decided_by_a_supervisor(
    lan: Client, sofia: Client, server_state: ServerState
) -> None:
    draft = cases.draft_for(
        lan.ctx, conversation_id="conv-2", customer_id="cus-2", order=None, messages=[]
    )
    draft.category = CaseCategory.QUALITY
    draft.resolution = Resolution.COMPENSATION
    draft.compensation_minor = 5000  # past the 20.00 limit: a supervisor decides
    saved = cases.save(lan.ctx, draft)
    assert saved.needs_approval
    lan.sync()
    watch = AlertWatch(lan.ctx)
    watch.after_sync()
    sofia.sync()
    cases.decide(sofia.ctx, saved.case_id, approve=False, note="too much")
    sofia.sync()
    # The supervisor's own console is not told about her own decision.
    sofia_watch = AlertWatch(sofia.ctx)
    sofia_watch.after_sync()
    lan.sync()
    alerts = watch.after_sync(focused="conv-2")  # a decision is told even on screen
    assert kinds(alerts) == [(AlertKind.APPROVAL_DECIDED, "conv-2")]
    assert alerts[0].approved is False
    assert alerts[0].decided_by == "Sofia"
    assert alerts[0].case_id == saved.case_id
    assert alerts[0].name == "Alice Brown"
    sofia.sync()
    assert sofia_watch.after_sync() == []


def test_unanswered_counts_mine_and_all(lan: Client, server_state: ServerState) -> None:
    assert unanswered(lan.ctx) == unanswered(lan.ctx, "Lan")
    before = unanswered(lan.ctx)
    assert (before.mine, before.everyone) == (0, 2)  # conv-1 and conv-2 wait
    assign(server_state, "conv-1", "Lan")
    new_conversation(server_state, "conv-new", "cus-2")
    lan.sync()
    after = unanswered(lan.ctx)
    assert (after.mine, after.everyone) == (1, 3)


# --- untrusted names ---------------------------------------------------------------------


def _controls(text: str) -> list[str]:
    return [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u202c"]


def test_notification_text_drops_every_control_character() -> None:
    cleaned = notification_text(HOSTILE_NAME)
    assert _controls(cleaned) == []
    assert cleaned.startswith("Eve]0;pwned [2J31m8;;http://x")
    assert "\n" not in cleaned
    assert notification_text("x" * 500) == "x" * 59 + "…"
    assert notification_text("  Alice \t Brown\u2028 ") == "Alice Brown"
    assert notification_text("王芳") == "王芳"


def test_a_hostile_name_in_the_store_reaches_no_sequence_raw(
    lan: Client, server_state: ServerState
) -> None:
    # Ingest sanitises names; an older or damaged store may still hold them raw.
    watch = AlertWatch(lan.ctx)
    watch.after_sync()
    new_conversation(server_state, "conv-eve", "cus-2")
    lan.sync()
    raw = sqlite3.connect(lan.ctx.settings.paths.store)
    raw.execute("UPDATE customer SET name = ? WHERE id = 'cus-2'", (HOSTILE_NAME,))
    raw.commit()
    raw.close()
    [alert] = watch.after_sync()
    assert _controls(alert.name) == []
    for protocol in ("osc9", "osc777"):
        for tmux in (False, True):
            sequence = notification_sequence(protocol, describe([alert]), tmux=tmux)
            body = _unwrap(sequence, tmux)
            # The one ESC is the introducer, the one BEL the end: nothing in between.
            assert body.count("\x1b") == 1
            assert body.startswith("\x1b]")
            assert body.count("\x07") == 1
            assert body.endswith("\x07")
            assert _controls(body[2:-1]) == []
            assert "secret body" not in body


def _unwrap(sequence: str, tmux: bool) -> str:
    if not tmux:
        return sequence
    assert sequence.startswith("\x1bPtmux;")
    assert sequence.endswith("\x1b\\")
    inner = sequence[len("\x1bPtmux;") : -2]
    assert "\x1b\x1b" in inner
    return inner.replace("\x1b\x1b", "\x1b")


# --- the terminal: which sequence, and tmux ----------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, "osc9"),
        ({"TERM_PROGRAM": "WezTerm"}, "osc9"),
        ({"TERM": "xterm-kitty"}, "osc9"),
        ({"TERM": "xterm-ghostty"}, "osc9"),
        ({"TERM": "tmux-256color", "TERM_PROGRAM": "tmux", "KITTY_WINDOW_ID": "1"}, "osc9"),
        ({"TERM": "foot"}, "osc777"),
        ({"TERM": "rxvt-unicode-256color"}, "osc777"),
        ({"TERM": "xterm-256color", "KONSOLE_VERSION": "230804"}, "osc777"),
        ({"TERM": "xterm-256color", "VTE_VERSION": "7600"}, "osc777"),
        ({"TERM": "xterm-256color"}, None),
        ({"TERM": "linux"}, None),
        ({"TERM_PROGRAM": "Apple_Terminal"}, None),
        ({}, None),
    ],
)
def test_the_sequence_follows_the_terminal(environ: dict[str, str], expected: str | None) -> None:
    assert detect_protocol(environ) == expected


def test_sequences_as_terminals_read_them() -> None:
    assert notification_sequence("osc9", "New message from Alice") == (
        "\x1b]9;cs-console: New message from Alice\x07"
    )
    # OSC 777's fields are separated by ";": a ";" in the text must not start a field.
    assert notification_sequence("osc777", "a;b") == "\x1b]777;notify;cs-console;a,b\x07"
    assert notification_sequence("osc9", "hi", tmux=True) == (
        "\x1bPtmux;\x1b\x1b]9;cs-console: hi\x07\x1b\\"
    )
    assert in_tmux({"TMUX": "/run/user/1000/tmux-default,1,0"})
    assert in_tmux({"TERM_PROGRAM": "tmux"})
    assert not in_tmux({"TERM": "screen-256color"})


# --- the alerter: config, focus, rate limit ----------------------------------------------


@dataclass
class FakeApp:
    """What the alerter uses of the app: its focus and a timer."""

    app_focus: bool = True
    timers: list[tuple[float, Any]] = field(default_factory=list)

    def bell(self) -> None:
        raise AssertionError("the alerter's own bell hook is used in these tests")

    def set_timer(self, delay: float, callback: Any, *, name: str | None = None) -> object:
        self.timers.append((delay, callback))
        return object()


@dataclass
class Terminal:
    """What reached the terminal, and a clock for the rate limit."""

    now: float = 1000.0
    bells: int = 0
    written: list[str] = field(default_factory=list)

    def bell(self) -> None:
        self.bells += 1

    def write(self, text: str) -> None:
        self.written.append(text)

    def monotonic(self) -> float:
        return self.now


def make_alerter(
    app: FakeApp, terminal: Terminal, protocol: str = "osc9", **alerts: object
) -> Alerter:
    settings = AlertsSection.model_validate({"desktop_protocol": protocol, **alerts})
    return Alerter(
        cast(App[Any], app),
        settings,
        clock=utcnow,
        environ={},
        monotonic=terminal.monotonic,
        write=terminal.write,
        bell=terminal.bell,
    )


def test_the_alerter_rings_and_notifies_as_configured(
    lan: Client, server_state: ServerState
) -> None:
    app, terminal = FakeApp(), Terminal()
    alerter = make_alerter(app, terminal)
    alerter.after_sync(lan.ctx, None)  # the baseline
    assert terminal.bells == 0
    assert terminal.written == []
    new_conversation(server_state, "conv-new", "cus-2")
    lan.sync()
    alerter.after_sync(lan.ctx, None)
    assert terminal.bells == 1
    assert terminal.written == ["\x1b]9;cs-console: New conversation from Alice Brown\x07"]


def test_the_open_conversation_is_quiet_only_while_the_console_has_focus(
    lan: Client, server_state: ServerState
) -> None:
    assign(server_state, "conv-1", "Lan")
    lan.sync()
    app, terminal = FakeApp(), Terminal()
    alerter = make_alerter(app, terminal)
    alerter.after_sync(lan.ctx, "conv-1")
    server_state.add_customer_message("conv-1", "hello?")
    lan.sync()
    alerter.after_sync(lan.ctx, "conv-1")
    assert terminal.bells == 0
    assert terminal.written == []
    app.app_focus = False  # the agent went to another window
    server_state.add_customer_message("conv-1", "hello??")
    lan.sync()
    alerter.after_sync(lan.ctx, "conv-1")
    assert terminal.bells == 1
    assert terminal.written == ["\x1b]9;cs-console: New message from 王芳\x07"]


def test_alerts_turned_off(lan: Client, server_state: ServerState) -> None:
    app, terminal = FakeApp(), Terminal()
    alerter = make_alerter(app, terminal, new_conversation="off", reply_in_mine="bell")
    alerter.after_sync(lan.ctx, None)
    assign(server_state, "conv-1", "Lan")
    new_conversation(server_state, "conv-new", "cus-2")
    lan.sync()
    alerter.after_sync(lan.ctx, None)
    assert terminal.written == []
    assert terminal.bells == 0  # the reassignment is no customer message
    server_state.add_customer_message("conv-1", "hello?")
    lan.sync()
    alerter.after_sync(lan.ctx, None)
    assert terminal.bells == 1
    assert terminal.written == []


def _alerts(kind: AlertKind, *names: str) -> list[Alert]:
    return [Alert(kind, f"conv-{name}", name) for name in names]


def test_bell_and_desktop_switched_off_as_a_whole() -> None:
    app, terminal = FakeApp(), Terminal()
    alerter = make_alerter(app, terminal, bell=False)
    alerter._take(_alerts(AlertKind.NEW_CONVERSATION, "A"))
    assert terminal.bells == 0
    assert len(terminal.written) == 1
    app, terminal = FakeApp(), Terminal()
    alerter = make_alerter(app, terminal, desktop=False)
    alerter._take(_alerts(AlertKind.NEW_CONVERSATION, "A"))
    assert terminal.bells == 1
    assert terminal.written == []


def test_a_terminal_without_notifications_gets_the_bell_only() -> None:
    app, terminal = FakeApp(), Terminal()
    alerter = make_alerter(app, terminal, protocol="auto")  # environ {}: unknown terminal
    assert alerter.protocol is None
    alerter._take(_alerts(AlertKind.NEW_CONVERSATION, "A"))
    assert terminal.bells == 1
    assert terminal.written == []


def test_a_burst_is_one_bell_and_one_notification_counted() -> None:
    app, terminal = FakeApp(), Terminal()
    alerter = make_alerter(app, terminal)
    alerter._take(_alerts(AlertKind.NEW_CONVERSATION, "A", "B", "C"))
    assert terminal.bells == 1
    assert terminal.written == ["\x1b]9;cs-console: 3 new conversations\x07"]
    # Within the 2 s: held, and a timer set to tell them when the time is up.
    terminal.now += 0.5
    alerter._take(_alerts(AlertKind.NEW_CONVERSATION, "D"))
    alerter._take(_alerts(AlertKind.REPLY_IN_MINE, "E", "F"))
    alerter._take(_alerts(AlertKind.CLOCK_RED, "G"))
    assert terminal.bells == 1
    assert len(terminal.written) == 1
    assert len(app.timers) == 1
    assert app.timers[0][0] == pytest.approx(1.5)
    terminal.now += 1.5
    app.timers[0][1]()
    assert terminal.bells == 2
    # A red clock rings but is no notification by default.
    assert terminal.written[1] == (
        "\x1b]9;cs-console: New conversation from D · New messages in 2 of your conversations\x07"
    )
    terminal.now += 0.1
    alerter.flush()  # nothing waits
    assert terminal.bells == 2


def test_descriptions() -> None:
    decided = Alert(
        AlertKind.APPROVAL_DECIDED, "c", "Alice", case_id="k", approved=True, decided_by="Sofia"
    )
    assert describe([decided]) == "Case approved by Sofia"
    assert describe(_alerts(AlertKind.CLOCK_RED, "Bo")) == "Bo has waited too long"
    assert describe(_alerts(AlertKind.CLOCK_RED, "Bo", "Al")) == "2 customers waiting too long"


def test_the_config_section_defaults() -> None:
    section = AlertsSection()
    assert (section.bell, section.desktop, section.desktop_protocol) == (True, True, "auto")
    assert section.new_conversation == section.reply_in_mine == "bell+desktop"
    assert section.approval_decided == "bell+desktop"
    assert section.clock_red == "bell"
    assert section.min_interval_s == 2.0


# --- the status bar ------------------------------------------------------------------------


class BarApp(App[None]):
    """The status bar alone."""

    def compose(self) -> Iterator[StatusBar]:
        yield StatusBar(id="status", clock=utcnow)


async def test_the_status_bar_counts_the_unanswered() -> None:
    app = BarApp()
    async with app.run_test(size=(160, 3)) as pilot:
        bar = app.query_one(StatusBar)
        assert "unanswered" not in str(bar.render())  # not counted yet: not shown
        bar.unanswered = Unanswered(mine=1, everyone=3)
        bar.over_alert = 2
        await pilot.pause()
        shown = str(bar.render())
        assert "unanswered 1 mine · 3 all" in shown
        # The red count comes first: a narrow terminal cuts the end of the bar.
        assert shown.index("2 waiting too long") < shown.index("unanswered")
