"""What a quick reply may name: its scenarios, audiences, hotkeys and keys, and the
shapes of language tags, group names and id slugs.

The closed sets are the library README's; :mod:`cs_console.replies.lint` checks reply
tables against them, and the importers of library files share the name patterns.
"""

from __future__ import annotations

import re

SCENARIOS: frozenset[str] = frozenset(
    {
        # Standard phrases.
        "greeting",
        "price-fixed",
        "invoice",
        "return-how",
        "return-tracking",
        "extra-postage",
        "closing-rating",
        "offline-reply",
        "payment-reminder",
        "address-confirm",
        "cod-confirm",
        "shipping-48h",
        "courier-intercept",
        "damage-photos",
        "reissue-apology",
        "product-question",
        "stock",
        "size-advice",
        "discount",
        "carrier-choice",
        "shipping-time",
        "hold-on",
        "thanks",
        # After-sales cases.
        "refund-before-group",
        "refund-before-shipping",
        "refund-shipped",
        "refund-signed",
        "damaged-late",
        "missing-item",
        "wrong-item",
        "quality",
        "courier-door",
        "wrong-address",
        "outside-area",
        "no-tracking-update",
        "misrouted",
        "damaged-transit",
        "usage-help",
        "counterfeit",
        "invoice-missing",
        "attitude-complaint",
        "negative-review",
        "suggestion",
        "feedback",
        # Imported from another system (Chatwoot's canned responses): no case known.
        "imported",
    }
)
AUDIENCES: tuple[str, ...] = ("pre-sale", "after-sale", "both")
#: Chords that survive common terminals and tmux (README "Hotkeys").
HOTKEYS: tuple[str, ...] = (
    # The home row (f skipped: terminals send Esc+f as "word right") then z and x.
    # Not Alt+digit: Textual reports Esc+1 as "¡", the macOS Option character, which a
    # Spanish keyboard also types for real.
    *(f"alt+{letter}" for letter in "asdghjklzx"),
    "f11",  # F1-F10 are the workspace's own
    "f12",
)
REPLY_KEYS: tuple[str, ...] = (
    "id",
    "title",
    "body",
    "keywords",
    "scenario",
    "audience",
    "hotkey",
    "actions",
)

#: Folder names are language tags (``en``, ``zh-CN``); this also keeps an imported
#: language from walking out of the library directory (``..``).
LANGUAGE_RE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
GROUP_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
