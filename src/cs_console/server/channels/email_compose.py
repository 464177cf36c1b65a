"""An agent's queued reply as the email that goes out: plain UTF-8 text, threaded under
the customer's mail, with the shop's signature after the RFC 3676 delimiter.

Pure functions, no network: the reply sender (``email_smtp.py``) sends what
:func:`mail_bytes` gives. Everything the mail is comes from the queue row
(:class:`~cs_console.server.mailqueue.QueuedMail`), so every attempt builds the same
mail. Only the reply itself is queued: internal notes never reach this module.

A human's reply is not ``Auto-Submitted``: the customer's own auto-responder may answer
it, and that answer is filtered on our side (``email_parse``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from cs_console.sanitize import sanitize, sanitize_line
from cs_console.server.mailqueue import QueuedMail

__all__ = ["compose_reply", "mail_bytes"]

#: Lines folded at 78 characters, CRLF line ends, non-ASCII headers RFC 2047-encoded.
_POLICY = policy.SMTP
SIGNATURE_DELIMITER = "\n\n-- \n"


def _one_line(text: str) -> str:
    """A header value: one line (a line break in a header would start a new header)."""
    return sanitize_line(text)


def _sender_name(display_name: str, agent_name: str) -> str:
    """``Anna (Our Shop Service)``: the customer sees who answered and for which shop;
    either alone when the other is empty."""
    shop, agent = _one_line(display_name), _one_line(agent_name)
    if shop and agent:
        return f"{agent} ({shop})"
    return shop or agent


def _address(display_name: str, address: str) -> Address:
    try:
        return Address(display_name=display_name, addr_spec=address.strip())
    except (HeaderParseError, ValueError, IndexError) as error:
        raise ValueError(f"not an address a mail can go to: {address[:100]!r}") from error


def compose_reply(
    mail: QueuedMail,
    *,
    from_address: str,
    display_name: str,
    signature: str,
    agent_name: str,
    now: datetime,
    files: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    """The email for the queued reply ``mail``.

    Args:
        mail: the queue row (recipient, subject, body, threading ids, own Message-ID).
        from_address: the shop's address.
        display_name: the shop's sender name ("Our Shop Service").
        signature: added after ``-- `` when not empty.
        agent_name: who wrote the reply (may be ""): shown before the shop's name.
        now: the Date header (a naive time is taken as UTC).
        files: the reply's attached files, (name, content type, bytes) each.

    Returns:
        The message, with :data:`email.policy.SMTP` (serialise with :func:`mail_bytes`).

    Raises:
        ValueError: an address the headers cannot hold (the reply cannot be sent as it
            is: a permanent failure, not one to retry).
    """
    message = EmailMessage(policy=_POLICY)
    message["From"] = _address(_sender_name(display_name, agent_name), from_address)
    message["To"] = _address(_one_line(mail.to_name), mail.to_address)
    message["Subject"] = _one_line(mail.subject)
    when = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{mail.mail_id}>"
    if mail.in_reply_to:
        message["In-Reply-To"] = f"<{mail.in_reply_to}>"
    if mail.references:
        message["References"] = " ".join(f"<{one}>" for one in mail.references)
    message["X-CS-Console-Message"] = _one_line(mail.message_id)
    body = sanitize(mail.body).rstrip()
    if signature.strip():
        body += SIGNATURE_DELIMITER + sanitize(signature).strip("\n")
    message.set_content(body + "\n", subtype="plain", charset="utf-8")
    for name, content_type, data in files:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=_one_line(name) or "file",
        )
    return message


def mail_bytes(message: EmailMessage) -> bytes:
    """The message as it goes over SMTP: CRLF line ends, lines folded at 78."""
    return message.as_bytes(policy=_POLICY)
