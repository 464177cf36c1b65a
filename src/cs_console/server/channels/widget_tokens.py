"""The widget's signed sessions and the shop's signed identities.

A session is a bearer token the server signs and keeps no row for but the visitor's:
``v1.<visitor id>.<expiry unix>.<key id>.<signature>``, the signature being
HMAC-SHA256 over everything before it. The keys live in a JSON file (owner-only),
newest first: rotating adds a key and keeps the previous ones for checking, so a
token issued before a rotation still resumes its conversation (and is answered with
a token under the new key).

An identity is what the shop's own server vouches for about its logged-in buyer:
``PAYLOAD.SIGNATURE``, PAYLOAD base64url(JSON) and SIGNATURE base64url(HMAC-SHA256(the
shop's identity secret, PAYLOAD)). Nothing of it is trusted before the signature is.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cs_console.paths import write_whole
from cs_console.sanitize import sanitize_line
from cs_console.server.inbox import Contact

FORMAT_VERSION = "v1"
#: No token the server issues is longer; anything longer is refused unread.
MAX_TOKEN_CHARS = 256
#: An identity value longer than this is refused unread.
MAX_IDENTITY_CHARS = 4096
#: How many keys a file may hold (a rotation keeps a few; more is a broken file).
MAX_KEYS = 16
#: The shortest identity secret taken: a guessable secret would let anyone be anyone.
MIN_IDENTITY_SECRET_BYTES = 16

_KEY_ID = re.compile(r"^[0-9a-f]{8}$")
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SIGNATURE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, base64url without padding

# Identity fields, capped before anything else looks at them.
_MAX_EMAIL = 254
_MAX_PHONE = 40
_MAX_NAME = 200
_MAX_ORDERS = 20
_MAX_ORDER = 64


class WidgetKeyError(Exception):
    """The key file cannot be read or holds something else than keys (says where)."""


class IdentityError(Exception):
    """A signed identity that is malformed, wrongly signed or expired."""


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """The bytes of base64url text, padded or not.

    Raises:
        ValueError: not base64url.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def _mac(secret: bytes, message: str) -> str:
    return b64url(hmac.new(secret, message.encode("ascii"), hashlib.sha256).digest())


@dataclass(frozen=True)
class WidgetKey:
    """One signing key: its id (in the token) and secret."""

    id: str
    secret: bytes
    created: int

    @classmethod
    def new(cls) -> WidgetKey:
        """A fresh random key."""
        return cls(
            id=secrets.token_hex(4), secret=secrets.token_bytes(32), created=int(time.time())
        )


@dataclass(frozen=True)
class Session:
    """What a verified token says: the visitor, and until when it was valid."""

    visitor_id: str
    expires: int
    key_id: str


