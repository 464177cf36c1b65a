"""Chatwoot's JSON, as its server really sends it, turned into cs-console's records.

Pure functions, no I/O: :mod:`cs_console.backends.chatwoot` does the talking. Every
record leaves through the strict protocol models, so names and message text are
sanitised here, and anything that does not fit raises :class:`BadResponse`. The
envelopes and the readers of single values are in :mod:`chatwoot_wire`, the cursor in
:mod:`chatwoot_cursor`.

Known differences from the spec that this module accepts: conversation ``status`` may
be ``snoozed`` (spec: open/resolved/pending); ``snoozed_until`` arrives as ISO text
(spec: number); ``waiting_since`` is ``0`` when nobody waits (Ruby's ``nil.to_i``);
``meta.team`` is present on conversations with a team (not in the spec); message
``message_type`` may be 3 (template), ``content`` may be null (attachments only).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from cs_console import protocol as p
from cs_console.backends.base import BadResponse
from cs_console.backends.chatwoot_cursor import decode_cursor, encode_cursor
from cs_console.backends.chatwoot_wire import (
    CONVERSATION_PAGE,
    MESSAGE_PAGE,
    bare_list,
    bare_object,
    conversation_list,
    epoch,
    integer,
    message_list,
    required_epoch,
    toggled_status,
)
from cs_console.domain import ConversationStatus, Group, MessageKind, Role

# The envelopes, the value readers and the cursor live beside this module; importers
# of this one keep finding them here.
__all__ = [
    "AFTER_SALE_WORDS",
    "CANNED_VARIABLES",
    "CONVERSATION_PAGE",
    "MESSAGE_PAGE",
    "CannedResponse",
    "agent_record",
    "bare_list",
    "bare_object",
    "canned_reply",
    "canned_response",
    "channel_name",
    "chatwoot_conversation",
    "contact_id",
    "conversation_id",
    "conversation_list",
    "conversation_record",
    "customer_record",
    "decode_cursor",
    "encode_cursor",
    "epoch",
    "group_for_team",
    "integer",
    "message_id",
    "message_kind",
    "message_list",
    "message_record",
    "profile_agent",
    "required_epoch",
    "role_of",
    "toggled_status",
]

#: Words in a team's name that mean the after-sale desk when ``team_groups`` does not
#: name the team; any other team, and no team, is the pre-sale desk.
AFTER_SALE_WORDS = ("after", "售后", "support", "return", "refund", "complaint")

R = TypeVar("R", bound=p.Record)

_STATUSES = {
    "open": ConversationStatus.OPEN,
    "pending": ConversationStatus.PENDING,
    "snoozed": ConversationStatus.SNOOZED,
    "resolved": ConversationStatus.RESOLVED,
}


class CannedResponse(p.Record):
    """A Chatwoot canned response, sanitised like any other backend text."""

    short_code: p.Line
    content: p.Text


# --- ids ----------------------------------------------------------------------------


def contact_id(raw: int) -> str:
    """Our id for Chatwoot contact ``raw``."""
    return f"cw:c{raw}"


def conversation_id(raw: int) -> str:
    """Our id for Chatwoot conversation ``raw`` (its display id, the one in URLs)."""
    return f"cw:v{raw}"


def message_id(raw: int) -> str:
    """Our id for Chatwoot message ``raw``."""
    return f"cw:m{raw}"


def chatwoot_conversation(our_id: str) -> int | None:
    """Chatwoot's number for one of our conversation ids; None for a foreign id."""
    number = our_id.removeprefix("cw:v")
    if number == our_id or not number.isascii() or not number.isdigit():
        return None
    return int(number)


# --- fields ---------------------------------------------------------------------------


def _text(value: Any, limit: int) -> str:
    """Free text cut to what our records hold: a 150 kB email must not sink a page."""
    if not isinstance(value, str):
        return ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _name(person: Any) -> str:
    if not isinstance(person, dict):
        return ""
    for key in ("available_name", "name", "email", "phone_number"):
        value = person.get(key)
        if isinstance(value, str) and value.strip():
            return _text(value.strip(), p.MAX_NAME_CHARS)
    return ""


def group_for_team(team_name: str | None, team_groups: Mapping[str, Group]) -> Group:
    """The desk a Chatwoot team stands for: ``team_groups`` first (exact name, then
    case-insensitive), else after-sale when the name holds one of AFTER_SALE_WORDS,
    else pre-sale; no team is pre-sale."""
    if not team_name:
        return Group.PRE_SALE
    if team_name in team_groups:
        return team_groups[team_name]
    folded = team_name.casefold()
    for name, group in team_groups.items():
        if name.casefold() == folded:
            return group
    if any(word in folded for word in AFTER_SALE_WORDS):
        return Group.AFTER_SALE
    return Group.PRE_SALE


