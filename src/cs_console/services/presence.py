"""The agent's presence: online (the server assigns them new conversations), away (they
keep theirs, get no new ones) or offline (theirs go back to the pool after the server's
grace period). Set by a key, by the command line, and by idleness (:class:`IdleWatch`).

The choice travels as an operation through the outbox like every write, so it reaches
the server exactly once and in order; the server's copy of the agent comes back with
the change feed to every console.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cs_console import protocol as p
from cs_console.services.context import AgentContext
from cs_console.store import agents, outbox
from cs_console.views import OutboxRow

ONLINE, AWAY, OFFLINE = "online", "away", "offline"
PRESENCES: tuple[str, ...] = (ONLINE, AWAY, OFFLINE)

#: Seconds without a key before an online agent shows as away: ``shift.away_after_s``'s
#: default, for callers without settings.
AWAY_AFTER_S = 10 * 60.0


class PresenceError(ValueError):
    """Not a presence; the message is for the agent."""


def set_presence(ctx: AgentContext, presence: str) -> OutboxRow:
    """Tell the backend the agent is ``presence`` ("online", "away" or "offline").

    Raises:
        PresenceError: ``presence`` is none of them.
        StoreError: the store cannot be written.
    """
    try:
        chosen = p.Presence(presence)
    except ValueError:
        raise PresenceError(f"{presence!r} is not online, away or offline") from None
    # Shown at once (the store's agent row changes with the outbox entry, as a claim
    # shows the agent's name at once); the pull confirms it.
    return outbox.record(ctx.db, p.SetPresence(presence=chosen), author=ctx.agent_name)


def current(ctx: AgentContext) -> str:
    """The agent's presence as the store knows it ("offline" before the first sync)."""
    return agents.presence_of(ctx.db, ctx.agent_name) or OFFLINE


class IdleWatch:
    """Turns an online agent away after ``away_after_s`` without a key (0: never), and
    online again at the next key. Presence the agent chose by hand (away, offline) is
    left alone.

    The workspace calls :meth:`touch` on every key and :meth:`tick` now and then; each
    answers the presence to set, or None.
    """

    def __init__(self, clock: Callable[[], datetime], away_after_s: float = AWAY_AFTER_S) -> None:
        self.clock = clock
        self.away_after_s = away_after_s
        self.last_key = clock()
        #: True while this watch has made the agent away (so a key brings them back).
        self.made_away = False

    def touch(self) -> str | None:
        """A key was pressed: "online" if idleness had made the agent away."""
        self.last_key = self.clock()
        if self.made_away:
            self.made_away = False
            return ONLINE
        return None

    def tick(self, presence: str) -> str | None:
        """ "away" once the agent, now ``presence``, has been idle long enough online."""
        if self.made_away or presence != ONLINE or self.away_after_s <= 0:
            return None
        if (self.clock() - self.last_key).total_seconds() >= self.away_after_s:
            self.made_away = True
            return AWAY
        return None


def on_key(ctx: AgentContext, watch: IdleWatch) -> str | None:
    """Call on every key: sets the agent online again if idleness made them away; the
    presence set, or None."""
    wanted = watch.touch()
    if wanted is not None and current(ctx) == AWAY:
        set_presence(ctx, wanted)
        return wanted
    return None


def on_tick(ctx: AgentContext, watch: IdleWatch) -> str | None:
    """Call now and then (each few seconds): sets an idle online agent away; the presence
    set, or None."""
    wanted = watch.tick(current(ctx))
    if wanted is not None:
        set_presence(ctx, wanted)
    return wanted
