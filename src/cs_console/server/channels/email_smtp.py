"""Agents' email replies, sent over SMTP submission in a thread: one reply, one email.

The queue (``server/mailqueue.py``) holds each reply as ``pending``; this thread takes
it (``mail_begin`` commits ``sending``), talks to the server, and writes the data
itself rather than through ``smtplib.SMTP.data`` so that the final dot is a step of
its own: ``mail_dot`` is committed just before the dot goes out. So:

* anything that goes wrong before the dot (no connection, a 4xx, a cut line) leaves a
  mail the server never took: it is tried again later (:func:`retry_delay`), and
  given up (``failed``) after about a day;
* a 5xx is the server's no for good: ``failed``, with its words;
* once the dot went out, a lost answer (a cut line, a timeout) may hide a mail the
  server took: ``unconfirmed``, never sent again (the console shows it). A 4xx after
  the dot is an answer, "not taken", and safe to retry.

``mail_recover`` at start settles what a crash left half-way, by the same rules.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cs_console.server.channels.email_compose import compose_reply, mail_bytes
from cs_console.server.channels.email_imap import MailPasswordError, mail_password, tls_context
from cs_console.server.mailqueue import QueuedMail
from cs_console.server.settings import EmailSection, ServerSettings

if TYPE_CHECKING:
    from email.message import EmailMessage

    from cs_console.server.state import ServerState

log = logging.getLogger(__name__)

__all__ = [
    "RETRY_DELAYS_S",
    "ReplySender",
    "retry_delay",
    "smtp_connect",
    "smtp_quit",
    "smtp_words",
]

#: Waits before the 2nd, 3rd, ... attempt; the last repeats until :data:`GIVE_UP_S`.
RETRY_DELAYS_S = (30.0, 120.0, 600.0, 1800.0, 3600.0)
#: A reply still not sent after this much waiting in all is given up (``failed``).
GIVE_UP_S = 24 * 3600.0
#: How often the queue is looked at when nobody wakes the thread.
POLL_S = 1.0
#: Network timeout of every SMTP step.
TIMEOUT_S = 60.0

_EOL = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"^\.", re.M)


def retry_delay(
    attempts: int, delays: Sequence[float] = RETRY_DELAYS_S, give_up_s: float = GIVE_UP_S
) -> float | None:
    """The wait before the next try after ``attempts`` failed ones (1 = the first
    failed); None once the waits so far add up to ``give_up_s``."""
    delays = tuple(delays) or RETRY_DELAYS_S
    waited = sum(delays[min(i, len(delays) - 1)] for i in range(attempts - 1))
    if waited >= give_up_s:
        return None
    return delays[min(attempts - 1, len(delays) - 1)]


def smtp_connect(
    section: EmailSection, password: str, base: Path | None, *, timeout: float = TIMEOUT_S
) -> smtplib.SMTP:
    """Connect as set (implicit TLS, STARTTLS, or plain for tests), EHLO, and log in
    when a username is set. The caller quits."""
    context = tls_context(section, base)
    # EHLO names this host; getfqdn (smtplib's default) can hang on a DNS lookup.
    local = socket.gethostname() or "localhost"
    smtp: smtplib.SMTP
    if section.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            section.smtp_host,
            section.smtp_port,
            local_hostname=local,
            timeout=timeout,
            context=context,
        )
    else:
        smtp = smtplib.SMTP(
            section.smtp_host, section.smtp_port, local_hostname=local, timeout=timeout
        )
    try:
        smtp.ehlo()
        if section.smtp_security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if section.username:
            smtp.login(section.username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def dot_stuffed(data: bytes) -> bytes:
    """``data`` as the lines of an SMTP DATA: CRLF line ends, a leading dot doubled,
    ending with CRLF, without the final ``.`` line."""
    data = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", data))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class _Answer(Exception):
    """The server answered no (its code and words)."""

    def __init__(self, step: str, code: int, words: bytes | str) -> None:
        text = words.decode("utf-8", "replace") if isinstance(words, bytes) else words
        super().__init__(f"{step}: {code} {text}".strip())
        self.code = code


class ReplySender:
    """Drains the reply queue in its own thread.

    Args:
        state: The server.
        settings: The server's settings (``channels.email``).
        delays: Waits between attempts (tests shorten them).
        give_up_s: Total waiting after which a reply is ``failed``.
        poll_s: How often the queue is read when :meth:`wake` is not called.
        compose: Builds the mail of a queued reply (tests may wrap it).
    """

    def __init__(
        self,
        state: ServerState,
        settings: ServerSettings,
        *,
        delays: Sequence[float] = RETRY_DELAYS_S,
        give_up_s: float = GIVE_UP_S,
        poll_s: float = POLL_S,
        compose: Callable[..., EmailMessage] = compose_reply,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self._state = state
        self._section = settings.channels.email
        self._base = settings.base
        self._delays = tuple(delays)
        self._give_up_s = give_up_s
        self._poll_s = poll_s
        self._compose = compose
        self._timeout = timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Replies sent, left unconfirmed, failed, and attempts put off, since start.
        self.counts = {"sent": 0, "unconfirmed": 0, "failed": 0, "retry": 0}

    def start(self) -> None:
        """Settle what a crash left half-way, then start sending in a daemon thread."""
        if self._thread is not None:
            return
        settled = self._state.channels.mail_recover()
        if settled:
            log.warning("mail queue: %s replies left half-way by a stop were settled", settled)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="reply-sender", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (a reply was just queued)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the reply in hand (its SMTP steps time out by themselves)."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                due = self._state.channels.mail_due()
                for mail in due:
                    if self._stop.is_set():
                        break
                    self.send(mail)
            except Exception:
                # The database, or a bug: the thread must outlive it.
                log.exception("mail queue: sending failed")
                due = []
            if not due:
                self._wake.wait(self._poll_s)
                self._wake.clear()

    # --- one reply ----------------------------------------------------------------------

    def send(self, mail: QueuedMail) -> str | None:
        """One attempt at ``mail``; returns how it ended (``sent``, ``unconfirmed``,
        ``failed``, ``retry``), None if another sender had taken it."""
        channels = self._state.channels
        if not channels.mail_begin(mail.message_id):
            return None
        attempts = mail.attempts + 1
        section = self._section
        try:
            message = self._compose(
                mail,
                from_address=section.address,
                display_name=section.display_name,
                signature=section.signature,
                agent_name=mail.agent_name,
                now=channels.clock(),
                files=channels.reply_files(mail.message_id),
            )
            data = dot_stuffed(mail_bytes(message))
        except Exception as exc:
            # A reply that cannot be made into a mail will not be one later either.
            log.exception("mail queue: reply %s cannot be composed", mail.message_id)
            return self._end(mail, "failed", f"cannot compose the mail: {exc}")
        dot_sent = False
        try:
            password = mail_password(section, self._base)
            smtp = smtp_connect(section, password, self._base, timeout=self._timeout)
            try:
                code, words = smtp.mail(section.address)
                if code != 250:
                    raise _Answer("MAIL FROM", code, words)
                code, words = smtp.rcpt(mail.to_address)
                if code not in (250, 251):
                    raise _Answer("RCPT TO", code, words)
                smtp.putcmd("data")
                code, words = smtp.getreply()
                if code != 354:
                    raise _Answer("DATA", code, words)
                smtp.send(data)
                channels.mail_dot(mail.message_id)
                dot_sent = True
                smtp.send(b".\r\n")
                code, words = smtp.getreply()
                if code != 250:
                    raise _Answer("end of data", code, words)
            finally:
                smtp_quit(smtp)
        except _Answer as exc:
            if 500 <= exc.code < 600:
                return self._end(mail, "failed", str(exc))
            # A 4xx (even after the dot: it says "not taken") is worth another try.
            return self._later(mail, attempts, str(exc))
        except MailPasswordError as exc:
            return self._later(mail, attempts, str(exc))
        except smtplib.SMTPAuthenticationError as exc:
            # The shop's login, not this reply, is wrong: keep it until it is mended.
            return self._later(mail, attempts, f"login refused: {smtp_words(exc)}")
        except (OSError, smtplib.SMTPException) as exc:
            reason = smtp_words(exc) or type(exc).__name__
            if dot_sent:
                return self._end(mail, "unconfirmed", f"no answer after the data: {reason}")
            return self._later(mail, attempts, reason)
        except Exception as exc:
            # Not the network (the database, a bug): settle the row by the same rule,
            # or leave it to mail_recover at the next start if even that fails.
            log.exception("mail queue: reply %s attempt broke", mail.message_id)
            if dot_sent:
                return self._end(mail, "unconfirmed", f"interrupted after the data: {exc}")
            return self._later(mail, attempts, f"interrupted: {exc}")
        return self._end(mail, "sent")

    def _end(self, mail: QueuedMail, state: str, error: str = "") -> str:
        self._state.channels.mail_done(mail.message_id, state, error)
        self.counts[state] += 1
        if state == "sent":
            log.info("mail queue: reply %s sent to %s", mail.message_id, mail.to_address)
        else:
            log.warning("mail queue: reply %s %s: %s", mail.message_id, state, error)
        return state

    def _later(self, mail: QueuedMail, attempts: int, error: str) -> str:
        delay = retry_delay(attempts, self._delays, self._give_up_s)
        if delay is None:
            return self._end(mail, "failed", f"gave up after {attempts} attempts: {error}")
        self._state.channels.mail_retry(mail.message_id, delay, error)
        self.counts["retry"] += 1
        log.warning(
            "mail queue: reply %s not sent (%s), again in %.0f s", mail.message_id, error, delay
        )
        return "retry"


def smtp_quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye, or just close if the server is already gone."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def smtp_words(exc: BaseException) -> str:
    """The server's own words (\"535 ...\"), else the exception's text."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {words}"
    return str(exc)
