"""The interface language: gettext catalogues, chosen once at start-up.

Strings are marked where they are written and translated where they are shown:

* ``_("Queue")`` and ``ngettext(...)`` translate now, in the current language. Use them in
  code that runs while the app does (compose, handlers, notifications).
* ``N_("Next waiting")`` only marks a string for extraction and returns it unchanged. Use
  it in class attributes such as Textual ``BINDINGS``, which are evaluated when the module
  is imported, before any language is chosen; whoever shows them translates them with
  ``_()`` (the screens do this for the footer and the keys panel).
* ``LazyText("...")`` is a class attribute that translates itself each time it is read
  (Textual widgets' ``HELP``).

The catalogues are standard GNU gettext files under ``cs_console/locale`` (compiled
``.mo`` beside each ``.po``, see ``docs/TRANSLATING.md``); the standard library reads
them, so nothing heavy is imported. A string missing from a catalogue shows in English.

Nothing happens at import time: the language is English until :func:`set_language`.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Mapping
from pathlib import Path
from typing import overload

#: The gettext domain: ``locale/<dir>/LC_MESSAGES/cs_console.mo``.
DOMAIN = "cs_console"
#: Languages with a catalogue, as config spells them.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "zh-CN", "vi", "es")
DEFAULT_LANGUAGE = "en"

#: Config spelling -> catalogue folder (POSIX locale names, as Babel writes them).
_CATALOGUE_DIRS = {"en": "en", "zh-CN": "zh_CN", "vi": "vi", "es": "es"}

_current: _gettext.NullTranslations = _gettext.NullTranslations()
_language = DEFAULT_LANGUAGE


def locale_dir() -> Path:
    """The folder holding the compiled catalogues (inside the installed package)."""
    return Path(__file__).resolve().parent / "locale"


def normalize_language(code: str | None) -> str | None:
    """A config value or a POSIX locale name as one of :data:`SUPPORTED_LANGUAGES`.

    ``zh_CN.UTF-8``, ``zh-Hans`` and ``zh`` give ``zh-CN``; ``es_MX`` gives ``es``;
    ``C``, ``POSIX``, empty and unknown languages give None.
    """
    if not code:
        return None
    cleaned = code.split(".", 1)[0].split("@", 1)[0].replace("_", "-").strip()
    language, _, region = cleaned.partition("-")
    language = language.lower()
    if language == "zh":
        # Only Simplified Chinese ships; Traditional-script regions fall back to English
        # rather than get the wrong script.
        return "zh-CN" if region.upper() in ("", "CN", "SG", "HANS", "MY") else None
    return language if language in SUPPORTED_LANGUAGES else None


def system_language(env: Mapping[str, str] | None = None) -> str:
    """The language of the system locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, in
    gettext's order of precedence), or English."""
    env = os.environ if env is None else env
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(variable)
        if not value:
            continue
        # LANGUAGE is a colon-separated preference list (GNU gettext).
        for candidate in value.split(":"):
            found = normalize_language(candidate)
            if found is not None:
                return found
        if variable != "LANGUAGE":
            # The first set LC_* / LANG decides, even when it is "C".
            return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def load_catalogue(language: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``language`` (a supported code); an empty one (English
    text throughout) if it is missing."""
    folder = _CATALOGUE_DIRS.get(language)
    if folder is None:
        return _gettext.NullTranslations()
    path = locale_dir() / folder / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as handle:
            return _gettext.GNUTranslations(handle)
    except OSError:
        return _gettext.NullTranslations()


def set_language(code: str | None, env: Mapping[str, str] | None = None) -> str:
    """Choose the interface language for the whole process.

    Call it before the app is built. Binding descriptions are translated when shown,
    so apps in different languages can run one after the other in one process (tests).

    Args:
        code: From config (``en``, ``zh-CN``, ``vi``, ``es``; POSIX names such as
            ``zh_CN.UTF-8`` are understood). None or ``""`` (not configured) picks the
            system locale; an unknown language falls back to English.
        env: The environment to read the system locale from (default ``os.environ``).

    Returns:
        The language now in use.
    """
    global _current, _language
    language = normalize_language(code) if code else system_language(env)
    language = language or DEFAULT_LANGUAGE
    _current = load_catalogue(language)
    _language = language
    return language


def current_language() -> str:
    """The language chosen by :func:`set_language` (``en`` until then)."""
    return _language


def _(message: str) -> str:
    """``message`` in the current language (English when the catalogue lacks it)."""
    # gettext("") is the catalogue's header, never what an empty label should show.
    return _current.gettext(message) if message else message


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translate it when shown)."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for ``count``, in the current language's plural rules."""
    return _current.ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """``message`` translated in ``context``, for short words with several meanings
    ("Open" the verb, "open" the status)."""
    return _current.pgettext(context, message)


class LazyText:
    """A class attribute translated each time it is read (``HELP = LazyText(...)``).

    Reading it through the class or an instance gives the text in the current language,
    so a class defined at import time still shows the language chosen later.
    """

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    @overload
    def __get__(self, instance: None, owner: type) -> str: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> str: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> str:
        return _current.gettext(self.message)

    def __str__(self) -> str:
        return _current.gettext(self.message)

    def __repr__(self) -> str:
        return f"LazyText({self.message!r})"
