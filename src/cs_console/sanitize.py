"""Neutralise untrusted text (customer messages, names, backend data) before it is stored or shown.

Terminals act on escape sequences: OSC 52 writes the clipboard, OSC 8 plants links,
CSI moves the cursor. Textual passes such bytes straight through, so every piece of
text that did not come from us goes through :func:`sanitize` on the way in (ingest)
and again on the way out (render). Markup is a separate concern: the UI renders this
text without interpreting markup at all.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab and newline become their visible "control picture"
# (U+2400 + code), so the agent can see that something odd was sent.
_C0_TABLE = {code: 0x2400 + code for code in range(0x20) if code not in (0x09, 0x0A)}
_C0_TABLE[0x7F] = 0x2421  # DEL -> ␡

_REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

# C1 controls (8-bit CSI, OSC, DCS ...), bidi overrides/isolates, and invisible
# formatting characters that can disguise text.
_INVISIBLE = re.compile(
    "["
    "\u0080-\u009f"  # C1 controls
    "\u061c"  # Arabic letter mark
    "\u200b-\u200f"  # zero-width space/joiners, LRM, RLM
    "\u2028\u2029"  # line/paragraph separators
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space / BOM
    "\ufff9-\ufffb"  # interlinear annotations
    "]"
)


def sanitize(text: str) -> str:
    """Return ``text`` safe to show in a terminal.

    Keeps newline and tab; turns other C0 controls (ESC among them) into visible
    control pictures; replaces C1 controls, bidi overrides and invisible formatting
    characters with U+FFFD; turns CRLF and lone CR into newlines.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_C0_TABLE)
    text = _INVISIBLE.sub(_REPLACEMENT, text)
    # Any other format character (Cf) or lone surrogate (Cs) that slipped through.
    if any(unicodedata.category(ch) in ("Cf", "Cs") for ch in text):
        text = "".join(
            _REPLACEMENT if unicodedata.category(ch) in ("Cf", "Cs") else ch for ch in text
        )
    return text


def sanitize_line(text: str) -> str:
    """Like :func:`sanitize`, folded onto one line (for list rows and snippets)."""
    return " ".join(sanitize(text).split())