class WidgetKeys:
    """The session signing keys, newest (the one that signs) first."""

    def __init__(self, keys: Sequence[WidgetKey]) -> None:
        if not keys:
            raise WidgetKeyError("no signing key")
        self.keys: tuple[WidgetKey, ...] = tuple(keys)
        self._by_id = {key.id: key for key in self.keys}

    @property
    def current(self) -> WidgetKey:
        """The key new tokens are signed with."""
        return self.keys[0]

    @classmethod
    def ephemeral(cls) -> WidgetKeys:
        """Keys in memory only (settings made in code, tests): lost on restart."""
        return cls([WidgetKey.new()])

    @classmethod
    def load(cls, path: Path) -> WidgetKeys:
        """The keys in ``path``.

        Raises:
            FileNotFoundError: no such file.
            WidgetKeyError: unreadable, or not a key file.
        """
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise WidgetKeyError(f"{path}: cannot read the widget keys: {exc}") from None
        return cls(_parse_keys(raw, path))

    @classmethod
    def load_or_create(cls, path: Path) -> WidgetKeys:
        """The keys in ``path``; on first use a new file with one key (owner-only).

        Two servers starting at once end with the same keys: the file is linked into
        place only if none is there yet.

        Raises:
            WidgetKeyError: the file exists but is not a key file, or cannot be made.
        """
        with contextlib.suppress(FileNotFoundError):
            return cls.load(path)
        keys = cls.ephemeral()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_whole(path, keys.to_json(), replace=False)
        except FileExistsError:
            return cls.load(path)
        except OSError as exc:
            raise WidgetKeyError(f"{path}: cannot write the widget keys: {exc}") from None
        return keys

    def to_json(self) -> bytes:
        """The key file's content."""
        return json.dumps(
            {
                "version": 1,
                "keys": [
                    {"id": k.id, "secret": b64url(k.secret), "created": k.created}
                    for k in self.keys
                ],
            },
            indent=2,
        ).encode("ascii")

    def rotated(self, keep: int = 2) -> WidgetKeys:
        """A new current key, the ``keep - 1`` newest old keys kept for checking."""
        return WidgetKeys([WidgetKey.new(), *self.keys[: max(keep, 1) - 1]])

    def issue(self, visitor_id: str, expires: int) -> str:
        """A token for ``visitor_id`` valid until ``expires`` (unix seconds)."""
        if not _VISITOR_ID.match(visitor_id):
            raise ValueError(f"not a visitor id: {visitor_id!r}")
        key = self.current
        message = f"{FORMAT_VERSION}.{visitor_id}.{expires}.{key.id}"
        return f"{message}.{_mac(key.secret, message)}"

    def verify(self, token: str) -> Session | None:
        """The session a token names if a known key signed it, expired or not (the
        caller decides what an expired one is still good for); None otherwise."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            return None
        parts = token.split(".")
        if len(parts) != 5 or parts[0] != FORMAT_VERSION:
            return None
        _, visitor_id, expires, key_id, signature = parts
        if not (
            _VISITOR_ID.match(visitor_id)
            and expires.isascii()
            and expires.isdigit()
            and len(expires) <= 12
            and _KEY_ID.match(key_id)
            and _SIGNATURE.match(signature)
        ):
            return None
        key = self._by_id.get(key_id)
        if key is None:
            return None
        expected = _mac(key.secret, f"{FORMAT_VERSION}.{visitor_id}.{expires}.{key_id}")
        if not hmac.compare_digest(expected, signature):
            return None
        return Session(visitor_id=visitor_id, expires=int(expires), key_id=key_id)


def _parse_keys(raw: object, path: Path) -> list[WidgetKey]:
    problem = f"{path}: not a widget key file"
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
        raise WidgetKeyError(problem)
    found: list[WidgetKey] = []
    for entry in raw["keys"][:MAX_KEYS]:
        if not isinstance(entry, dict):
            raise WidgetKeyError(problem)
        key_id, secret, created = entry.get("id"), entry.get("secret"), entry.get("created", 0)
        if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
            raise WidgetKeyError(f"{problem} (a key id is 8 hex digits)")
        try:
            data = unb64url(secret) if isinstance(secret, str) else b""
        except ValueError:
            data = b""
        if len(data) < 32:
            raise WidgetKeyError(f"{problem} (key {key_id}: a secret of 32 bytes, base64url)")
        found.append(WidgetKey(key_id, data, int(created) if isinstance(created, int) else 0))
    if not found:
        raise WidgetKeyError(f"{problem} (no keys)")
    return found


def rotate(path: Path, keep: int = 2) -> WidgetKeys:
    """Give the key file at ``path`` a new current key (made if missing); the newest
    ``keep - 1`` old keys stay valid for checking, so no session is lost. Returns the
    keys now in the file.

    Raises:
        WidgetKeyError: the file is not a key file, or cannot be written.
    """
    keys = WidgetKeys.load_or_create(path).rotated(keep)
    try:
        write_whole(path, keys.to_json())
    except OSError as exc:
        raise WidgetKeyError(f"{path}: cannot write the widget keys: {exc}") from None
    return keys


# --- the shop's signed identities ---------------------------------------------------


def read_identity_secret(path: Path) -> bytes:
    """The shop's identity secret: the file's bytes, surrounding blanks stripped.

    Raises:
        IdentityError: unreadable, or too short to be a secret.
    """
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise IdentityError(f"{path}: cannot read the identity secret: {exc}") from None
    if len(secret) < MIN_IDENTITY_SECRET_BYTES:
        raise IdentityError(
            f"{path}: the identity secret is shorter than {MIN_IDENTITY_SECRET_BYTES} bytes"
        )
    return secret


def sign_identity(secret: bytes, fields: Mapping[str, object], *, minutes: int = 60) -> str:
    """``PAYLOAD.SIGNATURE`` for ``fields`` (email, phone, name, orders, exp); ``exp``
    is now plus ``minutes`` unless given. What the shop's server does, for the CLI and
    tests."""
    payload = {k: v for k, v in fields.items() if v is not None}
    payload.setdefault("exp", int(time.time()) + minutes * 60)
    encoded = b64url(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    return f"{encoded}.{b64url(hmac.new(secret, encoded.encode('ascii'), hashlib.sha256).digest())}"


def _field(payload: Mapping[str, object], name: str, limit: int) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise IdentityError(f"{name}: a string of at most {limit} characters")
    return sanitize_line(value).strip() or None


def verify_identity(secret: bytes, value: str, now: float, *, language: str = "en") -> Contact:
    """The buyer a signed identity names.

    Raises:
        IdentityError: malformed, wrongly signed, expired, or a field out of bounds.
    """
    if not isinstance(value, str) or len(value) > MAX_IDENTITY_CHARS:
        raise IdentityError("not an identity")
    encoded, dot, signature = value.partition(".")
    if not dot or not encoded:
        raise IdentityError("not an identity")
    try:
        given = unb64url(signature)
        expected = hmac.new(secret, encoded.encode("ascii"), hashlib.sha256).digest()
    except (ValueError, UnicodeEncodeError):
        raise IdentityError("not an identity") from None
    if not hmac.compare_digest(expected, given):
        raise IdentityError("wrong signature")
    try:
        payload = json.loads(unb64url(encoded))
    except (ValueError, RecursionError):
        raise IdentityError("the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise IdentityError("the payload is not a JSON object")
    exp = payload.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise IdentityError("exp: unix seconds required")
    if exp < now:
        raise IdentityError("expired")
    orders = payload.get("orders", [])
    if not isinstance(orders, list) or len(orders) > _MAX_ORDERS:
        raise IdentityError(f"orders: a list of at most {_MAX_ORDERS}")
    numbers: list[str] = []
    for order in orders:
        if not isinstance(order, str) or not 0 < len(order) <= _MAX_ORDER:
            raise IdentityError(f"orders: strings of 1-{_MAX_ORDER} characters")
        cleaned = sanitize_line(order).strip()
        if cleaned:
            numbers.append(cleaned)
    email = _field(payload, "email", _MAX_EMAIL)
    phone = _field(payload, "phone", _MAX_PHONE)
    if email is None and phone is None and not numbers:
        raise IdentityError("an email, a phone or an order number is required")
    return Contact(
        name=_field(payload, "name", _MAX_NAME) or "",
        email=email,
        phone=phone,
        language=language,
        order_numbers=tuple(numbers),
    )


class KeyFile:
    """The keys of a file, read again when the file changes: a rotation by
    ``cs-console widget rotate-secret`` reaches a running server within seconds.
    Without a file (None), keys in memory only."""

    #: How often the file's modification time is looked at.
    CHECK_EVERY_S = 2.0

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._keys = WidgetKeys.ephemeral() if path is None else WidgetKeys.load_or_create(path)
        self._stamp = self._mtime()
        self._checked = time.monotonic()

    def _mtime(self) -> int | None:
        if self.path is None:
            return None
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def keys(self) -> WidgetKeys:
        """The keys as the file has them now (the last good ones if it is broken)."""
        now = time.monotonic()
        if self.path is None or now - self._checked < self.CHECK_EVERY_S:
            return self._keys
        self._checked = now
        stamp = self._mtime()
        if stamp != self._stamp:
            # A broken or missing file keeps the keys in hand: sessions go on.
            with contextlib.suppress(FileNotFoundError, WidgetKeyError):
                self._keys = WidgetKeys.load(self.path)
                self._stamp = stamp
        return self._keys
