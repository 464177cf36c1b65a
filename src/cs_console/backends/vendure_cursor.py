"""Where a Vendure pull stands, as the printable cursor the sync engine stores.

The cursor is ``v1|<updatedAt>|<order id>|<last check>|<last history id>``: the last
order emitted, in the pull's order (``updatedAt``, then id as :func:`order_key` says),
and the server time and newest history id of the last history re-check (see the
"Incremental pull" notes in :mod:`cs_console.backends.vendure`). It is printable
text; times are in Vendure's DateTime form, with milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cs_console.backends import vendure_wire as vw
from cs_console.backends.base import BadResponse


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a pull stands: the last order emitted, and the last history re-check."""

    order_time: datetime | None = None
    order_id: str = ""
    checked_at: datetime | None = None
    history_id: str = ""

    def encode(self) -> str:
        """The cursor as the text the sync engine stores."""
        return "|".join(
            [
                "v1",
                iso(self.order_time) if self.order_time else "",
                self.order_id,
                iso(self.checked_at) if self.checked_at else "",
                self.history_id,
            ]
        )

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor in ``text``; the start for ""; :class:`BadResponse` for a stranger."""
        if not text:
            return cls()
        parts = text.split("|")
        if len(parts) != 5 or parts[0] != "v1":
            raise BadResponse("the stored Vendure sync position is not one this version wrote")
        try:
            order_time = datetime.fromisoformat(parts[1]) if parts[1] else None
            checked_at = datetime.fromisoformat(parts[3]) if parts[3] else None
        except ValueError:
            raise BadResponse("the stored Vendure sync position is damaged") from None
        return cls(order_time, parts[2], checked_at, parts[4])


def iso(value: datetime) -> str:
    """``value`` as Vendure's DateTime text (milliseconds, ``Z``)."""
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def order_key(order: vw.Order) -> tuple[datetime, tuple[int, int, str]]:
    """An order's place in the pull: by ``updatedAt``, then by id."""
    return (order.updatedAt, vw.id_key(order.id))