def channel_name(raw: Any) -> str:
    """``Channel::WebWidget`` -> ``webwidget``; ``web`` when Chatwoot does not say."""
    if not isinstance(raw, str) or not raw:
        return "web"
    return _text(raw.removeprefix("Channel::").lower(), p.MAX_NAME_CHARS)


def role_of(profile: Mapping[str, Any], account_id: int) -> Role:
    """Administrator of ``account_id`` -> supervisor, anything else -> agent."""
    role = profile.get("role")
    accounts = profile.get("accounts")
    if isinstance(accounts, list):
        for account in accounts:
            if isinstance(account, dict) and account.get("id") == account_id:
                role = account.get("role", role)
    return Role.SUPERVISOR if role == "administrator" else Role.AGENT


# --- records --------------------------------------------------------------------------


def _checked(model: type[R], what: str, **fields: Any) -> R:
    try:
        return model(**fields)
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(x) for x in errors[0]["loc"]) if errors else ""
        reason = errors[0]["msg"] if errors else "invalid"
        raise BadResponse(f"Chatwoot sent {what} we cannot accept ({where}: {reason})") from None


def agent_record(raw: Mapping[str, Any]) -> p.AgentRecord:
    """An agent of the account (``GET agents``)."""
    name = _name(raw) or f"agent {raw.get('id')}"
    role = Role.SUPERVISOR if raw.get("role") == "administrator" else Role.AGENT
    return _checked(p.AgentRecord, "an agent", name=name, role=role)


def profile_agent(raw: Mapping[str, Any], account_id: int) -> p.AgentRecord:
    """The token's owner (``GET profile``)."""
    name = _name(raw)
    if not name:
        raise BadResponse("Chatwoot's profile has no name for the token's owner")
    return _checked(p.AgentRecord, "the profile", name=name, role=role_of(raw, account_id))


def customer_record(sender: Mapping[str, Any], fallback_time: datetime) -> p.CustomerRecord:
    """A contact, from a conversation's ``meta.sender``."""
    raw_id = integer(sender.get("id"), "meta.sender.id")
    email = sender.get("email")
    phone = sender.get("phone_number")
    updated = epoch(sender.get("last_activity_at"), "meta.sender.last_activity_at") or (
        fallback_time
    )
    return _checked(
        p.CustomerRecord,
        "a contact",
        id=contact_id(raw_id),
        name=_name(sender) or f"contact {raw_id}",
        email=_text(email, p.MAX_NAME_CHARS) or None,
        phone=_text(phone, p.MAX_NAME_CHARS) or None,
        updated_at=updated,
    )


def conversation_record(
    raw: Mapping[str, Any], team_groups: Mapping[str, Group]
) -> tuple[p.ConversationRecord, p.CustomerRecord]:
    """A conversation of the list, and the contact it is with."""
    raw_id = integer(raw.get("id"), "conversation id")
    meta = raw.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("sender"), dict):
        raise BadResponse(f"Chatwoot's conversation {raw_id} has no meta.sender (the contact)")
    status_text = raw.get("status")
    status = _STATUSES.get(status_text) if isinstance(status_text, str) else None
    if status is None:
        raise BadResponse(f"Chatwoot sent an unknown status {status_text!r} for {raw_id}")
    last_activity = required_epoch(raw.get("last_activity_at"), "last_activity_at")
    team = meta.get("team")
    team_name = team.get("name") if isinstance(team, dict) else None
    assignee = meta.get("assignee")
    unread = raw.get("unread_count", 0)
    customer = customer_record(meta["sender"], last_activity)
    conversation = _checked(
        p.ConversationRecord,
        f"conversation {raw_id}",
        id=conversation_id(raw_id),
        customer_id=customer.id,
        channel=channel_name(meta.get("channel")),
        group=group_for_team(team_name if isinstance(team_name, str) else None, team_groups),
        status=status,
        assignee=_name(assignee) or None,
        snoozed_until=epoch(raw.get("snoozed_until"), "snoozed_until", zero_is_none=True),
        waiting_since=epoch(raw.get("waiting_since"), "waiting_since", zero_is_none=True),
        last_activity_at=last_activity,
        unread_count=unread if isinstance(unread, int) and unread >= 0 else 0,
        updated_at=epoch(raw.get("updated_at"), "updated_at") or last_activity,
    )
    return conversation, customer


