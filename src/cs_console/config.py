"""What a setting is: ``config.toml``'s sections and the :class:`Settings` every module
reads.

:class:`Settings` is one frozen pydantic model: the file's sections
(``settings.shift.undo_seconds``, ``settings.backend.url``...), plus what never comes
from the file: where the console's files are (:class:`~cs_console.paths.Paths`) and the
tokens. Values derived from settings are properties of their section
(``settings.shop.authority_limit_minor``, ``settings.flags.meanings``) or of the root
(``settings.ui_language``), never copies. How the file, the saved theme and the
environment are read into these models, and what an error in them says, is
:mod:`cs_console.config_reader`'s business.

Field docs use ``Field(description=...)`` rather than attribute docstrings: they need
no source parsing at import and survive installs without ``.py`` files, and
``cs-console config init`` writes them into the file as comments.

Headless: no Textual here, and no reading: :mod:`cs_console.config_reader` and
:mod:`cs_console.settings` import this module, never the other way round.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from cs_console.domain import DEFAULT_FLAG_MEANINGS, FlagColour, Group, Role
from cs_console.money import currency_digits
from cs_console.paths import Paths
from cs_console.secret import Secret

#: Languages the console and its quick replies come in.
Language = Literal["en", "zh-CN", "vi", "es"]

#: Keys for one binding as Textual writes them, e.g. "ctrl+n,n".
KeySpec = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class SettingsError(Exception):
    """A setting is missing or wrong; the message says which and what to do."""


class ConfigError(SettingsError):
    """The config (file, state or environment) has problems; one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- the model ---------------------------------------------------------------


class _Section(BaseModel):
    # Unknown keys are errors: a typo such as `alert_aftr_s` must not pass silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentSection(_Section):
    """Who sits at this console."""

    name: str | None = Field(
        None,
        min_length=1,
        description=(
            "Your name as colleagues see it in transfers and notes. "
            "Not set: the name the backend has for your token."
        ),
    )
    role: Role = Field(
        Role.AGENT,
        description=(
            "agent or supervisor. Supervisors approve what agents may not; "
            "the backend has the final word."
        ),
    )
    group: Group | None = Field(
        None,
        description=(
            "Your desk: pre-sale or after-sale. Quick replies for your desk come first. "
            "Not set: both desks."
        ),
    )
    language: Language = Field(
        "en",
        description="The language you answer customers in: en, zh-CN, vi or es.",
    )
    timezone: str = Field(
        "local",
        description=(
            'Times are shown in this IANA zone, e.g. "Asia/Shanghai"; '
            '"local" means this computer\'s zone.'
        ),
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value == "local":
            return value
        import zoneinfo  # deferred: only when a zone is named

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                'expected an IANA time zone such as "Asia/Shanghai", or "local"'
            ) from None
        return value


def _check_http_url(value: str | None) -> str | None:
    if value is None:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError('expected an http:// or https:// address such as "https://cs.example.com"')
    return value


