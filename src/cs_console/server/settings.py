"""The reference server's own settings: ``server.toml`` in the home folder (or
``cs-console serve --config FILE``), separate from the console's ``config.toml``.

Secrets never sit in this file: the widget's signing keys, the shop's identity secret
and the mailbox password are read from files (owner-only) or the OS keyring, named here.

::

    [service]
    hours = "09:00-24:00"          # when agents answer, the same hours the offline
    timezone = "Asia/Shanghai"     # quick replies quote

    [channels.widget]
    enabled = true
    allowed_origins = ["https://shop.example.com"]

    [channels.email]
    enabled = true
    address = "service@shop.example.com"
    imap_host = "imap.example.com"
    smtp_host = "smtp.example.com"
    username = "service@shop.example.com"
    password_file = "mail-password"
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: The languages the widget speaks (the quick-reply libraries' languages).
WIDGET_LANGUAGES = ("zh-CN", "en", "vi", "es")

_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class ServerSettingsError(Exception):
    """``server.toml`` cannot be read or holds a wrong value (the message says where)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSection(_Section):
    """When agents answer: outside these hours the widget shows the offline form."""

    hours: str = Field("09:00-24:00", description='Daily service hours, "HH:MM-HH:MM".')
    timezone: str = Field("Asia/Shanghai", description="The IANA time zone of the hours.")

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not _HOURS.match(value):
            raise ValueError('expected "HH:MM-HH:MM", e.g. "09:00-24:00"')
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls within the service hours, in their time zone."""
        match = _HOURS.match(self.hours)
        assert match is not None  # checked by the validator
        start = int(match[1]) * 60 + int(match[2])
        end = int(match[3]) * 60 + int(match[4])
        local = at.astimezone(ZoneInfo(self.timezone)).time()
        minute = local.hour * 60 + local.minute
        if start <= end:
            return start <= minute < end
        return minute >= start or minute < end  # hours over midnight

    def opening(self) -> time:
        """The opening time of day."""
        match = _HOURS.match(self.hours)
        assert match is not None
        return time(int(match[1]) % 24, int(match[2]))


class WidgetSection(_Section):
    """The web chat widget (``/widget.js``) and its public endpoint."""

    enabled: bool = Field(True, description="Serve the widget and its API.")
    shop_name: str = Field("our shop", description="The name the widget shows customers.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description=(
            'Pages that may embed the widget, e.g. ["https://shop.example.com"]; '
            "the server's own origin always may."
        ),
    )
    languages: list[str] = Field(
        default_factory=lambda: list(WIDGET_LANGUAGES),
        description="The languages offered, first is the default.",
    )
    secret_file: Path | None = Field(
        None,
        description=(
            "Where the session signing keys are kept (made on first start, owner-only); "
            "default widget-secret in the home folder."
        ),
    )
    identity_secret_file: Path | None = Field(
        None,
        description=(
            "The secret the shop signs its logged-in buyers' identities with "
            "(data-identity); no signed identities without it."
        ),
    )
    session_days: int = Field(30, ge=1, le=365, description="How long a session token lasts.")
    max_image_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, le=10 * 1024 * 1024, description="The largest image taken."
    )
    per_address_per_minute: int = Field(
        120, ge=1, description="Requests one address may make a minute (all sessions)."
    )
    per_session_per_minute: int = Field(
        60, ge=1, description="Requests one session may make a minute."
    )
    messages_per_minute: int = Field(
        12, ge=1, description="Messages and images one session may send a minute."
    )
    sessions_per_hour: int = Field(
        20,
        ge=1,
        description="New sessions one address may open an hour before proof of work is asked.",
    )
    pow_bits: int = Field(
        18, ge=8, le=26, description="Proof-of-work difficulty once the step-up is asked."
    )
    demo_page: bool = Field(False, description="Serve the demo shop page at /widget/demo.")

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        unknown = [x for x in value if x not in WIDGET_LANGUAGES]
        if unknown or not value:
            raise ValueError(f"expected some of {', '.join(WIDGET_LANGUAGES)}")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
                raise ValueError(
                    f"{origin!r} is not an origin (scheme://host[:port], no path or slash)"
                )
        return value


Security = Literal["tls", "starttls", "none"]


class EmailSection(_Section):
    """A shop mailbox read over IMAP and answered over SMTP."""

    enabled: bool = Field(False, description="Read the mailbox and send replies.")
    address: str = Field("", description="The shop's address replies come from.")
    display_name: str = Field("", description='The sender name, e.g. "Our Shop Service".')
    imap_host: str = Field("", description="The IMAP server.")
    imap_port: int = Field(993, ge=1, le=65535, description="993 for TLS, 143 for STARTTLS.")
    imap_security: Security = Field("tls", description="tls, starttls or none (tests only).")
    folder: str = Field("INBOX", description="The folder read.")
    poll_interval_s: float = Field(
        60.0, ge=1.0, description="Seconds between reads where IDLE is not offered."
    )
    smtp_host: str = Field("", description="The SMTP submission server.")
    smtp_port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS, 465 for TLS.")
    smtp_security: Security = Field("starttls", description="tls, starttls or none (tests only).")
    username: str = Field("", description="The login for both servers.")
    password_file: Path | None = Field(
        None, description="A file holding the password (owner-only)."
    )
    password_keyring: str | None = Field(
        None, description="Or the keyring service name the password is stored under."
    )
    ca_file: Path | None = Field(
        None, description="A CA bundle to trust (a private CA); the system's by default."
    )
    signature: str = Field("", description="Added below every reply, after '-- '.")
    max_attachment_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Larger attachments are kept out of the thread."
    )


class ChannelsSection(_Section):
    """The ways customers reach the shop."""

    widget: WidgetSection = Field(default_factory=WidgetSection)
    email: EmailSection = Field(default_factory=EmailSection)


class ServerSettings(_Section):
    """The whole of ``server.toml``."""

    service: ServiceSection = Field(default_factory=ServiceSection)
    channels: ChannelsSection = Field(default_factory=ChannelsSection)
    #: The folder relative secret paths are taken from (the file's own folder); None
    #: for settings made in code, whose widget keys then live in memory only.
    base: Path | None = Field(None, exclude=True)

    def resolve(self, path: Path | None, default: str | None = None) -> Path | None:
        """``path`` (else ``default``) taken relative to the file's folder; None when
        neither is given, or a relative one has no folder to be in."""
        found = path if path is not None else (Path(default) if default else None)
        if found is None or found.is_absolute():
            return found
        return self.base / found if self.base is not None else None

    def widget_secret_path(self) -> Path | None:
        """Where the widget's signing keys are kept (None: in memory only)."""
        return self.resolve(self.channels.widget.secret_file, "widget-secret")

    def identity_secret_path(self) -> Path | None:
        """The shop's identity secret, if it set one."""
        return self.resolve(self.channels.widget.identity_secret_file)


def load_server_settings(path: Path, *, required: bool = False) -> ServerSettings:
    """Read ``server.toml``; a missing file gives the defaults unless ``required``.

    Raises:
        ServerSettingsError: unreadable TOML or a wrong value, with where.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ServerSettingsError(f"{path}: no such file") from None
        return ServerSettings(base=path.parent)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ServerSettingsError(f"{path}: {exc}") from None
    try:
        return ServerSettings.model_validate(raw | {"base": path.parent})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ServerSettingsError(f"{path}: {where}: {first['msg']}") from None
