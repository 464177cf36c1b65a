"""Calling the agent back: the terminal bell and desktop notifications.

The workspace calls :meth:`Alerter.after_sync` when a sync cycle ends and
:meth:`Alerter.tick` every second; the :class:`~cs_console.services.alerts.AlertWatch`
says what happened, this module decides what of it is rung and shown, following
``[alerts]`` in the config:

* nothing for the conversation open on screen while the console has the terminal's
  focus (Textual follows the terminal's focus reports in ``App.app_focus``; a terminal
  that sends none counts as focused, so the open conversation stays quiet);
* at most one bell and one notification per ``alerts.min_interval_s``; what comes
  meanwhile waits and is told together ("3 new conversations");
* a desktop notification is an escape sequence the terminal turns into a system
  notification: OSC 9 (``ESC ] 9 ; text BEL``: iTerm2, WezTerm, kitty, Ghostty) or
  OSC 777 (``ESC ] 777 ; notify ; title ; body BEL``: foot, rxvt-unicode with its
  notify extension, Konsole, VTE terminals that carry the patch). Under tmux it goes
  in a DCS passthrough (``ESC P tmux; ... ESC \\`` with every ESC doubled), which tmux
  forwards only with ``set -g allow-passthrough on``. A terminal that is not known
  to show them gets the bell only, unless ``alerts.desktop_protocol`` names one.

The notification says who, never what: "New message from Alice", no message text, and
the name has had every control character removed (``notification_text``), so a
customer cannot end the sequence early and write to the terminal.

Textual 8.2.8 has ``App.bell()`` but no public way to write other bytes to the
terminal; the notification goes through the driver's ``write``, as Textual's own
``App.copy_to_clipboard`` (OSC 52) does, and only when the app owns a real terminal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from cs_console.i18n import _, ngettext

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

    from cs_console.config import AlertsSection
    from cs_console.services.alerts import Alert, AlertKind, AlertWatch
    from cs_console.services.context import AgentContext

# The services are imported where they are used: they load SQLAlchemy, which the first
# frame does not wait for.

#: A desktop notification escape sequence.
Protocol = Literal["osc9", "osc777"]

#: The title OSC 777 shows, and the prefix of an OSC 9 text (which has no title).
APP_TITLE = "cs-console"
#: The most characters of a notification's text.
TEXT_CHARS = 200

_ESC = "\x1b"
_BEL = "\x07"

# Terminals known to turn OSC 9 into a notification, by what they put in the environment.
# Inside tmux $TERM and $TERM_PROGRAM name tmux, but the outer terminal's own variables
# are usually still there (tmux copies the environment it was started in).
_OSC9_PROGRAMS = ("iTerm.app", "WezTerm", "ghostty")
_OSC9_TERMS = ("xterm-kitty", "xterm-ghostty", "wezterm")
_OSC9_MARKS = ("ITERM_SESSION_ID", "WEZTERM_PANE", "KITTY_WINDOW_ID", "GHOSTTY_RESOURCES_DIR")
_OSC777_TERMS = ("foot", "rxvt")
_OSC777_MARKS = ("KONSOLE_VERSION", "VTE_VERSION")


def detect_protocol(environ: Mapping[str, str]) -> Protocol | None:
    """The notification sequence the terminal is known to show, from its environment
    variables; None when it is not known to show any (it then gets the bell only)."""
    term = environ.get("TERM", "")
    if (
        environ.get("TERM_PROGRAM", "") in _OSC9_PROGRAMS
        or environ.get("LC_TERMINAL", "") == "iTerm2"
        or term.startswith(_OSC9_TERMS)
        or any(environ.get(mark) for mark in _OSC9_MARKS)
    ):
        return "osc9"
    if term.startswith(_OSC777_TERMS) or any(environ.get(mark) for mark in _OSC777_MARKS):
        return "osc777"
    return None


def in_tmux(environ: Mapping[str, str]) -> bool:
    """Whether the console runs inside tmux (which must be asked to pass sequences on)."""
    return bool(environ.get("TMUX")) or environ.get("TERM_PROGRAM", "") == "tmux"


def notification_sequence(protocol: Protocol, text: str, *, tmux: bool = False) -> str:
    """The escape sequence that shows ``text`` as a desktop notification.

    ``text`` is cleaned again here (every control character dropped, ``;`` made ``,``
    for OSC 777's fields, cut to :data:`TEXT_CHARS`), whatever the caller did.
    """
    from cs_console.services.alerts import notification_text

    body = notification_text(text, TEXT_CHARS)
    if protocol == "osc9":
        sequence = f"{_ESC}]9;{APP_TITLE}: {body}{_BEL}"
    else:
        body = body.replace(";", ",")
        sequence = f"{_ESC}]777;notify;{APP_TITLE};{body}{_BEL}"
    if tmux:
        sequence = f"{_ESC}Ptmux;" + sequence.replace(_ESC, _ESC + _ESC) + f"{_ESC}\\"
    return sequence


def describe(alerts: Iterable[Alert]) -> str:
    """One line for the alerts told together: each kind in the order first seen, one
    alert by name, several counted ("3 new conversations")."""
    by_kind: dict[AlertKind, list[Alert]] = {}
    for alert in alerts:
        by_kind.setdefault(alert.kind, []).append(alert)
    return " · ".join(_describe_kind(kind, group) for kind, group in by_kind.items())


def _describe_kind(kind: AlertKind, alerts: list[Alert]) -> str:
    from cs_console.services.alerts import AlertKind

    count = len(alerts)
    first = alerts[0]
    if kind is AlertKind.APPROVAL_DECIDED:
        if count > 1:
            return ngettext(
                "{count} of your cases decided", "{count} of your cases decided", count
            ).format(count=count)
        if first.approved:
            return _("Case approved by {who}").format(who=first.decided_by)
        return _("Case declined by {who}").format(who=first.decided_by)
    if kind is AlertKind.NEW_CONVERSATION:
        if count > 1:
            return ngettext("{count} new conversation", "{count} new conversations", count).format(
                count=count
            )
        return _("New conversation from {name}").format(name=first.name)
    if kind is AlertKind.REPLY_IN_MINE:
        if count > 1:
            return ngettext(
                "New messages in {count} of your conversations",
                "New messages in {count} of your conversations",
                count,
            ).format(count=count)
        return _("New message from {name}").format(name=first.name)
    if count > 1:
        return ngettext(
            "{count} customer waiting too long", "{count} customers waiting too long", count
        ).format(count=count)
    return _("{name} has waited too long").format(name=first.name)


@dataclass(frozen=True, slots=True)
class _Pending:
    alert: Alert
    bell: bool
    desktop: bool


class Alerter:
    """Rings and notifies for the workspace (see the module doc).

    Args:
        app: The running app: its focus, its bell, its terminal.
        settings: ``[alerts]`` of the agent's settings.
        clock: The console's "now", for the waiting clocks.
        environ: Where the terminal is guessed from (the process environment).
        monotonic: Seconds for the rate limit.
        write: Writes an escape sequence to the terminal; by default the app's driver,
            and nothing when the app has no real terminal (headless tests).
        bell: Rings; by default ``app.bell``.
    """

    def __init__(
        self,
        app: App[Any],
        settings: AlertsSection,
        *,
        clock: Callable[[], datetime],
        environ: Mapping[str, str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        write: Callable[[str], None] | None = None,
        bell: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self._monotonic = monotonic
        self._write = write or self._write_to_terminal
        self._bell = bell or app.bell
        env = os.environ if environ is None else environ
        self.protocol: Protocol | None = (
            detect_protocol(env)
            if settings.desktop_protocol == "auto"
            else settings.desktop_protocol
        )
        self.tmux = in_tmux(env)
        self._watch: AlertWatch | None = None
        self._pending: list[_Pending] = []
        self._last_told: float | None = None
        self._timer: Timer | None = None

    # --- what the workspace calls --------------------------------------------------

    def after_sync(self, ctx: AgentContext | None, open_conversation_id: str | None) -> None:
        """A sync cycle ended: tell what it brought (the first call only looks)."""
        watch = self._watch_for(ctx)
        if watch is not None:
            self._take(watch.after_sync(focused=self._focused(open_conversation_id)))

    def tick(self, ctx: AgentContext | None, open_conversation_id: str | None) -> None:
        """A second passed: tell the waiting clocks that turned red, and what the rate
        limit held back."""
        watch = self._watch_for(ctx)
        if watch is not None:
            self._take(watch.tick(self.clock(), focused=self._focused(open_conversation_id)))
        self.flush()

    def flush(self) -> None:
        """Ring and notify for what waits, unless the last time was too recent."""
        if not self._pending:
            return
        now = self._monotonic()
        if self._last_told is not None:
            wait = self._last_told + self.settings.min_interval_s - now
            if wait > 0:
                self._flush_later(wait)
                return
        pending, self._pending = self._pending, []
        rang = False
        if self.settings.bell and any(p.bell for p in pending):
            self._bell()
            rang = True
        shown = [p.alert for p in pending if p.desktop]
        told = False
        if self.settings.desktop and self.protocol is not None and shown:
            self._write(notification_sequence(self.protocol, describe(shown), tmux=self.tmux))
            told = True
        if rang or told:
            self._last_told = now

    # --- inside --------------------------------------------------------------------

    def _watch_for(self, ctx: AgentContext | None) -> AlertWatch | None:
        if ctx is None:
            return None
        if self._watch is None or self._watch.ctx is not ctx:
            from cs_console.services.alerts import AlertWatch

            self._watch = AlertWatch(ctx)
        return self._watch

    def _focused(self, open_conversation_id: str | None) -> str | None:
        # A conversation on screen in a window the agent is not looking at is not seen.
        return open_conversation_id if self.app.app_focus else None

    def _take(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            channels = getattr(self.settings, alert.kind.value)
            wanted = _Pending(alert, bell="bell" in channels, desktop="desktop" in channels)
            if wanted.bell or wanted.desktop:
                self._pending.append(wanted)
        self.flush()

    def _flush_later(self, delay: float) -> None:
        if self._timer is None:
            self._timer = self.app.set_timer(delay, self._timer_fired, name="alerts")

    def _timer_fired(self) -> None:
        self._timer = None
        self.flush()

    def _write_to_terminal(self, sequence: str) -> None:
        # No public API writes raw bytes (see the module doc); the driver's writer thread
        # keeps them whole between frames.
        driver = self.app._driver
        if driver is not None and not self.app.is_headless:
            driver.write(sequence)
