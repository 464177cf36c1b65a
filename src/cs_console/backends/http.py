"""One HTTP request the way every adapter makes it: streamed with a size cap, under an
overall deadline, every transport failure turned into a backend error in plain words.

The deadline matters because httpx's timeouts are per read: a server dripping one
byte a second never trips a 10-second read timeout. The cap matters because a 64 MiB
JSON answer costs several hundred MiB of heap once parsed.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from cs_console.backends.base import BackendError, BadResponse, Unavailable

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
REQUEST_DEADLINE_S = 30.0


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
