"""Real mail servers for the email channel's tests: Dovecot (IMAP, LMTP, SASL) and
Postfix (submission) started in a temporary folder on free loopback ports, and a
fault-injecting proxy to put in front of the submission port.

Dovecot runs from its own config file (``dovecot -c CONF -F``). As root it drops to the
``dovecot``/``dovenull`` users its package made, and the mailboxes belong to
``nobody``; as another user everything runs as that user. Postfix runs from a private
config folder (``postfix -c DIR start``) with its own queue; its master must start as
root, so as another user (or when it will not start) the submission server is an
aiosmtpd one delivering into Dovecot over LMTP: :attr:`MailServers.smtp_kind` says which.

Nothing leaves the machine: Postfix has no destination but ``example.test``, delivered
to Dovecot's LMTP socket; everything else bounces locally.

When Dovecot is missing the tests are skipped with the reason, except under
``CS_REAL_BACKENDS=required`` (what CI sets): then they fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import logging
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
from imapclient import IMAPClient

log = logging.getLogger(__name__)

SHOP = "shop@example.test"
CUSTOMER = "customer@example.test"
#: A recipient the submission server refuses for good (550 at RCPT TO).
REFUSED = "refused@example.test"
REFUSED_WORDS = "no such customer"
PASSWORD = "mail-test-password"  # bound to 127.0.0.1 and thrown away after the run
START_TIMEOUT_S = 20.0

SmtpKind = Literal["postfix", "aiosmtpd"]


class SetupFailed(Exception):
    """A mail server would not start; the message says which step and why."""


def free_port() -> int:
    """A loopback port free at the time of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = START_TIMEOUT_S) -> None:
    """Wait until something accepts connections on the loopback ``port``."""
    until = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > until:
                raise SetupFailed(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost``/127.0.0.1 and its key (PEM); the
    certificate doubles as the CA file clients trust."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        subprocess.run(
            [
                *(
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                ),
                *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2"),
                *("-subj", "/CN=localhost"),
                *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            ],
            check=True,
            capture_output=True,
        )
        return cert, key
    import ipaddress

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    return cert, key


