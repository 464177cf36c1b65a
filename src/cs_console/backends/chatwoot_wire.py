"""What Chatwoot's Application API sends, read and checked before anything trusts it.

Pure functions, no I/O: :mod:`cs_console.backends.chatwoot` does the talking and
:mod:`cs_console.backends.chatwoot_mapping` builds the protocol's records. Anything
that does not fit raises :class:`BadResponse`; :func:`read_answer` turns an HTTP
answer into its JSON or into the adapter's errors.

Envelopes (checked against ``tests/fixtures/chatwoot/application_swagger.json``; the
spec is hand-maintained and lags the server, so where they differ the server wins):

* ``GET conversations``: ``{"data": {"meta": {...counts}, "payload": [...]}}`` (spec
  ``conversation_list``); 25 a page, newest ``last_activity_at`` first.
* ``GET conversations/{id}/messages``: ``{"meta": {...}, "payload": [...]}``, the latest
  20 in ascending order, ``before=<id>`` for the 20 before (the spec lists no query
  parameters here).
* ``GET profile``, ``POST messages``, ``POST assignments``: a bare object (``null``
  from ``assignments`` when unassigning).
* ``GET agents``, ``GET teams``, ``GET canned_responses``: a bare array.
* ``POST toggle_status``: ``{"meta": {}, "payload": {"success", "current_status",
  "conversation_id"}}``.

Times are Unix seconds, except where the server sends ISO text (``snoozed_until``);
``waiting_since`` is ``0`` when nobody waits (Ruby's ``nil.to_i``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from cs_console.backends.base import AuthFailed, BadResponse, Refused, Unavailable
from cs_console.backends.http import parse_retry_after
from cs_console.sanitize import sanitize_line

#: Conversations come 25 to a page, messages 20: the server's sizes, not ours.
CONVERSATION_PAGE = 25
MESSAGE_PAGE = 20


# --- envelopes ------------------------------------------------------------------------


def conversation_list(body: Any) -> list[dict[str, Any]]:
    """The conversations of a ``GET conversations`` answer (``data.payload``)."""
    data = body.get("data") if isinstance(body, dict) else None
    payload = data.get("payload") if isinstance(data, dict) else None
    return _objects(payload, "the conversation list (data.payload)")


def message_list(body: Any) -> list[dict[str, Any]]:
    """The messages of a ``GET messages`` answer (``payload``)."""
    payload = body.get("payload") if isinstance(body, dict) else None
    return _objects(payload, "the message list (payload)")


def bare_list(body: Any, what: str) -> list[dict[str, Any]]:
    """An answer that is a bare array of objects (agents, teams, canned responses)."""
    return _objects(body, what)


def bare_object(body: Any, what: str) -> dict[str, Any]:
    """An answer that is a bare object (profile, a created message)."""
    if not isinstance(body, dict):
        raise BadResponse(f"Chatwoot sent {_kind(body)} for {what}, not an object")
    return body


def toggled_status(body: Any) -> str:
    """``payload.current_status`` of a ``toggle_status`` answer."""
    payload = body.get("payload") if isinstance(body, dict) else None
    status = payload.get("current_status") if isinstance(payload, dict) else None
    if not isinstance(status, str):
        raise BadResponse("Chatwoot's toggle_status answer has no payload.current_status")
    return status


def _objects(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BadResponse(f"Chatwoot sent {_kind(value)} for {what}, not a list")
    for item in value:
        if not isinstance(item, dict):
            raise BadResponse(f"Chatwoot sent {_kind(item)} inside {what}, not an object")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), "a number"
    )


# --- fields ---------------------------------------------------------------------------


def epoch(value: Any, field: str, *, zero_is_none: bool = False) -> datetime | None:
    """A Chatwoot time (Unix seconds, or ISO text where the server sends that); None
    for null, and for 0 when ``zero_is_none`` (Ruby's ``nil.to_i``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadResponse(f"Chatwoot sent true/false for {field}, not a time")
    if isinstance(value, int | float):
        if zero_is_none and value == 0:
            return None
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise BadResponse(f"Chatwoot sent an impossible time for {field}") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadResponse(f"Chatwoot sent {value[:40]!r} for {field}, not a time") from None
        if parsed.tzinfo is None:
            raise BadResponse(f"Chatwoot sent a time without a zone for {field}")
        return parsed.astimezone(UTC)
    raise BadResponse(f"Chatwoot sent {_kind(value)} for {field}, not a time")


def required_epoch(value: Any, field: str) -> datetime:
    """Like :func:`epoch`, for a time that must be there."""
    when = epoch(value, field)
    if when is None:
        raise BadResponse(f"Chatwoot left {field} empty")
    return when


def integer(value: Any, field: str) -> int:
    """A Chatwoot id or count."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadResponse(f"Chatwoot sent {_kind(value)} for {field}, not a whole number")
    return value


# --- answers --------------------------------------------------------------------------


def read_answer(status: int, headers: httpx.Headers, body: bytes) -> Any:
    """An HTTP answer from Chatwoot as its JSON (None for an empty body), or the
    adapter's error for it.

    Raises:
        AuthFailed: 401, the access token was refused.
        Refused: 403, 404, 409, 413, 422 and other 4xx (a 404 may be a deleted thing).
        Unavailable: 429 or 5xx, with the server's ``Retry-After``.
        BadResponse: a web page instead of data, a redirect, or a 2xx that is not JSON.
    """
    is_html = _looks_like_html(headers, body)
    if 200 <= status < 300:
        if is_html:
            raise BadResponse(
                "Chatwoot answered with a web page, not data: check that the URL is "
                "the Chatwoot server itself (no login proxy in front of it)"
            )
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise BadResponse(
                "Chatwoot's answer was cut short or is not JSON; nothing was stored"
            ) from None
    detail = "" if is_html else _error_text(body)
    suffix = f": {detail}" if detail else ""
    if status == 401:
        raise AuthFailed(
            f"Chatwoot refused the access token{suffix}. Copy a fresh one from "
            "Chatwoot (Profile settings, Access Token) into the configuration"
        )
    if status == 404 and is_html:
        raise BadResponse(
            "Chatwoot has no such address (a 404 page): check the URL and the account id"
        )
    if status == 404:
        raise Refused(
            f"Chatwoot no longer has this (404{suffix}); it may have been deleted",
            status=404,
        )
    if status in (403, 409, 413, 422):
        raise Refused(f"Chatwoot refused this ({status}{suffix})", status=status)
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 429:
        raise Unavailable("Chatwoot asks us to slow down (429)", retry_after=retry_after)
    if 300 <= status < 400:
        raise BadResponse(f"Chatwoot redirected us ({status}); check the URL")
    if 400 <= status < 500:
        raise Refused(f"Chatwoot refused this ({status}{suffix})", status=status)
    raise Unavailable(f"Chatwoot had a problem ({status}{suffix})", retry_after=retry_after)


def _looks_like_html(headers: httpx.Headers, body: bytes) -> bool:
    if "html" in headers.get("content-type", "").lower():
        return True
    return body.lstrip()[:1] == b"<"


def _error_text(body: bytes) -> str:
    """Chatwoot's error text: ``{"error": ...}``, ``{"message": ...}`` or ``{"errors": [...]}``."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    for key in ("error", "message", "description"):
        if isinstance(data.get(key), str):
            return _short(data[key])
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            first = first.get("message", "")
        if isinstance(first, str):
            return _short(first)
    return ""


def _short(text: str) -> str:
    return sanitize_line(" ".join(text.split())[:200])
