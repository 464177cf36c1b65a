"""Wiring the sync engine to the configured backend (built by :mod:`.backends`)."""

from __future__ import annotations

from collections.abc import Callable

from cs_console.backends.base import Backend
from cs_console.services.backends import DEFAULT_BACKENDS, BackendRegistry
from cs_console.services.context import AgentContext
from cs_console.settings import Settings, SettingsError
from cs_console.sync.engine import SyncEngine, SyncLoop, SyncReport
from cs_console.views import Abilities, SyncStatus


def make_backend(ctx: AgentContext) -> Backend:
    """The backend the context's settings name (the shipped factories)."""
    return DEFAULT_BACKENDS.backend_for(ctx.settings)


def backend_for(settings: Settings, backends: BackendRegistry = DEFAULT_BACKENDS) -> Backend:
    """The backend ``settings`` name (see :meth:`BackendRegistry.backend_for`)."""
    return backends.backend_for(settings)


def abilities(settings: Settings, backends: BackendRegistry = DEFAULT_BACKENDS) -> Abilities:
    """What the configured backend can do, without asking it anything over the network
    (each adapter declares its capabilities). No backend configured: everything works
    on the local store, so nothing is greyed out."""
    from cs_console.backends.base import ABILITIES

    try:
        backend = backends.backend_for(settings)
    except SettingsError:
        return Abilities(backend="")
    try:
        caps = backend.capabilities
        return Abilities(
            backend=backend.name,
            missing={
                ability: caps.reason(ability, backend.name) or ability
                for ability in ABILITIES
                if not getattr(caps, ability)
            },
        )
    finally:
        backend.close()


def make_engine(ctx: AgentContext, backend: Backend | None = None) -> SyncEngine:
    """A sync engine for the context's store."""
    return SyncEngine(ctx.db, backend or make_backend(ctx))


def make_loop(
    ctx: AgentContext,
    engine: SyncEngine,
    on_change: Callable[[SyncStatus, SyncReport | None], None] | None = None,
) -> SyncLoop:
    """The background loop, at the configured interval."""
    shift = ctx.settings.shift
    return SyncLoop(
        engine, interval=shift.sync_interval_s, on_change=on_change, live=shift.live_updates
    )