@dataclass
class MailServers:
    """The running servers and how to reach them."""

    root: Path
    ca_file: Path
    imap_port: int  # STARTTLS
    imaps_port: int  # implicit TLS
    lmtp_socket: Path
    submission_port: int  # STARTTLS, then AUTH
    plain_submission_port: int  # AUTH without TLS: for the fault proxy, which must read
    smtp_kind: SmtpKind
    smtp_note: str = ""
    dovecot_conf: Path | None = None
    password: str = PASSWORD
    _stops: list[Any] = field(default_factory=list)

    def tls_context(self) -> ssl.SSLContext:
        """A client context trusting the servers' certificate."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def deliver(self, raw: bytes, *, to: str = SHOP, sender: str = CUSTOMER) -> None:
        """Put a mail straight into ``to``'s mailbox over Dovecot's LMTP."""
        with smtplib.LMTP(str(self.lmtp_socket)) as lmtp:
            lmtp.sendmail(sender, [to], raw)

    def submit(self, message: EmailMessage, *, user: str = CUSTOMER) -> None:
        """Send ``message`` as ``user`` through the submission server, as a mail client
        would (STARTTLS, AUTH, then the mail)."""
        with smtplib.SMTP("127.0.0.1", self.submission_port, timeout=15) as smtp:
            smtp.starttls(context=self.tls_context())
            smtp.login(user, self.password)
            smtp.send_message(message)

    def imap(self, user: str) -> IMAPClient:
        """A logged-in IMAP client for ``user`` (the caller logs out)."""
        client = IMAPClient(
            "127.0.0.1", self.imaps_port, ssl_context=self.tls_context(), timeout=15
        )
        client.login(user, self.password)
        return client

    def wait_for_mail(
        self, user: str, predicate: Any, *, count: int = 1, timeout: float = 15.0
    ) -> list[bytes]:
        """The raw mails in ``user``'s INBOX for which ``predicate(raw)`` holds, once
        at least ``count`` are there (AssertionError after ``timeout``)."""
        until = time.monotonic() + timeout
        found: list[bytes] = []
        with contextlib.closing(_Logout(self.imap(user))) as box:
            while True:
                box.client.select_folder("INBOX", readonly=True)
                uids = box.client.search("ALL")
                data = box.client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
                found = [d[b"BODY[]"] for d in data.values() if predicate(d[b"BODY[]"])]
                if len(found) >= count or time.monotonic() > until:
                    break
                time.sleep(0.2)
        if len(found) < count:
            raise AssertionError(f"{user} got {len(found)} matching mails, expected {count}")
        return found

    def kick(self, user: str) -> None:
        """Make Dovecot drop ``user``'s IMAP connections (a server restart, as a
        client sees it)."""
        assert self.dovecot_conf is not None
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        _run("doveadm kick", [doveadm, "-c", str(self.dovecot_conf), "kick", user])

    def stop(self) -> None:
        """Stop everything started, last first; never raises."""
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:  # a stop that fails must not keep the others from running
                log.exception("stopping a mail server failed")
        self._stops.clear()


class _Logout:
    def __init__(self, client: IMAPClient) -> None:
        self.client = client

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()


# --- Dovecot -------------------------------------------------------------------------


def _dovecot_conf(
    root: Path, cert: Path, key: Path, imap_port: int, imaps_port: int, users: dict[str, str]
) -> Path:
    run = root / "dovecot-run"
    mail = root / "mail"
    run.mkdir()
    (root / "dovecot-state").mkdir()
    mail.mkdir()
    if os.geteuid() == 0:
        internal, login = "dovecot", "dovenull"
        mail_user = pwd.getpwnam("nobody")
        mail_uid, mail_gid = mail_user.pw_uid, mail_user.pw_gid
        # Dovecot refuses mail processes as root; the mailboxes belong to nobody.
        os.chown(mail, mail_uid, mail_gid)
    else:
        internal = login = pwd.getpwuid(os.geteuid()).pw_name
        mail_uid, mail_gid = os.geteuid(), os.getegid()
    lines = [f"{u}:{{PLAIN}}{p}:{mail_uid}:{mail_gid}::{mail}/{u}::" for u, p in users.items()]
    passwd = root / "users"
    passwd.write_text("\n".join(lines) + "\n")
    passwd.chmod(0o644)
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {run}
state_dir = {root / "dovecot-state"}
log_path = {root / "dovecot.log"}
protocols = imap lmtp
listen = 127.0.0.1
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {min(mail_uid, 500)}
first_valid_gid = {min(mail_gid, 500)}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
# A wrong password is answered at once: the tests try one on purpose.
auth_failure_delay = 0
auth_username_format = %Lu
mail_location = maildir:~/Maildir
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
    )
    return conf


def _start_dovecot(servers: MailServers, conf: Path) -> None:
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    process = subprocess.Popen(
        [dovecot, "-c", str(conf), "-F"],
        stdout=subprocess.DEVNULL,
        stderr=open(servers.root / "dovecot.stderr", "wb"),  # noqa: SIM115  closed with the process
    )

    def stop() -> None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    servers._stops.append(stop)
    try:
        wait_port(servers.imaps_port)
    except SetupFailed:
        raise SetupFailed("Dovecot did not start:\n" + _tail(servers.root, "dovecot")) from None
    until = time.monotonic() + START_TIMEOUT_S
    while not servers.lmtp_socket.exists():
        if time.monotonic() > until:
            raise SetupFailed("Dovecot's LMTP socket did not appear")
        time.sleep(0.05)


def _tail(root: Path, name: str) -> str:
    text = ""
    for path in sorted(root.glob(f"{name}*")):
        if path.is_file() and path.suffix in {".log", ".stderr", ""}:
            text += path.read_text(errors="replace")[-3000:]
    return text


# --- Postfix -------------------------------------------------------------------------

_MASTER_CF = """\
127.0.0.1:{submission} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{plain} inet n - n - - smtpd
  -o syslog_name=postfix/plainsubmission
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=no
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _start_postfix(servers: MailServers, cert: Path, key: Path) -> None:
    """Postfix with a private config folder and queue; raises SetupFailed."""
    if os.geteuid() != 0:
        raise SetupFailed("Postfix's master must start as root")
    postfix, postconf = shutil.which("postfix"), shutil.which("postconf")
    if not postfix or not postconf:
        postfix, postconf = "/usr/sbin/postfix", "/usr/sbin/postconf"
        if not Path(postfix).exists():
            raise SetupFailed("Postfix is not installed")
    try:
        grp.getgrnam("postdrop")
        pwd.getpwnam("postfix")
    except KeyError:
        raise SetupFailed("the postfix user or postdrop group is missing") from None
    conf = servers.root / "postfix"
    queue = servers.root / "postfix-queue"
    data = servers.root / "postfix-data"
    conf.mkdir()
    queue.mkdir()
    data.mkdir()
    postfix_user = pwd.getpwnam("postfix")
    os.chown(data, postfix_user.pw_uid, postfix_user.pw_gid)
    (conf / "main.cf").write_text("")
    (conf / "master.cf").write_text(
        _MASTER_CF.format(submission=servers.submission_port, plain=servers.plain_submission_port)
    )
    dovecot_run = servers.lmtp_socket.parent
    settings = {
        "compatibility_level": "3.6",
        "queue_directory": str(queue),
        "data_directory": str(data),
        "maillog_file": str(servers.root / "postfix.log"),
        # Postfix writes its log only under these prefixes (/var by default).
        "maillog_file_prefixes": str(servers.root),
        "myhostname": "mx.example.test",
        "mydomain": "example.test",
        "myorigin": "example.test",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "mydestination": "",
        "mynetworks": "127.0.0.0/8",
        "relayhost": "",
        "relay_domains": "",
        "local_recipient_maps": "",
        "local_transport": "error:no local delivery in tests",
        "default_transport": "error:no outside delivery in tests",
        "relay_transport": "error:no outside delivery in tests",
        "virtual_mailbox_domains": "example.test",
        "virtual_transport": f"lmtp:unix:{servers.lmtp_socket}",
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": str(dovecot_run / "auth-client"),
        "smtpd_tls_cert_file": str(cert),
        "smtpd_tls_key_file": str(key),
        "smtpd_tls_security_level": "may",
        "smtpd_relay_restrictions": "permit_sasl_authenticated,reject",
        "smtpd_recipient_restrictions": (
            f"check_recipient_access inline:{{ {{ {REFUSED} = 550 5.1.1 {REFUSED_WORDS} }} }}"
        ),
        "smtp_dns_support_level": "disabled",
        "disable_dns_lookups": "yes",
        "smtpd_peername_lookup": "no",
        "biff": "no",
        "alias_maps": "",
        "alias_database": "",
        "notify_classes": "",
        "bounce_queue_lifetime": "0",
        "maximal_queue_lifetime": "1h",
        "queue_run_delay": "1s",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "2s",
    }
    postconf_cmd = [postconf, "-c", str(conf), "-e"] + [f"{k}={v}" for k, v in settings.items()]
    _run("postconf", postconf_cmd)
    # The queue's folders (owned by postfix, some by postdrop) are made by Postfix's
    # own installer, not by hand.
    _run(
        "post-install",
        [postfix, "-c", str(conf), "post-install", "create-missing"],
    )
    servers._stops.append(lambda: _stop_postfix(postfix, conf))
    _run("postfix start", [postfix, "-c", str(conf), "start"])
    try:
        wait_port(servers.submission_port)
        wait_port(servers.plain_submission_port)
    except SetupFailed as exc:
        log_text = (servers.root / "postfix.log").read_text(errors="replace")[-3000:]
        raise SetupFailed(f"Postfix did not listen: {exc}\n{log_text}") from None


