"""Tokens in the operating system's keyring (macOS Keychain, Windows Credential Locker,
the Secret Service on a Linux desktop), one per backend address.

Where they are looked for, first found wins: ``CS_CONSOLE_TOKEN`` (or
``CS_CONSOLE_ORDERS_TOKEN``), a token file named in the config (an explicit choice:
a headless Linux box has no keyring), then the keyring. ``cs-console token set``
stores one there.

The ``keyring`` package is imported only when a token is looked for here (about
50 ms), so a console with its token in the environment or a file never pays for it.
A machine without a usable keyring simply has none: lookups find nothing, and storing
says what to do instead.
"""

from __future__ import annotations

from types import ModuleType

from cs_console.secret import Secret

SERVICE = "cs-console"


class KeyringUnavailable(Exception):
    """There is no usable OS keyring here; the message says what to do instead."""


def lookup(url: str) -> Secret | None:
    """The token stored for ``url``, or None (none stored, or no keyring here)."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        value = keyring.get_password(SERVICE, _account(url))
    except (KeyringError, RuntimeError, OSError):
        return None  # no backend, a locked keyring, a broken D-Bus: as if none stored
    return Secret(value) if value else None


def store(url: str, token: Secret) -> str:
    """Keep ``token`` for ``url`` in the OS keyring; returns the keyring's name.

    Raises:
        KeyringUnavailable: no usable keyring on this machine.
    """
    keyring, backend = _usable()
    try:
        keyring.set_password(SERVICE, _account(url), token.reveal())
    except Exception as exc:  # each backend raises its own types
        raise KeyringUnavailable(f"the keyring refused it ({type(exc).__name__})") from None
    return backend


def forget(url: str) -> bool:
    """Remove the token kept for ``url``; False when there was none."""
    keyring, _ = _usable()
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, _account(url))
    except PasswordDeleteError:
        return False
    return True


def _usable() -> tuple[ModuleType, str]:
    try:
        import keyring
        from keyring.backends.fail import Keyring as NoKeyring
    except ImportError:
        raise KeyringUnavailable(
            "the keyring package is not installed (pip install keyring); "
            "use an owner-only token file instead (backend.token_file)"
        ) from None
    backend = keyring.get_keyring()
    if isinstance(backend, NoKeyring) or getattr(backend, "priority", 1) <= 0:
        raise KeyringUnavailable(
            "no OS keyring on this machine (usual on a server without a desktop); "
            "put the token in a file only you can read (chmod 600) and set backend.token_file"
        )
    return keyring, type(backend).__name__


def _account(url: str) -> str:
    return url.rstrip("/")
