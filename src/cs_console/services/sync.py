"""Wiring the sync engine to the configured backend."""

from __future__ import annotations

from collections.abc import Callable

from cs_console.backends.base import Backend
from cs_console.services.context import AgentContext
from cs_console.settings import Settings, SettingsError
from cs_console.sync.engine import SyncEngine, SyncLoop, SyncReport
from cs_console.views import Abilities, SyncStatus


def make_backend(ctx: AgentContext) -> Backend:
    """The backend the context's settings name."""
    return backend_for(ctx.settings)


def backend_for(settings: Settings) -> Backend:
    """The backend ``settings`` name: the conversation source, with the order source
    beside it when orders live elsewhere (see :mod:`cs_console.backends.split`)."""
    conversations = _conversation_source(settings)
    try:
        orders = _order_source(settings)
    except BaseException:
        conversations.close()
        raise
    if orders is None and conversations.capabilities.cases:
        return conversations
    from cs_console.backends.split import SplitBackend

    return SplitBackend(conversations, orders)


def _conversation_source(settings: Settings) -> Backend:
    if not settings.backend_url:
        raise SettingsError(
            "no backend configured: set CS_CONSOLE_BACKEND_URL (or run `cs-console demo`)"
        )
    if settings.token is None:
        raise SettingsError("no token: set CS_CONSOLE_TOKEN or CS_CONSOLE_TOKEN_FILE")
    url = settings.backend_url
    # Each adapter checks its address itself (http(s), plain http only to loopback unless
    # insecure); a refusal is a ValueError, reported as a settings problem.
    try:
        if settings.backend_kind == "chatwoot":
            from cs_console.backends.chatwoot import ChatwootBackend

            if settings.chatwoot_account_id is None:
                raise SettingsError(
                    "backend.kind is chatwoot but backend.account_id is not set: it is the "
                    "number in your Chatwoot URLs (/app/accounts/N)"
                )
            return ChatwootBackend(
                url,
                settings.token,
                settings.chatwoot_account_id,
                team_groups=settings.team_groups,
                language=settings.agent_language,
                insecure=settings.insecure,
            )
        from cs_console.backends.reference import ReferenceBackend

        return ReferenceBackend(url, settings.token, insecure=settings.insecure)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def _order_source(settings: Settings) -> Backend | None:
    kind = settings.orders_kind
    if kind == "backend":
        return None
    if not settings.orders_url:
        raise SettingsError(f"orders.kind is {kind} but orders.url is not set")
    key = settings.orders_token
    if key is None:
        raise SettingsError(
            f"no key for the {kind} orders: set CS_CONSOLE_ORDERS_TOKEN or orders.token_file"
        )
    from cs_console.backends.reference import ReferenceBackend

    url = settings.orders_url
    try:
        if kind == "vendure":
            from cs_console.backends.vendure import VendureBackend

            return VendureBackend(
                url,
                key,
                channel_token=settings.orders_channel_token,
                insecure=settings.orders_insecure,
            )
        if kind == "medusa":
            from cs_console.backends.medusa import MedusaBackend

            return MedusaBackend(url, key, insecure=settings.orders_insecure)
        return ReferenceBackend(url, key, insecure=settings.orders_insecure)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def abilities(settings: Settings) -> Abilities:
    """What the configured backend can do, without asking it anything over the network
    (each adapter declares its capabilities). No backend configured: everything works
    on the local store, so nothing is greyed out."""
    from cs_console.backends.base import ABILITIES

    try:
        backend = backend_for(settings)
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
    return SyncLoop(engine, interval=ctx.settings.sync_interval_s, on_change=on_change)