def _stop_postfix(postfix: str, conf: Path) -> None:
    subprocess.run([postfix, "-c", str(conf), "stop"], capture_output=True, timeout=30)


def _run(step: str, command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SetupFailed(f"{step}: {exc}") from None
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-2000:]
        raise SetupFailed(f"{step} failed ({done.returncode}): {output}")


# --- aiosmtpd, where Postfix cannot run -------------------------------------------------


def _start_aiosmtpd(servers: MailServers, cert: Path, key: Path) -> None:
    """A submission server (STARTTLS port and a plain one, both asking AUTH) that hands
    each mail to Dovecot over LMTP, as Postfix's virtual transport would."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    users = {SHOP: servers.password, CUSTOMER: servers.password}

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and users.get(data.login.decode().lower()) == data.password.decode()
        )
        # handled=False: aiosmtpd answers the failure (535) itself.
        return AuthResult(success=ok, handled=False)

    class Deliver:
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            if address.lower() == REFUSED:
                return f"550 5.1.1 {REFUSED_WORDS}"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            try:
                with smtplib.LMTP(str(servers.lmtp_socket)) as lmtp:
                    lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.content)
            except smtplib.SMTPException as exc:
                return f"451 delivery failed: {exc}"
            return "250 OK queued"

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    for port, tls in ((servers.submission_port, True), (servers.plain_submission_port, False)):
        controller = Controller(
            Deliver(),
            hostname="127.0.0.1",
            port=port,
            authenticator=authenticator,
            auth_require_tls=tls,
            require_starttls=tls,
            tls_context=context if tls else None,
        )
        controller.start()
        servers._stops.append(controller.stop)


# --- all together ----------------------------------------------------------------------


@contextlib.contextmanager
def mail_servers(*, prefer: SmtpKind = "postfix") -> Iterator[MailServers]:
    """Dovecot and a submission server, stopped (and their folder removed) afterwards.

    Raises:
        SetupFailed: Dovecot is missing or would not start.
    """
    if not shutil.which("dovecot") and not Path("/usr/sbin/dovecot").exists():
        raise SetupFailed("Dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)")
    # Not pytest's tmp_path: its parents are owner-only, and Dovecot's and Postfix's
    # unprivileged processes must walk into this folder.
    root = Path(tempfile.mkdtemp(prefix="cs-mail-"))
    root.chmod(0o755)
    cert, key = make_certificate(root)
    servers = MailServers(
        root=root,
        ca_file=cert,
        imap_port=free_port(),
        imaps_port=free_port(),
        lmtp_socket=root / "dovecot-run" / "lmtp",
        submission_port=free_port(),
        plain_submission_port=free_port(),
        smtp_kind=prefer,
    )
    try:
        conf = _dovecot_conf(
            root,
            cert,
            key,
            servers.imap_port,
            servers.imaps_port,
            {SHOP: servers.password, CUSTOMER: servers.password},
        )
        servers.dovecot_conf = conf
        _start_dovecot(servers, conf)
        if prefer == "postfix":
            try:
                _start_postfix(servers, cert, key)
            except SetupFailed as exc:
                log.warning("Postfix cannot run here, using aiosmtpd: %s", exc)
                servers.smtp_kind, servers.smtp_note = "aiosmtpd", str(exc)
        if servers.smtp_kind == "aiosmtpd":
            _start_aiosmtpd(servers, cert, key)
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(root, ignore_errors=True)


def servers_or_skip(**kwargs: Any) -> contextlib.AbstractContextManager[MailServers]:
    """:func:`mail_servers`, turning a set-up failure into a skip (a failure under
    ``CS_REAL_BACKENDS=required``)."""

    @contextlib.contextmanager
    def wrapped() -> Iterator[MailServers]:
        try:
            manager = mail_servers(**kwargs)
            servers = manager.__enter__()
        except SetupFailed as exc:
            if os.environ.get("CS_REAL_BACKENDS") == "required":
                pytest.fail(f"mail servers: {exc}")
            pytest.skip(f"mail servers: {exc}")
        try:
            yield servers
        finally:
            manager.__exit__(None, None, None)

    return wrapped()


# --- a proxy that breaks the connection where told ------------------------------------

Fault = Literal["none", "drop_after_data", "drop_after_dot"]


class FaultProxy:
    """A TCP proxy for a plain SMTP port that reads the client's side: it can cut the
    connection when the client sends ``DATA`` (before the server sees it), or once the
    data's final dot went through to the server (the server's answer never reaches the
    client). Each fault fires once (:attr:`fired` counts), then the proxy passes all."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.fault: Fault = "none"
        self.fired = 0
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closing = False
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    def arm(self, fault: Fault) -> None:
        """Fire ``fault`` on the next connection that reaches it."""
        self.fault = fault

    def close(self) -> None:
        """Stop accepting."""
        self._closing = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        except OSError:
            client.close()
            return
        cut = threading.Event()

        def server_to_client() -> None:
            with contextlib.suppress(OSError):
                while data := server.recv(65536):
                    if cut.is_set():
                        break
                    client.sendall(data)
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=server_to_client, daemon=True)
        back.start()
        pending = b""
        in_data = False
        tail = b""
        try:
            while data := client.recv(65536):
                if in_data:
                    window = tail + data
                    tail = window[-5:]
                    if b"\r\n.\r\n" in window:
                        in_data = False
                        if self.fault == "drop_after_dot":
                            self.fault, self.fired = "none", self.fired + 1
                            # The server gets the dot and takes the mail; its answer
                            # is swallowed and the client is cut off.
                            cut.set()
                            server.sendall(data)
                            time.sleep(0.5)
                            break
                    server.sendall(data)
                    continue
                pending += data
                while b"\r\n" in pending:
                    line, pending = pending.split(b"\r\n", 1)
                    if line.strip().upper() == b"DATA":
                        if self.fault == "drop_after_data":
                            self.fault, self.fired = "none", self.fired + 1
                            raise ConnectionAbortedError
                        in_data, tail = True, b"\r\n"
                    server.sendall(line + b"\r\n")
                if in_data and pending:
                    window = tail + pending
                    tail = window[-5:]
                    server.sendall(pending)
                    pending = b""
        except OSError:
            pass
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
