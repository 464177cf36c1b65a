"""The subject line of an email reply, shared by the server that sends it and the
console that shows it before it goes: one "Re:", and the conversation's number, which
threads a customer's answer even from a mail client that drops the headers."""

from __future__ import annotations

import re

#: Replies and forwards already marked, in the languages customers write in.
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|tr|rv|回复|答复|转发)\s*[:：]\s*)+", re.I)
#: The conversation number our subjects carry, e.g. "[#conv-1a2b3c4d5e6f]".
SUBJECT_NUMBER = re.compile(r"\[#(conv-[0-9A-Za-z_-]{1,40})\]")


def reply_subject(subject: str | None, conversation_id: str) -> str:
    """``Re: <subject> [#conv-…]`` for a reply in ``conversation_id``."""
    base = _REPLY_PREFIX.sub("", SUBJECT_NUMBER.sub("", subject or "")).strip()
    tag = f"[#{conversation_id}]"
    return f"Re: {base} {tag}" if base else f"Re: {tag}"