def message_kind(raw: Mapping[str, Any]) -> MessageKind:
    """incoming -> customer, outgoing/template -> agent, private -> note, activity -> system."""
    if raw.get("private") is True:
        return MessageKind.NOTE
    kind = raw.get("message_type")
    if kind in (0, "incoming"):
        return MessageKind.CUSTOMER
    if kind in (1, 3, "outgoing", "template"):
        return MessageKind.AGENT
    if kind in (2, "activity"):
        return MessageKind.SYSTEM
    raise BadResponse(f"Chatwoot sent an unknown message_type {kind!r}")


def message_record(raw: Mapping[str, Any], conversation: str) -> p.MessageRecord:
    """One message. One we sent keeps Chatwoot's id: the engine renamed our local copy
    to it when the send was answered (``store.outbox.complete``)."""
    raw_id = integer(raw.get("id"), "message id")
    kind = message_kind(raw)
    author = _name(raw.get("sender"))
    if not author:
        author = "Chatwoot" if kind is MessageKind.SYSTEM else "unknown"
    body = _text(raw.get("content"), p.MAX_BODY_CHARS)
    attachments = raw.get("attachments")
    files = attachment_records(attachments)
    if not body and isinstance(attachments, list) and attachments:
        types = sorted(
            {str(a.get("file_type", "file")) for a in attachments if isinstance(a, dict)}
        )
        body = f"[attachment: {', '.join(types) or 'file'}]"
    return _checked(
        p.MessageRecord,
        f"message {raw_id}",
        id=message_id(raw_id),
        conversation_id=conversation,
        kind=kind,
        author=author,
        body=body,
        created_at=required_epoch(raw.get("created_at"), f"message {raw_id} created_at"),
        attachments=files,
    )


def attachment_records(raw: Any) -> list[p.AttachmentRecord]:
    """A message's ``attachments`` ({id, file_type, data_url, file_size}) as records.
    The name is the last part of ``data_url`` (Chatwoot sends no other), the type a
    guess from it; both are the sender's, sanitised by the record. One that cannot be
    read is left out rather than losing the message."""
    if not isinstance(raw, list):
        return []
    out: list[p.AttachmentRecord] = []
    for item in raw[: p.MAX_ATTACHMENTS]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            continue
        url = item.get("data_url")
        url = url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) if url else ""
        guessed = mimetypes.guess_type(name)[0] or ""
        size = item.get("file_size")
        try:
            out.append(
                p.AttachmentRecord.model_validate(
                    {
                        "id": f"cw-att-{item['id']}",
                        "kind": "image" if item.get("file_type") == "image" else "file",
                        "file_name": name or "file",
                        "content_type": guessed
                        if _CONTENT_TYPE.match(guessed)
                        else "application/octet-stream",
                        "size": size if isinstance(size, int) and size >= 0 else 0,
                        "url": url,
                    },
                    strict=False,
                )
            )
        except ValidationError:
            continue
    return out


_CONTENT_TYPE = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")


#: Chatwoot's canned-response variables -> our placeholders; any other becomes a blank
#: the agent fills ({fill:...}), so nothing is ever sent with a raw "{{...}}" in it.
CANNED_VARIABLES = {
    "contact.name": "{customer_name}",
    "contact.first_name": "{customer_name}",
    "agent.name": "{agent_name}",
    "agent.first_name": "{agent_name}",
}
_LIQUID = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def canned_reply(raw: Mapping[str, Any], *, language: str, updated_at: datetime) -> p.ReplyRecord:
    """A canned response as a quick reply of group ``chatwoot`` in ``language``: its
    short code is the title and a keyword, its variables become our placeholders."""
    number = integer(raw.get("id"), "canned response id")
    item = canned_response(raw)
    slug = _SLUG_JUNK.sub("-", item.short_code.lower()).strip("-")[:40].strip("-")
    parts: list[str] = []
    last = 0
    for match in _LIQUID.finditer(item.content):
        parts.append(_escape_braces(item.content[last : match.start()]))
        name = match.group(1)
        parts.append(CANNED_VARIABLES.get(name, "{fill:" + name.replace(".", " ")[:40] + "}"))
        last = match.end()
    parts.append(_escape_braces(item.content[last:]))
    return _checked(
        p.ReplyRecord,
        f"canned response {number}",
        id=f"{language}.chatwoot.c{number}" + (f"-{slug}" if slug else ""),
        language=language,
        group="chatwoot",
        title=item.short_code or f"#{number}",
        body="".join(parts),
        keywords=[item.short_code] if item.short_code else [],
        scenario="imported",
        audience="both",
        updated_at=updated_at,
    )


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def canned_response(raw: Mapping[str, Any]) -> CannedResponse:
    """One canned response (``GET canned_responses``)."""
    return _checked(
        CannedResponse,
        "a canned response",
        short_code=_text(raw.get("short_code"), p.MAX_NAME_CHARS),
        content=_text(raw.get("content"), p.MAX_BODY_CHARS),
    )
