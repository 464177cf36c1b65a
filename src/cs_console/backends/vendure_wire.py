"""What Vendure's Admin GraphQL API sends, checked for shape and never trusted.

The models are lax: they ignore fields we do not ask about and check only the shape
of what we read; the text in them is raw and reaches the console only through
:mod:`cs_console.backends.vendure_mapping`, whose protocol records sanitise it. The
answer readers turn an HTTP answer into its ``data`` or into the adapter's errors:
GraphQL ``errors[]`` (auth codes become :class:`AuthFailed`), and a mutation's
``ErrorResult`` union member, which Vendure sends inside an HTTP 200, into
:class:`Refused`.

Pure functions, no I/O: :mod:`cs_console.backends.vendure` does the talking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from cs_console import protocol as p
from cs_console.backends.base import (
    AuthFailed,
    BackendError,
    BadResponse,
    Refused,
    Unavailable,
)
from cs_console.backends.http import parse_retry_after

M = TypeVar("M", bound=BaseModel)

_AUTH_CODES = frozenset({"FORBIDDEN", "UNAUTHORIZED", "UNAUTHENTICATED"})


# --- the records (lax: Vendure's JSON, checked for shape, not trusted) -------------------


class Lax(BaseModel):
    """A Vendure object: unknown fields ignored, immutable once read."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Customer(Lax):
    """A customer as an order carries it."""

    id: str
    firstName: str = ""
    lastName: str = ""
    emailAddress: str | None = None
    phoneNumber: str | None = None
    updatedAt: datetime


class Address(Lax):
    """An order's shipping address; every part may be missing."""

    fullName: str | None = None
    company: str | None = None
    streetLine1: str | None = None
    streetLine2: str | None = None
    city: str | None = None
    province: str | None = None
    postalCode: str | None = None
    country: str | None = None
    phoneNumber: str | None = None


class Variant(Lax):
    """The product variant an order line is for."""

    sku: str = ""
    name: str = ""


class Line(Lax):
    """One order line (Vendure's ``OrderLine``)."""

    id: str
    quantity: int
    unitPriceWithTax: int
    productVariant: Variant | None = None


class Fulfilment(Lax):
    """A fulfilment (a parcel) of an order."""

    id: str
    state: str
    method: str | None = None
    trackingCode: str | None = None
    createdAt: datetime
    updatedAt: datetime


class Refund(Lax):
    """A refund of one payment."""

    id: str
    state: str
    total: int
    reason: str | None = None
    createdAt: datetime | None = None


class Payment(Lax):
    """A payment of an order, with its refunds."""

    id: str
    state: str
    amount: int
    method: str | None = None
    refunds: list[Refund] = []


class Admin(Lax):
    """The administrator who wrote a history entry."""

    firstName: str = ""
    lastName: str = ""


class History(Lax):
    """One entry of an order's history (state changes, notes, refunds...)."""

    id: str
    createdAt: datetime
    type: str
    isPublic: bool = True
    data: dict[str, Any] = {}
    administrator: Admin | None = None


class HistoryList(Lax):
    """A page of history entries and how many there are in all."""

    totalItems: int
    items: list[History]


class Order(Lax):
    """An order with everything the adapter maps (see ``vendure_queries.ORDER_FIELDS``)."""

    id: str
    code: str
    state: str
    createdAt: datetime
    updatedAt: datetime
    orderPlacedAt: datetime | None = None
    currencyCode: str
    totalWithTax: int
    customer: Customer | None = None
    shippingAddress: Address | None = None
    lines: list[Line] = []
    fulfillments: list[Fulfilment] | None = None
    payments: list[Payment] | None = None
    history: HistoryList


class OrderList(Lax):
    """A page of orders and how many match in all."""

    totalItems: int
    items: list[Order]


def parse(model: type[M], raw: object, what: str) -> M:
    """``raw`` read as ``model``; :class:`BadResponse` naming ``what`` if it does not fit."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise BadResponse(
            f"Vendure's {what} has an unexpected shape ({first_error(exc)})"
        ) from None


def first_error(exc: ValidationError) -> str:
    """The first validation error as ``field.path: message``, for an error message."""
    errors = exc.errors()
    if not errors:
        return "invalid"
    where = ".".join(str(x) for x in errors[0]["loc"])
    return f"{where}: {errors[0]['msg']}" if where else str(errors[0]["msg"])


def id_key(value: str) -> tuple[int, int, str]:
    """Numeric ids compare as numbers (9 < 10); others (UUID strategy) as text."""
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def path(value: object, *keys: str) -> object:
    """``value[keys[0]][keys[1]]...``, or None where an object is missing."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


# --- the answers ------------------------------------------------------------------------


@dataclass(slots=True)
class Answer:
    """A GraphQL answer's ``data``, and the server's clock when it said so."""

    data: dict[str, Any]
    server_time: datetime | None = None


def read_answer(status: int, headers: httpx.Headers, body: bytes, url: str) -> Answer:
    """The ``data`` of Vendure's answer to a POST to ``url``/admin-api, or the error it
    amounts to (:class:`Unavailable` for 429 and 5xx, with Retry-After)."""
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 429:
        raise Unavailable("Vendure asks us to slow down (429)", retry_after=retry_after)
    if status in (401, 403):
        raise AuthFailed(f"Vendure refused the API key ({status})")
    if 300 <= status < 400:
        raise BadResponse(f"Vendure redirected us ({status}); check the backend URL")
    if status == 404:
        raise BadResponse(f"no Vendure Admin API at {url}/admin-api (404)")
    if status >= 500:
        raise Unavailable(f"Vendure had a problem ({status})", retry_after=retry_after)
    try:
        answer = json.loads(body)
    except ValueError:
        raise BadResponse(f"Vendure answered {status} with something that is not JSON") from None
    if not isinstance(answer, dict):
        raise BadResponse("Vendure's answer is not a GraphQL response")
    errors = answer.get("errors")
    if errors:
        raise graphql_error(errors)
    if status != 200:
        raise BadResponse(f"Vendure answered {status}")
    data = answer.get("data")
    if not isinstance(data, dict):
        raise BadResponse("Vendure's answer has no data")
    return Answer(data, server_time(headers.get("date")))


def graphql_error(errors: object) -> BackendError:
    """The error for a GraphQL ``errors[]``: its first message, and its code."""
    first = errors[0] if isinstance(errors, list) and errors else {}
    message = str(first.get("message", "")) if isinstance(first, dict) else ""
    code = str(path(first, "extensions", "code") or "")
    message = _one_line(message)[:300] or "unknown error"
    if code in _AUTH_CODES:
        return AuthFailed(f"Vendure refused the API key ({code.lower()}: {message})")
    return BadResponse(f"Vendure reported an error: {message}" + (f" ({code})" if code else ""))


def mutation_result(data: dict[str, Any], field_name: str) -> dict[str, Any]:
    """A mutation's union answer: an ErrorResult becomes :class:`Refused`."""
    result = data.get(field_name)
    if not isinstance(result, dict):
        raise BadResponse(f"Vendure's {field_name} answer is missing")
    if "errorCode" in result:
        message = _one_line(str(result.get("message") or result["errorCode"]))
        raise Refused(f"Vendure refused: {message} ({result['errorCode']})", status=422)
    return result


def server_time(value: str | None) -> datetime | None:
    """The time in an HTTP ``Date`` header; None if absent, unreadable or zoneless."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


def _one_line(value: str) -> str:
    # Vendure's messages go into ours: on one line, no longer than a protocol name.
    return " ".join(value.split())[: p.MAX_NAME_CHARS]
