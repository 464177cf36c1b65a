"""What Medusa v2's Admin API sends, and how its values are read, never trusted.

Readers take a JSON value and the name of the field it came from, and give back the
value in the shape the adapter needs or raise :class:`MappingError` naming the field;
the adapter turns that into ``BadResponse``. Also here: Medusa's amounts in major
units, the console ids made from Medusa's ids, Medusa's time format, the fields the
adapter asks for, and the reading of an HTTP answer into its JSON or the adapter's
errors.

Pure functions, no I/O: :mod:`cs_console.backends.medusa` does the talking and
:mod:`cs_console.backends.medusa_mapping` builds the protocol's records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from cs_console.backends.base import AuthFailed, BadResponse, Refused, Unavailable
from cs_console.backends.http import parse_retry_after
from cs_console.money import currency_digits
from cs_console.sanitize import sanitize_line

PREFIX = "medusa:"
MAX_ID = 64

Json = Mapping[str, Any]

ORDER_FIELDS = ",".join(
    [
        "id",
        "display_id",
        "status",
        "email",
        "currency_code",
        "total",
        "original_total",
        "created_at",
        "updated_at",
        "canceled_at",
        "metadata",
        "customer_id",
        "payment_status",
        "fulfillment_status",
        "customer.id",
        "customer.email",
        "customer.first_name",
        "customer.last_name",
        "customer.phone",
        "customer.updated_at",
        # Item fields one by one leave out ``quantity`` (Medusa computes it): take all.
        "*items",
        "*shipping_address",
        "*fulfillments",
        "*fulfillments.labels",
        "fulfillments.shipping_option.name",
        "*returns",
        "*returns.items",
        "*payment_collections",
        "*payment_collections.payments",
        "*payment_collections.payments.captures",
        "*payment_collections.payments.refunds",
    ]
)
PAYMENT_FIELDS = "id,updated_at,payment_collection.order.id"


class MappingError(ValueError):
    """Medusa sent a value we cannot read; the message names the field."""


# --- small readers ----------------------------------------------------------------


def obj(value: object, where: str) -> Json:
    """``value`` as a JSON object, else :class:`MappingError`."""
    if not isinstance(value, Mapping):
        raise MappingError(f"{where}: expected an object")
    return value


def objects(value: object, where: str) -> list[Json]:
    """A list of JSON objects; null counts as empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{where}: expected a list")
    return [obj(item, where) for item in value]


def text(value: object, where: str, default: str = "") -> str:
    """A string field; null gives ``default``."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise MappingError(f"{where}: expected text")
    return value


def when(value: object, where: str) -> datetime:
    """An ISO 8601 time with a zone."""
    raw = text(value, where)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise MappingError(f"{where}: not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise MappingError(f"{where}: a time without a zone")
    return parsed


def maybe_when(value: object, where: str) -> datetime | None:
    """An optional time."""
    return None if value is None else when(value, where)


def iso(at: datetime) -> str:
    """Medusa's time format: UTC, milliseconds, ``Z``."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- amounts ------------------------------------------------------------------------


def decimal(value: object, where: str) -> Decimal:
    """A Medusa amount: a JSON number, or ``{"value": "12.5"}`` (its raw BigNumber form)."""
    if isinstance(value, Mapping):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MappingError(f"{where}: expected an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{where}: not an amount") from None
    if not amount.is_finite():
        raise MappingError(f"{where}: not an amount")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """Major units (Medusa v2 stores ``24.5``) to minor units of ``currency`` (2450)."""
    scaled = amount.scaleb(currency_digits(currency)).quantize(Decimal(1), ROUND_HALF_UP)
    return int(scaled)


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units back to the decimal major units Medusa expects."""
    return Decimal(minor).scaleb(-currency_digits(currency))


# --- ids ------------------------------------------------------------------------------


def make_id(kind: str, *parts: str) -> str:
    """A namespaced record id (``medusa:o<id>``); hashed when it would exceed 64 chars."""
    candidate = PREFIX + kind + ".".join(parts)
    if len(candidate) <= MAX_ID and all(
        c.isascii() and (c.isalnum() or c in "_.:-") for c in candidate
    ):
        return candidate
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]
    return PREFIX + kind + digest


def order_id(medusa_id: str) -> str:
    """The console id of a Medusa order."""
    return make_id("o", medusa_id)


def medusa_order_id(console_id: str) -> str | None:
    """The Medusa id behind a console order id, or None when it is not one of ours."""
    prefix = PREFIX + "o"
    if not console_id.startswith(prefix) or len(console_id) == len(prefix):
        return None
    return console_id[len(prefix) :]


def order_of_payment(payment: Mapping[str, Any]) -> str | None:
    """The Medusa id of the order a payment row (``PAYMENT_FIELDS``) belongs to."""
    collection = payment.get("payment_collection")
    if not isinstance(collection, Mapping):
        return None
    order = collection.get("order")
    if not isinstance(order, Mapping):
        return None
    oid = order.get("id")
    return oid if isinstance(oid, str) and oid else None


# --- answers --------------------------------------------------------------------------


def read_answer(status: int, headers: httpx.Headers, body: bytes) -> dict[str, Any]:
    """An HTTP answer from Medusa as its JSON object, or the adapter's error for it.

    Raises:
        AuthFailed: 401, the secret key was refused.
        Refused: another 4xx.
        Unavailable: 429 or 5xx, with the server's ``Retry-After``.
        BadResponse: a redirect, or a 2xx that is not a JSON object.
    """
    if 200 <= status < 300:
        try:
            data = json.loads(body)
        except ValueError:
            raise BadResponse("Medusa sent something that is not JSON") from None
        if not isinstance(data, dict):
            raise BadResponse("Medusa sent JSON of an unexpected shape")
        return data
    detail = error_text(body)
    if status == 401:
        raise AuthFailed(f"Medusa refused the secret key ({detail or 'unauthorized'})")
    if status == 429:
        raise Unavailable(
            "Medusa asks us to slow down (429)",
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    if 300 <= status < 400:
        raise BadResponse(f"Medusa redirected us ({status}); check the backend URL")
    if 400 <= status < 500:
        raise Refused(f"Medusa refused this ({status}: {detail or 'refused'})", status=status)
    raise Unavailable(
        f"Medusa had a problem ({status}{': ' + detail if detail else ''})",
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


def error_text(body: bytes) -> str:
    """Medusa's error message (``{"type": ..., "message": ...}``), sanitised and short."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return sanitize_line(message)[:200] if isinstance(message, str) else ""
