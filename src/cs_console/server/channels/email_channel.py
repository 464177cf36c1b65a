"""The email channel: the mailbox reader and the reply sender, started and stopped
together with the server, and the check ``cs-console doctor`` runs on the settings.

See ``email_imap.py`` (mail in) and ``email_smtp.py`` (replies out).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import smtplib
import socket
import ssl
from typing import TYPE_CHECKING

from imapclient.exceptions import IMAPClientError, LoginError

from cs_console.sanitize import sanitize_line
from cs_console.server.channels.email_imap import (
    MailboxReader,
    MailPasswordError,
    imap_connect,
    mail_password,
)
from cs_console.server.channels.email_smtp import (
    ReplySender,
    smtp_connect,
    smtp_quit,
    smtp_words,
)
from cs_console.server.settings import ServerSettings

if TYPE_CHECKING:
    from cs_console.server.state import ServerState

log = logging.getLogger(__name__)

__all__ = ["CHECK_TIMEOUT_S", "EmailChannel", "check_email"]

#: The doctor's checks give up on a server after this long.
CHECK_TIMEOUT_S = 10.0


class EmailChannel:
    """The mailbox reader and the reply sender of a server, when email is enabled."""

    def __init__(self, state: ServerState, settings: ServerSettings) -> None:
        self._state = state
        self._settings = settings
        self.reader: MailboxReader | None = None
        self.sender: ReplySender | None = None

    @property
    def enabled(self) -> bool:
        """Whether ``server.toml`` turned the channel on."""
        return self._settings.channels.email.enabled

    def start(self) -> None:
        """Start reading and sending, if the channel is enabled."""
        if not self.enabled or self.reader is not None:
            return
        self.reader = MailboxReader(self._state, self._settings)
        self.sender = ReplySender(self._state, self._settings)
        self.sender.start()
        self.reader.start()
        section = self._settings.channels.email
        log.info("email: reading %s, sending as %s", self.reader.mailbox, section.address)

    def wake(self) -> None:
        """A reply was queued: send it now rather than at the next look."""
        if self.sender is not None:
            self.sender.wake()

    def stop(self) -> None:
        """Stop both threads (each finishes the step in hand)."""
        reader, sender = self.reader, self.sender
        self.reader = self.sender = None
        if reader is not None:
            reader.stop()
        if sender is not None:
            sender.stop()


def check_email(settings: ServerSettings) -> list[tuple[str, bool, str]]:
    """Connect to both mail servers as set, log in, and open the folder; no mail is
    read or sent. Returns ``(name, ok, detail)`` for the IMAP and the SMTP server
    (``imap``, ``smtp``; ``mail password`` when there is none to try), the detail in
    plain words, naming the host and port."""
    section = settings.channels.email
    try:
        password = mail_password(section, settings.base)
    except MailPasswordError as exc:
        return [("mail password", False, str(exc))]
    checks = [_check_imap(settings, password), _check_smtp(settings, password)]
    # Server words are the server's: nothing in them may reach a terminal as control.
    return [(name, ok, sanitize_line(detail)) for name, ok, detail in checks]


def _check_imap(settings: ServerSettings, password: str) -> tuple[str, bool, str]:
    section = settings.channels.email
    where = f"{section.imap_host}:{section.imap_port}"
    name = "imap"
    if not section.imap_host:
        return name, False, "no imap_host is set"
    try:
        client = imap_connect(section, password, settings.base, timeout=CHECK_TIMEOUT_S)
    except LoginError as exc:
        return name, False, f"{where}: login refused for {section.username!r}: {_text(exc)}"
    except (OSError, IMAPClientError, ssl.SSLError) as exc:
        return name, False, _network_words(exc, where, section.imap_security)
    try:
        try:
            info = client.select_folder(section.folder, readonly=True)
        except IMAPClientError as exc:
            return name, False, f"{where}: folder {section.folder!r} cannot be opened: {_text(exc)}"
        idle = b"IDLE" in client.capabilities()
        count = int(info.get(b"EXISTS", 0))
        how = "IDLE" if idle else f"polled every {section.poll_interval_s:g} s"
        return name, True, f"{where} {section.folder}: {count} mails, {how}"
    except (OSError, IMAPClientError) as exc:
        return name, False, _network_words(exc, where, section.imap_security)
    finally:
        with contextlib.suppress(Exception):  # the answer is known already
            client.logout()


def _check_smtp(settings: ServerSettings, password: str) -> tuple[str, bool, str]:
    section = settings.channels.email
    where = f"{section.smtp_host}:{section.smtp_port}"
    name = "smtp"
    if not section.smtp_host:
        return name, False, "no smtp_host is set"
    try:
        smtp = smtp_connect(section, password, settings.base, timeout=CHECK_TIMEOUT_S)
    except smtplib.SMTPAuthenticationError as exc:
        return name, False, f"{where}: login refused for {section.username!r}: {smtp_words(exc)}"
    except smtplib.SMTPNotSupportedError as exc:
        return name, False, f"{where} does not offer what is set: {exc}"
    except smtplib.SMTPResponseException as exc:
        return name, False, f"{where} refused: {smtp_words(exc)}"
    except (OSError, smtplib.SMTPException) as exc:
        return name, False, _network_words(exc, where, section.smtp_security)
    smtp_quit(smtp)
    return name, True, f"{where}: logged in as {section.username!r} ({section.smtp_security})"


def _network_words(exc: BaseException, where: str, security: str) -> str:
    """What went wrong reaching a server, in plain words."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS failed at {where}: the certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        hint = " (is the port right for " + security + "?)"
        return f"TLS failed at {where}: {exc.reason or exc}{hint}"
    if isinstance(exc, socket.gaierror):
        return f"host unknown: {where.rsplit(':', 1)[0]} ({exc.strerror})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"host unreachable: no answer from {where} in {CHECK_TIMEOUT_S:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return f"host unreachable: {where} refused the connection (nothing listens there?)"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"host unreachable: {where} ({exc.strerror})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection: {exc or 'no reason given'}"
    return f"{where}: {_text(exc) or type(exc).__name__}"


def _text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text
