"""Wiring the sync engine to the configured backend."""

from __future__ import annotations

from collections.abc import Callable

from cs_console.backends.base import Backend
from cs_console.services.context import AgentContext
from cs_console.settings import SettingsError
from cs_console.sync.engine import SyncEngine, SyncLoop, SyncReport
from cs_console.views import SyncStatus


def make_backend(ctx: AgentContext) -> Backend:
    """The backend the settings name (the reference protocol for now)."""
    settings = ctx.settings
    if not settings.backend_url:
        raise SettingsError(
            "no backend configured: set CS_CONSOLE_BACKEND_URL (or run `cs-console demo`)"
        )
    if settings.token is None:
        raise SettingsError("no token: set CS_CONSOLE_TOKEN or CS_CONSOLE_TOKEN_FILE")
    from cs_console.backends.reference import ReferenceBackend

    try:
        return ReferenceBackend(settings.backend_url, settings.token, insecure=settings.insecure)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def make_engine(ctx: AgentContext, backend: Backend | None = None) -> SyncEngine:
    """A sync engine for the context's store."""
    return SyncEngine(ctx.db, backend or make_backend(ctx))


def make_loop(
    ctx: AgentContext,
    engine: SyncEngine,
    on_change: Callable[[SyncStatus, SyncReport | None], None] | None = None,
) -> SyncLoop:
    """The background loop, at the configured interval."""
    return SyncLoop(engine, interval=ctx.settings.sync_interval_s, on_change=on_change)
