"""HTTP as every adapter speaks it: which URLs a token may travel to, how long a server
may ask us to wait, and one request streamed with a size cap, under an overall
deadline, every transport failure turned into a backend error in plain words.

The deadline matters because httpx's timeouts are per read: a server dripping one
byte a second never trips a 10-second read timeout. The cap matters because a 64 MiB
JSON answer costs several hundred MiB of heap once parsed.
"""

from __future__ import annotations

import ipaddress
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from cs_console.backends.base import BackendError, BadResponse, Unavailable
from cs_console.timeutil import utcnow

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
REQUEST_DEADLINE_S = 30.0


def is_loopback(url: str) -> bool:
    """True for http(s) URLs on this machine (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, insecure: bool = False) -> str:
    """Refuse anything but http(s), and plain http to another machine unless ``insecure``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"backend URL must be http:// or https:// with a host, not {url!r}")
    if parts.scheme == "http" and not is_loopback(url) and not insecure:
        raise ValueError(
            f"refusing plain http to {parts.hostname}: the token would cross the network "
            "unencrypted. Use https, or, if you really mean it, set insecure = true under "
            "[backend] in config.toml (under [orders] for the order system), or the "
            "environment variable CS_CONSOLE_BACKEND__INSECURE=true "
            "(CS_CONSOLE_ORDERS__INSECURE=true)."
        )
    return url.rstrip("/")


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (``120``) or an HTTP date; None for garbage or absence."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²'.isdigit() is True too
        return min(float(value), 3600.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min((when - utcnow()).total_seconds(), 3600.0))


def capped_request(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    who: str,
    deadline: float = REQUEST_DEADLINE_S,
    max_bytes: int | None = None,
    **kwargs: Any,
) -> tuple[int, httpx.Headers, bytes]:
    """``(status, headers, body)`` of one request; ``who`` names the backend in errors
    ("the server", "Chatwoot"); ``max_bytes`` defaults to :data:`MAX_RESPONSE_BYTES`
    as it is at the call.

    Raises:
        BadResponse: the answer is larger than ``max_bytes``.
        Unavailable: no answer in time, or the connection failed or dropped.
    """
    started = time.monotonic()
    limit = MAX_RESPONSE_BYTES if max_bytes is None else max_bytes
    try:
        with client.stream(method, path, **kwargs) as response:
            declared = response.headers.get("content-length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > limit:
                raise BadResponse(f"{who}'s answer is too large")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise BadResponse(f"{who}'s answer is too large")
                if time.monotonic() - started > deadline:
                    raise Unavailable(f"{who} is answering too slowly")
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)
    except BackendError:
        raise
    except httpx.TimeoutException:
        raise Unavailable(f"{who} did not answer in time") from None
    except httpx.TransportError as exc:
        raise Unavailable(f"cannot reach {who} ({transport_reason(exc)})") from None


def transport_reason(exc: httpx.TransportError) -> str:
    """A few words on why the connection failed."""
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or no route"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection dropped mid-answer"
    return type(exc).__name__
