"""The shop's mailbox, read over IMAP in a thread: each new mail becomes a customer's
message (``state.channels.mail_arrived``), threaded by its headers.

Where it starts reading: the folder's position (UIDVALIDITY, last UID taken) is stored
after every mail, so a crash reads at most that one mail again (and ``mail_arrived``
drops a Message-ID it took before). On the first read of a folder, and when the
server's UIDVALIDITY changed (the folder was rebuilt and every UID means something
else), reading starts at the folder's current end: the mail already there is old to
the shop, and taking it would open a flood of conversations nobody asked for now.

How it waits: with IMAP IDLE where the server offers it (re-issued every
:data:`IDLE_RENEW_S`, under the 29 minutes servers allow), else a read every
``poll_interval_s``. Waits are cut in short slices so :meth:`MailboxReader.stop` is
prompt. Errors reconnect with a growing, jittered delay; one mail that cannot be read
or stored is logged, counted and skipped, never the end of the thread.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from cs_console.server.channels.email_parse import InboundMail, parse_mail
from cs_console.server.errors import OperationError
from cs_console.server.settings import EmailSection, ServerSettings

if TYPE_CHECKING:
    from cs_console.server.state import ServerState

log = logging.getLogger(__name__)

__all__ = ["MailPasswordError", "MailboxReader", "ReaderStats", "imap_connect", "mail_password"]

#: IDLE is ended and issued again this often: servers may drop an IDLE after 29 minutes.
IDLE_RENEW_S = 25 * 60
#: How long one wait lasts before the stop flag is looked at again.
SLICE_S = 0.5
#: Mails are fetched this many at a time.
BATCH = 20
#: A mail larger than this is skipped unread (logged): no shop takes 64 MiB by email.
MAX_MAIL_BYTES = 64 * 1024 * 1024
#: A mail whose storing failed this many times (not a parse error: the database, say)
#: is skipped, so one poisoned mail cannot hold the mailbox up for ever.
MAX_TRIES = 3
#: Network timeout of every IMAP command.
TIMEOUT_S = 60.0
#: Reconnect delays grow from the first to the last, with up to a quarter of jitter.
BACKOFF_S = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0)


class MailPasswordError(Exception):
    """The mailbox password cannot be had; the message says what to set or fix."""


def mail_password(section: EmailSection, base: Path | None) -> str:
    """The mailbox password, from ``password_file`` (relative to ``base``, the settings
    file's folder; its first line) or else from the OS keyring
    (``password_keyring`` is the service name, ``username`` the account).

    Raises:
        MailPasswordError: neither is set, the file cannot be read or is empty, or the
            keyring holds nothing under that name.
    """
    if section.password_file is not None:
        path = section.password_file
        if not path.is_absolute():
            if base is None:
                raise MailPasswordError(
                    f"password_file {str(path)!r} is relative and there is no settings "
                    "folder to find it in: give an absolute path"
                )
            path = base / path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MailPasswordError(f"cannot read the mail password file {path}: {exc}") from None
        password = text.splitlines()[0] if text.strip() else ""
        if not password:
            raise MailPasswordError(f"the mail password file {path} is empty")
        return password
    if section.password_keyring:
        try:
            import keyring
            from keyring.errors import KeyringError
        except ImportError:  # pragma: no cover - a dependency
            raise MailPasswordError("the keyring package is not installed") from None
        try:
            found = keyring.get_password(section.password_keyring, section.username)
        except KeyringError as exc:
            raise MailPasswordError(f"the OS keyring cannot be read: {exc}") from None
        if not found:
            raise MailPasswordError(
                f"the OS keyring holds no password for {section.username!r} under "
                f"{section.password_keyring!r}"
            )
        return str(found)
    raise MailPasswordError(
        "no mail password: set channels.email.password_file or password_keyring"
    )


def tls_context(section: EmailSection, base: Path | None) -> ssl.SSLContext:
    """The TLS context for both mail servers: the system's CAs, or ``ca_file``."""
    ca_file = section.ca_file
    if ca_file is not None and not ca_file.is_absolute() and base is not None:
        ca_file = base / ca_file
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def imap_connect(
    section: EmailSection, password: str, base: Path | None, *, timeout: float = TIMEOUT_S
) -> IMAPClient:
    """Connect (TLS, STARTTLS or plain as set) and log in; the caller logs out."""
    context = tls_context(section, base)
    client = IMAPClient(
        section.imap_host,
        section.imap_port,
        ssl=section.imap_security == "tls",
        ssl_context=context,
        timeout=timeout,
    )
    try:
        if section.imap_security == "starttls":
            client.starttls(context)
        client.login(section.username, password)
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # already broken: just let the socket go
        with contextlib.suppress(Exception):
            client.shutdown()


@dataclass
class ReaderStats:
    """What the reader did since it started (for logs and tests)."""

    taken: int = 0  # mails that became messages
    automatic: int = 0  # bounces and auto-replies, read and left alone
    ignored: int = 0  # our own mails, and Message-IDs taken before
    skipped: int = 0  # mails that could not be read or stored
    connects: int = 0
    errors: int = 0


class MailboxReader:
    """Reads the shop's mailbox into conversations, in its own thread.

    Args:
        state: The server.
        settings: The server's settings (``channels.email``; ``base`` for the files).
        parse: Turns a raw mail into what it says (tests may wrap it).
        backoff: Reconnect delays in seconds, the last repeated.
        use_idle: False polls even where the server offers IDLE (tests; a server
            whose IDLE is broken).
    """

    def __init__(
        self,
        state: ServerState,
        settings: ServerSettings,
        *,
        parse: Callable[..., InboundMail] = parse_mail,
        backoff: Sequence[float] = BACKOFF_S,
        use_idle: bool = True,
    ) -> None:
        self._state = state
        self._use_idle = use_idle
        self._section = settings.channels.email
        self._base = settings.base
        self._parse = parse
        self._backoff = tuple(backoff) or BACKOFF_S
        self._own = self._section.address.strip().lower()
        s = self._section
        self.mailbox = f"{s.username}@{s.imap_host}/{s.folder}"
        self.stats = ReaderStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: IMAPClient | None = None
        self._tries: dict[int, int] = {}
        #: Set each time the reader has caught up with the folder and starts waiting.
        self.idle = threading.Event()

    # --- the thread ---------------------------------------------------------------------

    def start(self) -> None:
        """Start reading in a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mailbox-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the thread (it notices within about a second)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.join(min(timeout, 2 * SLICE_S + 1.0))
        client = self._client
        if thread.is_alive() and client is not None:
            # Stuck in a network read (a slow fetch): cut the socket under it.
            with contextlib.suppress(OSError):
                client.socket().shutdown(socket.SHUT_RDWR)
        thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                password = mail_password(self._section, self._base)
                client = imap_connect(self._section, password, self._base)
            except MailPasswordError as exc:
                log.error("mailbox: %s", exc)
                self.stats.errors += 1
                failures += 1
                self._sleep(self._delay(failures))
                continue
            except (OSError, IMAPClientError, ssl.SSLError) as exc:
                log.warning("mailbox: cannot connect to %s: %s", self._section.imap_host, exc)
                self.stats.errors += 1
                failures += 1
                self._sleep(self._delay(failures))
                continue
            self.stats.connects += 1
            self._client = client
            try:
                self._session(client)
                failures = 0
            except (OSError, IMAPClientError, ssl.SSLError) as exc:
                log.warning("mailbox: connection lost: %s", exc)
                self.stats.errors += 1
                failures += 1
            except Exception:
                # Anything else (the database, a bug): log it, reconnect, keep reading.
                log.exception("mailbox: reading failed")
                self.stats.errors += 1
                failures += 1
            finally:
                self._client = None
                self.idle.clear()
                _close(client)
            if failures and not self._stop.is_set():
                self._sleep(self._delay(failures))

    def _delay(self, failures: int) -> float:
        base = self._backoff[min(failures, len(self._backoff)) - 1]
        return base * (1.0 + random.uniform(-0.25, 0.25))

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # --- one connection -----------------------------------------------------------------

    def _session(self, client: IMAPClient) -> None:
        """Select the folder, then read and wait until stopped (returns) or an error."""
        info = client.select_folder(self._section.folder, readonly=True)
        uidvalidity = int(info[b"UIDVALIDITY"])
        position = self._state.channels.mailbox_position(self.mailbox)
        if position is None or position[0] != uidvalidity:
            last = self._folder_end(client, info)
            if position is not None:
                log.warning(
                    "mailbox %s: UIDVALIDITY changed (%s -> %s): reading from its end",
                    self.mailbox,
                    position[0],
                    uidvalidity,
                )
            self._state.channels.set_mailbox_position(self.mailbox, uidvalidity, last)
        else:
            last = position[1]
        can_idle = self._use_idle and b"IDLE" in client.capabilities()
        while not self._stop.is_set():
            last = self._read_new(client, uidvalidity, last)
            self.idle.set()
            if can_idle:
                self._idle(client)
            else:
                self._poll(client)
            self.idle.clear()

    @staticmethod
    def _folder_end(client: IMAPClient, info: dict[bytes, Any]) -> int:
        """The UID of the folder's last mail (0 if empty): UIDNEXT - 1 where given."""
        uidnext = info.get(b"UIDNEXT")
        if uidnext is not None:
            return max(int(uidnext) - 1, 0)
        uids = client.search("ALL")
        return max((int(u) for u in uids), default=0)

    def _read_new(self, client: IMAPClient, uidvalidity: int, last: int) -> int:
        # "N:*" always names the last mail, even below N: keep only the new ones.
        found = client.search(["UID", f"{last + 1}:*"])
        uids = sorted(int(u) for u in found if int(u) > last)
        for start in range(0, len(uids), BATCH):
            if self._stop.is_set():
                break
            batch = uids[start : start + BATCH]
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            wanted = []
            for uid in batch:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if size > MAX_MAIL_BYTES:
                    log.warning("mailbox: UID %s is %s bytes, skipped unread", uid, size)
                    self.stats.skipped += 1
                else:
                    wanted.append(uid)
            bodies = client.fetch(wanted, ["BODY.PEEK[]"]) if wanted else {}
            for uid in batch:
                raw = bodies.get(uid, {}).get(b"BODY[]")
                if raw is not None:
                    self._take(uid, bytes(raw))
                # Stored after each mail: a crash reads at most this one again.
                self._state.channels.set_mailbox_position(self.mailbox, uidvalidity, uid)
                last = uid
        return last

    def _take(self, uid: int, raw: bytes) -> None:
        """One mail into the server; never raises for a mail that cannot be taken, only
        for what reading again may mend (after :data:`MAX_TRIES`, it skips it too)."""
        try:
            mail = self._parse(raw, max_attachment_bytes=self._section.max_attachment_bytes)
        except Exception:
            log.exception("mailbox: UID %s cannot be read, skipped", uid)
            self.stats.skipped += 1
            return
        if mail.automatic:
            log.info("mailbox: UID %s is automatic (%s), left alone", uid, mail.automatic)
            self.stats.automatic += 1
            return
        sender = (mail.contact.email or "").strip().lower()
        if self._own and sender == self._own:
            self.stats.ignored += 1  # our own reply, e.g. copied into the folder
            return
        channels = self._state.channels
        try:
            if channels.mail_known(mail.mail_id):
                self.stats.ignored += 1
                return
            conversation = channels.mail_arrived(
                mail_id=mail.mail_id,
                related=list(mail.related),
                subject_conversation=mail.subject_conversation,
                contact=mail.contact,
                subject=mail.subject,
                body=mail.body,
                files=list(mail.files),
                source=raw,
            )
        except OperationError as exc:
            log.warning("mailbox: UID %s refused (%s), skipped", uid, exc)
            self.stats.skipped += 1
            return
        except Exception:
            tries = self._tries.get(uid, 0) + 1
            self._tries[uid] = tries
            if tries < MAX_TRIES:
                raise  # reconnect and read it again
            log.exception("mailbox: UID %s failed %s times, skipped", uid, tries)
            self.stats.skipped += 1
            return
        self._tries.pop(uid, None)
        if conversation is None:
            self.stats.ignored += 1
        else:
            self.stats.taken += 1
            log.info("mailbox: UID %s into %s", uid, conversation)

    # --- waiting ------------------------------------------------------------------------

    def _idle(self, client: IMAPClient) -> None:
        """IDLE until the folder changes, :data:`IDLE_RENEW_S` pass, or a stop."""
        client.idle()
        started = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - started < IDLE_RENEW_S:
            responses = client.idle_check(timeout=SLICE_S)
            if any(_is_change(r) for r in responses):
                break
        # Not in a finally: after a broken connection there is no IDLE left to end.
        client.idle_done()

    def _poll(self, client: IMAPClient) -> None:
        """Wait ``poll_interval_s`` (in slices), then let the server tell what changed."""
        self._stop.wait(self._section.poll_interval_s)
        if not self._stop.is_set():
            client.noop()


def _is_change(response: Any) -> bool:
    """Whether an untagged IDLE response says the folder changed (a new mail: EXISTS;
    RECENT and FETCH come with it on some servers)."""
    return (
        isinstance(response, tuple)
        and len(response) >= 2
        and response[1] in (b"EXISTS", b"RECENT", b"EXPUNGE")
    )