class BackendSection(_Section):
    """Where conversations come from: cs-console's own server (reference) or Chatwoot.
    The token is never read from this file: set CS_CONSOLE_TOKEN, or put it in an
    owner-only file named by token_file."""

    kind: Literal["reference", "chatwoot"] = Field(
        "reference",
        description=(
            "reference: cs-console serve (conversations, orders, cases); chatwoot: a "
            "Chatwoot account's conversations (orders then come from [orders])."
        ),
    )
    url: str | None = Field(
        None,
        description=(
            "The backend's address, http(s)://host[:port]. Plain http only to this "
            "machine unless insecure is true."
        ),
    )
    token_file: Path | None = Field(
        None,
        description=(
            "A file holding your API token (Chatwoot: your access token), readable by you "
            "alone (chmod 600). A relative path is relative to this file's folder."
        ),
    )
    insecure: bool = Field(
        False,
        description=(
            "Allow plain http to another machine; the token then crosses the network unencrypted."
        ),
    )
    account_id: int | None = Field(
        None, ge=1, description="Chatwoot only: the account number in its URLs (/app/accounts/N)."
    )
    team_groups: dict[str, Group] = Field(
        default_factory=dict,
        description=(
            'Chatwoot only: team name -> desk, e.g. {"Sales" = "pre-sale"}. '
            "Conversations of other teams go to after-sale."
        ),
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_http_url(value)


class OrdersSection(_Section):
    """Where orders come from when they live in another system than the chats. Customers
    are matched across the two by email or phone. The key is never read from this file:
    set CS_CONSOLE_ORDERS_TOKEN, or name an owner-only file in token_file."""

    kind: Literal["backend", "vendure", "medusa", "reference"] = Field(
        "backend",
        description=(
            "backend: the orders the [backend] has (the reference server has them); "
            "vendure: a Vendure shop (Admin API key); medusa: a Medusa shop (secret API key); "
            "reference: another cs-console server."
        ),
    )
    url: str | None = Field(
        None, description="The order system's address, e.g. http://127.0.0.1:3000 for Vendure."
    )
    token_file: Path | None = Field(
        None,
        description=(
            "A file holding the order system's API key, readable by you alone (chmod 600). "
            "A relative path is relative to this file's folder."
        ),
    )
    channel_token: str | None = Field(
        None, description="Vendure only: the channel token, when the shop has several channels."
    )
    insecure: bool = Field(
        False, description="Allow plain http to another machine for the order system."
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_http_url(value)


class ShiftSection(_Section):
    """Timers of the working day."""

    response_target_minutes: int = Field(
        3, ge=1, description="The shop's first-response target, in minutes."
    )
    warn_after_s: float = Field(
        60.0,
        ge=0,
        allow_inf_nan=False,
        description=(
            "A waiting customer's clock turns to the warning colour after this many seconds."
        ),
    )
    alert_after_s: float = Field(
        180.0,
        ge=0,
        allow_inf_nan=False,
        description=(
            "... and to the alert colour after this many seconds (not less than warn_after_s)."
        ),
    )
    away_after_s: float = Field(
        600.0,
        ge=0,
        allow_inf_nan=False,
        description=(
            "Seconds without a key before an online agent shows as away (the server then "
            "assigns them no new conversations); the next key makes them online again. "
            "0 never turns them away."
        ),
    )
    online_at_start: bool = Field(
        False,
        description=(
            "Go online when the console starts (the server then assigns new conversations "
            "at once); otherwise the presence chosen last time stays (Ctrl+O changes it)."
        ),
    )
    undo_seconds: float = Field(
        5.0,
        ge=0,
        le=60,
        allow_inf_nan=False,
        description="A sent reply can be taken back for this many seconds; 0 sends at once.",
    )
    ship_by_hours: int = Field(
        48, ge=1, description="An order should ship within this many hours of payment."
    )
    sync_interval_s: float = Field(
        3.0,
        ge=0,
        allow_inf_nan=False,
        description="Seconds between syncs with the backend.",
    )
    live_updates: bool = Field(
        True,
        description=(
            "Hear of changes at once where the backend can tell (the reference server's "
            "long-poll); the interval above stays the fallback."
        ),
    )

    @field_validator("alert_after_s")
    @classmethod
    def _alert_after_warn(cls, value: float, info: ValidationInfo) -> float:
        warn = info.data.get("warn_after_s")
        if warn is not None and value < warn:
            raise ValueError(
                f"expected at least shift.warn_after_s ({warn:g}), so the clock warns first"
            )
        return value


class ShopSection(_Section):
    """The shop you answer for; used in quick-reply placeholders and limits."""

    name: str = Field(
        "our shop", min_length=1, description="The shop's name, as customers know it."
    )
    return_address: str = Field(
        "", description="Where customers send returns; fills {return_address} in quick replies."
    )
    currency: str = Field("CNY", description='The ISO 4217 code of prices, e.g. "CNY".')
    authority_limit: Decimal = Field(
        Decimal("20.00"),
        ge=0,
        description=(
            "Compensation an agent may grant alone, in the shop's currency "
            "(the backend enforces its own limit)."
        ),
    )

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str) -> str:
        code = value.upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError('expected a three-letter ISO 4217 code such as "CNY"')
        return code

    @field_validator("authority_limit")
    @classmethod
    def _fits_minor_unit(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        if isinstance(currency, str):
            digits = currency_digits(currency)
            if value != round(value, digits):
                raise ValueError(
                    f"expected an amount with at most {digits} decimals for {currency}"
                )
        return value

    @property
    def authority_limit_minor(self) -> int:
        """:attr:`authority_limit` in minor units of :attr:`currency` (fen, cents, yen)."""
        return int(self.authority_limit.scaleb(currency_digits(self.currency)))


class FlagsSection(_Section):
    """What each order-remark flag colour means in this shop."""

    red: str = Field(
        DEFAULT_FLAG_MEANINGS[FlagColour.RED],
        min_length=1,
        description="What a red flag on an order means.",
    )
    yellow: str = Field(
        DEFAULT_FLAG_MEANINGS[FlagColour.YELLOW],
        min_length=1,
        description="What a yellow flag on an order means.",
    )
    green: str = Field(
        DEFAULT_FLAG_MEANINGS[FlagColour.GREEN],
        min_length=1,
        description="What a green flag on an order means.",
    )
    blue: str = Field(
        DEFAULT_FLAG_MEANINGS[FlagColour.BLUE],
        min_length=1,
        description="What a blue flag on an order means.",
    )
    purple: str = Field(
        DEFAULT_FLAG_MEANINGS[FlagColour.PURPLE],
        min_length=1,
        description="What a purple flag on an order means.",
    )

    @property
    def meanings(self) -> dict[FlagColour, str]:
        """Flag colour -> what it means here."""
        return {colour: getattr(self, colour.value) for colour in FlagColour}


class UiSection(_Section):
    """How the console looks and behaves."""

    theme: str = Field(
        "cs-dark",
        min_length=1,
        description=(
            "cs-dark, cs-light, cs-high-contrast, cs-colour-safe, cs-ansi16, or a theme "
            "of yours in themes/ beside this file. A theme picked from the command "
            "palette is remembered in ui-state.json and wins until you edit this line."
        ),
    )
    enter_sends: bool = Field(
        True,
        description="true: Enter sends and Ctrl+J adds a line; false: the other way round.",
    )
    language: Language | None = Field(
        None,
        description="The interface language: en, zh-CN, vi or es. Not set: agent.language.",
    )


#: Where one kind of alert goes: nowhere, the terminal bell, a desktop notification, or both.
AlertChannels = Literal["off", "bell", "desktop", "bell+desktop"]


class AlertsSection(_Section):
    """What calls the agent back to the console: the terminal bell and, where the
    terminal shows them, desktop notifications (OSC 9: iTerm2, WezTerm, kitty, Ghostty;
    OSC 777: foot, rxvt-unicode, Konsole, VTE; inside tmux only with `set -g
    allow-passthrough on`). Nothing for the conversation open on screen while the
    console has focus. A notification names the customer, never the message."""

    bell: bool = Field(
        True, description="Ring the terminal bell for the alerts below that ask for it."
    )
    desktop: bool = Field(
        True,
        description=(
            "Show desktop notifications for the alerts below that ask for them, where "
            "the terminal supports them."
        ),
    )
    desktop_protocol: Literal["auto", "osc9", "osc777"] = Field(
        "auto",
        description=(
            "auto: guess from the terminal ($TERM_PROGRAM, $TERM and the like; an "
            "unknown terminal gets the bell only); osc9 or osc777: use that escape sequence."
        ),
    )
    new_conversation: AlertChannels = Field(
        "bell+desktop",
        description="A new conversation arrives: off, bell, desktop or bell+desktop.",
    )
    reply_in_mine: AlertChannels = Field(
        "bell+desktop",
        description="A customer writes in a conversation assigned to you.",
    )
    clock_red: AlertChannels = Field(
        "bell",
        description=(
            "A waiting customer's clock turns red (shift.alert_after_s), in a conversation "
            "that is yours or nobody's."
        ),
    )
    approval_decided: AlertChannels = Field(
        "bell+desktop",
        description="A supervisor approves or declines a case you logged.",
    )
    min_interval_s: float = Field(
        2.0,
        ge=0,
        le=600,
        allow_inf_nan=False,
        description=(
            "At most one bell and one notification per this many seconds; what comes "
            'meanwhile is told together ("3 new conversations").'
        ),
    )


class ConsoleConfig(BaseModel):
    """The whole of ``config.toml``: what the file and the environment may set."""

    # Unknown keys are errors here too: a misplaced `theme = ...` outside [ui] is named.
    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: AgentSection = Field(default_factory=AgentSection, description=AgentSection.__doc__)
    backend: BackendSection = Field(
        default_factory=BackendSection, description=BackendSection.__doc__
    )
    orders: OrdersSection = Field(default_factory=OrdersSection, description=OrdersSection.__doc__)
    shift: ShiftSection = Field(default_factory=ShiftSection, description=ShiftSection.__doc__)
    shop: ShopSection = Field(default_factory=ShopSection, description=ShopSection.__doc__)
    flags: FlagsSection = Field(default_factory=FlagsSection, description=FlagsSection.__doc__)
    ui: UiSection = Field(default_factory=UiSection, description=UiSection.__doc__)
    alerts: AlertsSection = Field(default_factory=AlertsSection, description=AlertsSection.__doc__)
    keymap: dict[str, KeySpec] = Field(
        default_factory=dict,
        description=(
            'Your own keys: binding id = keys, e.g. "queue.next_waiting" = "n,ctrl+g". '
            "The ids are shown in the help screen (F1)."
        ),
    )


#: The section models by name, in file order.
SECTIONS: dict[str, type[_Section]] = {
    "agent": AgentSection,
    "backend": BackendSection,
    "orders": OrdersSection,
    "shift": ShiftSection,
    "shop": ShopSection,
    "flags": FlagsSection,
    "ui": UiSection,
    "alerts": AlertsSection,
}


class Settings(ConsoleConfig):
    """Everything the console reads at start-up: the config's sections, where its files
    are, and the tokens.

    The tokens never come from ``config.toml`` (it would sit in backups and dotfile
    repositories) nor from the command line (``ps``, shell history): only from
    ``CS_CONSOLE_TOKEN``, an owner-only token file or the OS keyring. They are left
    out of ``repr`` and of every dump.

    Build one in code with ``Settings(paths=Paths(home=tmp), shift={"undo_seconds": 0})``;
    :func:`cs_console.settings.load_settings` reads one from the config and the
    environment. ``backend.token_file`` and ``orders.token_file`` are resolved (a
    relative path in the file is taken relative to its folder).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    paths: Paths
    token: Secret | None = Field(None, exclude=True, repr=False)
    orders_token: Secret | None = Field(None, exclude=True, repr=False)

    @property
    def ui_language(self) -> str:
        """The interface language: ``ui.language``, else the agent's."""
        return self.ui.language or self.agent.language

    def with_backend(self, url: str, token: Secret) -> Settings:
        """A copy pointed at another backend."""
        return self.model_copy(
            update={"backend": self.backend.model_copy(update={"url": url}), "token": token}
        )
