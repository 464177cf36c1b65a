"""Which backends exist and how each is built from the settings.

A backend is picked by name: ``[backend] kind`` names where conversations come from,
``[orders] kind`` where orders come from ("backend" meaning the conversation backend's
own). Each name maps to a factory in a :class:`BackendRegistry`, so adding a platform
is one factory and one line in :data:`DEFAULT_BACKENDS`, and a test can swap a factory
(an in-process reference server, a fault-injecting transport) without touching the
console.

Adapters are imported inside their factories: each pulls in its own HTTP and mapping
code, which ``cs-console --help`` and the first frame do not need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cs_console.secret import Secret
from cs_console.settings import Settings, SettingsError

if TYPE_CHECKING:
    # Only for annotations: the protocol models (pydantic) are not needed before the
    # first frame.
    from cs_console.backends.base import Backend

#: Builds a backend from the settings; raises SettingsError (or ValueError, reported as
#: one) when the settings do not say enough.
BackendFactory = Callable[[Settings], "Backend"]


def _reference(settings: Settings) -> Backend:
    from cs_console.backends.reference import ReferenceBackend

    url, token = _address(settings)
    return ReferenceBackend(url, token, insecure=settings.backend.insecure)


def _chatwoot(settings: Settings) -> Backend:
    from cs_console.backends.chatwoot import ChatwootBackend

    url, token = _address(settings)
    if settings.backend.account_id is None:
        raise SettingsError(
            "backend.kind is chatwoot but backend.account_id is not set: it is the "
            "number in your Chatwoot URLs (/app/accounts/N)"
        )
    return ChatwootBackend(
        url,
        token,
        settings.backend.account_id,
        team_groups=settings.backend.team_groups,
        language=settings.agent.language,
        insecure=settings.backend.insecure,
    )


def _address(settings: Settings) -> tuple[str, Secret]:
    if not settings.backend.url:
        raise SettingsError(
            "no backend configured: set CS_CONSOLE_BACKEND_URL (or run `cs-console demo`)"
        )
    if settings.token is None:
        raise SettingsError("no token: set CS_CONSOLE_TOKEN or CS_CONSOLE_TOKEN_FILE")
    return settings.backend.url, settings.token


def _orders_address(settings: Settings) -> tuple[str, Secret]:
    orders = settings.orders
    kind = orders.kind
    if not orders.url:
        raise SettingsError(f"orders.kind is {kind} but orders.url is not set")
    if settings.orders_token is None:
        raise SettingsError(
            f"no key for the {kind} orders: set CS_CONSOLE_ORDERS_TOKEN or orders.token_file"
        )
    return orders.url, settings.orders_token


def _vendure_orders(settings: Settings) -> Backend:
    from cs_console.backends.vendure import VendureBackend

    url, key = _orders_address(settings)
    return VendureBackend(
        url,
        key,
        channel_token=settings.orders.channel_token,
        insecure=settings.orders.insecure,
    )


def _medusa_orders(settings: Settings) -> Backend:
    from cs_console.backends.medusa import MedusaBackend

    url, key = _orders_address(settings)
    return MedusaBackend(url, key, insecure=settings.orders.insecure)


def _reference_orders(settings: Settings) -> Backend:
    from cs_console.backends.reference import ReferenceBackend

    url, key = _orders_address(settings)
    return ReferenceBackend(url, key, insecure=settings.orders.insecure)


@dataclass(frozen=True)
class BackendRegistry:
    """Factories by kind: where conversations come from, and where orders come from."""

    conversations: Mapping[str, BackendFactory] = field(default_factory=dict)
    orders: Mapping[str, BackendFactory] = field(default_factory=dict)

    def with_conversations(self, kind: str, factory: BackendFactory) -> BackendRegistry:
        """A copy where ``[backend] kind = kind`` is built by ``factory``."""
        return replace(self, conversations={**self.conversations, kind: factory})

    def with_orders(self, kind: str, factory: BackendFactory) -> BackendRegistry:
        """A copy where ``[orders] kind = kind`` is built by ``factory``."""
        return replace(self, orders={**self.orders, kind: factory})

    def backend_for(self, settings: Settings) -> Backend:
        """The backend ``settings`` name: the conversation source, with the order source
        beside it when orders live elsewhere (see :mod:`cs_console.backends.split`).

        Raises:
            SettingsError: the settings name no known backend, or lack its address or
                key; an adapter refusing its address (plain http to a remote host) is
                reported the same way.
        """
        kind = settings.backend.kind
        conversations = self._build(self.conversations, kind, "backend", settings)
        try:
            orders_kind = settings.orders.kind
            orders = (
                None
                if orders_kind == "backend"
                else self._build(self.orders, orders_kind, "orders", settings)
            )
        except BaseException:
            conversations.close()
            raise
        if orders is None and conversations.capabilities.cases:
            return conversations
        from cs_console.backends.split import SplitBackend

        return SplitBackend(conversations, orders)

    @staticmethod
    def _build(
        factories: Mapping[str, BackendFactory], kind: str, section: str, settings: Settings
    ) -> Backend:
        factory = factories.get(kind)
        if factory is None:
            known = ", ".join(sorted(factories))
            raise SettingsError(f"{section}.kind {kind!r} is not one of: {known}")
        # Each adapter checks its address itself (http(s), plain http only to loopback
        # unless insecure); a refusal is a ValueError, reported as a settings problem.
        try:
            return factory(settings)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None


#: The backends cs-console ships.
DEFAULT_BACKENDS = BackendRegistry(
    conversations={"reference": _reference, "chatwoot": _chatwoot},
    orders={"reference": _reference_orders, "vendure": _vendure_orders, "medusa": _medusa_orders},
)
