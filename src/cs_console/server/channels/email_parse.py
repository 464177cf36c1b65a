"""A customer's email, as raw bytes from the mailbox, read into what the inbox takes.

Pure functions, no network: the mailbox reader (``email_imap.py``) fetches the bytes and
hands them to :func:`parse_mail`, which never raises, whatever the bytes. The standard
library's parser (``email.policy.default``) splits the mail into parts; headers, charsets
and bodies are decoded here, because real inboxes lie about charsets and the library
would then replace the very characters Chinese customers write (a "gb2312" mail holding
GBK-only characters such as 镕 or 珺).

Decisions worth knowing:

* **Who writes.** A single valid ``Reply-To`` address that differs from ``From`` is the
  contact: it is where the sender asks answers to go, and contact forms and marketplace
  relays put the customer there while ``From`` is the relay (all their customers would
  merge into one). ``From`` is the contact otherwise. Both are as forgeable.
* **Language.** A GB* or Big5 charset gives ``zh-CN`` (Big5 too: the console has one
  Chinese, and agents who read Simplified read Traditional), then the text's script
  (Han characters, Vietnamese letters), then ``Content-Language`` (zh, vi, es, en), then
  a few Spanish words; else ``en``. The script outranks the header because Outlook
  writes its interface language there, not the mail's.
* **Files** are kept only when the server can store them (non-empty, at most
  ``max_attachment_bytes`` and :data:`cs_console.protocol.MAX_ATTACHMENT_BYTES`, a type
  :func:`cs_console.protocol.sniff_type` knows, at most
  :data:`cs_console.protocol.MAX_ATTACHMENTS`): the inbox would refuse the whole mail
  for one it cannot take. Each one left out is named in a line under the body.
* **Quoted history** is cut conservatively (:func:`strip_quoted`); a forward
  (``Fwd:``, ``转发:`` ...) keeps its whole body, since what was forwarded is the point.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import html
import logging
import math
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.policy import Policy
from email.utils import getaddresses
from html.parser import HTMLParser

from cs_console import protocol as p
from cs_console.mail_subject import SUBJECT_NUMBER
from cs_console.sanitize import sanitize, sanitize_line
from cs_console.server.inbox import Contact, IncomingFile

__all__ = [
    "InboundMail",
    "decode_bytes",
    "decode_header_text",
    "html_to_text",
    "parse_mail",
    "strip_quoted",
    "unflow",
]

log = logging.getLogger(__name__)

MAX_SUBJECT_CHARS = 300
MAX_RELATED = 50
#: Longer Message-IDs are garbage (real ones stay under ~120 characters).
MAX_ID_CHARS = 250
#: Parts looked at, and how deep: a hostile mail cannot make the walk expensive.
MAX_PARTS = 500
MAX_DEPTH = 25


@dataclass(frozen=True)
class InboundMail:
    """One received mail, decoded and sanitised (see the module docstring)."""

    #: The Message-ID without ``<>``, or ``sha256-<hex>@missing`` of the raw bytes when
    #: it is absent or garbled (the same bytes again give the same id).
    mail_id: str
    #: In-Reply-To, then References (root first, the latest after), without ``<>``,
    #: de-duplicated, at most :data:`MAX_RELATED`.
    related: tuple[str, ...]
    #: Decoded, one line, at most :data:`MAX_SUBJECT_CHARS` characters.
    subject: str
    #: ``conv-...`` from a ``[#conv-...]`` tag in the subject.
    subject_conversation: str | None
    contact: Contact
    #: The text to show: quoted history and signature stripped, sanitised, not cut.
    body: str
    files: tuple[IncomingFile, ...]
    #: Why it must not open a conversation (``"bounce"``, ``"auto-reply"``), or None.
    automatic: str | None


# -- charsets ---------------------------------------------------------------------------

#: Labels mail software writes that Python does not know, and supersets to decode with:
#: GB2312 and GBK mails routinely hold GBK/GB18030-only characters, Big5 ones HKSCS
#: characters, and "ISO-8859-1"/"US-ASCII" ones Windows-1252 quotes and dashes (as every
#: browser decodes them).
_LABEL_ALIASES = {
    "x-gbk": "gb18030",
    "windows-936": "gb18030",
    "ms936": "gb18030",
    "csgb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gb_2312": "gb18030",
    "x-euc-cn": "gb18030",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "windows-874": "cp874",
    "x-sjis": "cp932",
    "x-mac-roman": "mac-roman",
    "unicode-1-1-utf-8": "utf-8",
}
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "iso2022_jp": "iso2022_jp_2",
}
#: Codecs that are not a text charset, or that would interpret the text (escapes).
_REFUSED_CODECS = frozenset(
    {
        "base64",
        "bz2",
        "charmap",
        "hex",
        "idna",
        "punycode",
        "quopri",
        "raw-unicode-escape",
        "rot-13",
        "undefined",
        "unicode-escape",
        "uu",
        "zlib",
    }
)
_CHINESE_CODECS = frozenset({"gb18030", "big5hkscs", "cp950", "hz"})
_LABEL = re.compile(r"[a-z0-9][a-z0-9_.:+-]{0,39}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _codec(label: str | None) -> str | None:
    """The Python codec to decode ``label`` with, or None if it names none."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower().split("*", 1)[0]  # RFC 2231: "utf-8*en"
    if not _LABEL.fullmatch(name):
        return None
    name = _LABEL_ALIASES.get(name, name)
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    if canonical in _REFUSED_CODECS:
        return None
    return _SUPERSETS.get(canonical, canonical)


def _latin_like(codec: str | None) -> bool:
    """A single-byte Western label: such text is almost never valid UTF-8 by chance, so
    bytes that are valid UTF-8 under it were mislabelled."""
    return codec is None or codec.startswith(("cp125", "iso8859", "mac-")) or codec == "ascii"


def _attempt(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except Exception:  # a lying label: UnicodeError, odd codec errors
        return None


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 but for a few broken bytes (a cut-off character), not another charset."""
    text = data.decode("utf-8", "replace")
    broken = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    return broken <= max(2, len(text) // 200)


def decode_bytes(data: bytes, label: str | None, *, header: bool = False) -> str:
    """Decode ``data`` said to be in charset ``label``; never raises.

    Trusted first: the label's superset (GB2312 and GBK as GB18030, Big5 as Big5-HKSCS).
    Bytes that are valid UTF-8 under a Western or missing label are UTF-8. When the label
    fails: UTF-8, then GB18030; last, a header falls back to Latin-1 and a body to its
    label (or Windows-1252) with replacement characters.
    """
    codec = _codec(label)
    high = _HIGH_BYTE.search(data) is not None
    if _latin_like(codec):
        if not high:
            return data.decode("ascii")
        found = _attempt(data, "utf-8")
        if found is not None:
            return found
    if codec is not None:
        found = _attempt(data, codec)
        if found is not None:
            return found
    if high:
        if codec != "utf-8":
            found = _attempt(data, "utf-8")
            if found is not None:
                return found
        if not header and codec == "utf-8" and _mostly_utf8(data):
            return data.decode("utf-8", "replace")
        if codec != "gb18030":
            found = _attempt(data, "gb18030")
            if found is not None:
                return found
    if header:
        return data.decode("latin-1")
    try:
        return data.decode(codec or "cp1252", "replace")
    except Exception:  # a codec that fails even with "replace"
        return data.decode("cp1252", "replace")


# -- headers ----------------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?]*?)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", " ").replace("\n", " ")


def _raw_bytes(text: str) -> bytes:
    """The bytes a header or payload string stands for (the parser keeps 8-bit bytes as
    surrogate escapes)."""
    return text.encode("utf-8", "surrogateescape")


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "bB":
            compact = "".join(payload.split())
            compact += "=" * (-len(compact) % 4)
            return base64.b64decode(compact.encode("ascii", "surrogateescape"), validate=False)
        return binascii.a2b_qp(payload.encode("ascii", "surrogateescape"), header=True)
    except (ValueError, binascii.Error):
        return None


def decode_header_text(value: str, hint: str | None = None) -> str:
    """A raw header value (RFC 2047 encoded-words, or raw 8-bit text) as text.

    Adjacent encoded-words in one charset are joined before decoding, since mailers
    split multibyte characters across them; the blanks between encoded-words go (RFC
    2047 §6.2). Raw 8-bit text is taken to be in ``hint``, the body's charset (as old
    Chinese mailers write it; UTF-8 when it is valid UTF-8 and the hint is Western or
    missing). A label that fails falls back to UTF-8, GB18030, then Latin-1. Never
    raises.
    """
    value = _unfold(value)
    # (bytes, charset or None for raw text) pieces, in order
    pieces: list[tuple[bytes, str | None]] = []
    position = 0
    last_was_word = False
    for found in _ENCODED_WORD.finditer(value):
        between = value[position : found.start()]
        decoded = _word_bytes(found.group(2), found.group(3))
        if decoded is None:
            continue  # stays raw text: taken with the next "between"
        if between and not (last_was_word and between.isspace()):
            pieces.append((_raw_bytes(between), None))
        label = found.group(1).lower()
        if pieces and pieces[-1][1] == label and last_was_word:
            pieces[-1] = (pieces[-1][0] + decoded, label)
        else:
            pieces.append((decoded, label))
        position = found.end()
        last_was_word = True
    if position < len(value):
        pieces.append((_raw_bytes(value[position:]), None))
    return "".join(
        decode_bytes(data, label if label is not None else hint, header=True)
        for data, label in pieces
    )


def _header_charsets(value: str) -> list[str]:
    return [found.group(1) for found in _ENCODED_WORD.finditer(value)]


class _Headers:
    """A part's raw header values by lower-case name (unparsed: decoded here)."""

    def __init__(self, part: Message) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in part.raw_items():
            self.values.setdefault(str(name).strip().lower(), []).append(str(value))

    def first(self, name: str) -> str | None:
        found = self.values.get(name)
        return _unfold(found[0]) if found else None

    def has(self, name: str) -> bool:
        return name in self.values


_PARAM = re.compile(r';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)', re.S)


def _split_params(raw: str | None, hint: str | None) -> tuple[str, dict[str, str]]:
    """``type; name=value ...`` (Content-Type, Content-Disposition): the lower-case first
    word and the parameters, decoded (RFC 2231 continuations and charsets; RFC 2047
    encoded-words and raw 8-bit in quoted values, as mailers write file names)."""
    if not raw:
        return "", {}
    head = raw.split(";", 1)[0].strip().strip('"').lower()
    simple: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    for found in _PARAM.finditer(raw):
        name = found.group(1).lower()
        value = found.group(2).strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1] if value.endswith('"') else value[1:])
        base, star, rest = name.partition("*")
        if not star:
            simple.setdefault(name, value)
            continue
        index_text = rest.rstrip("*")
        if index_text and not index_text.isdigit():
            continue
        index = int(index_text) if index_text else 0
        if index <= 100:
            extended.setdefault(base, {}).setdefault(index, (value, rest.endswith("*") or not rest))
    params = {name: decode_header_text(value, hint) for name, value in simple.items()}
    for base, sections in extended.items():
        params[base] = _rfc2231(sections, hint)
    return head, params


def _rfc2231(sections: dict[int, tuple[str, bool]], hint: str | None) -> str:
    charset: str | None = None
    data = b""
    for index in sorted(sections):
        value, encoded = sections[index]
        if encoded:
            if charset is None and value.count("'") >= 2:
                label, _lang, value = value.split("'", 2)
                charset = label or None
            data += _percent_decode(value)
        else:
            data += _raw_bytes(value)
    return decode_bytes(data, charset or hint, header=True)


def _percent_decode(value: str) -> bytes:
    raw = _raw_bytes(value)
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


# -- addresses --------------------------------------------------------------------------

_ADDRESS = re.compile(r"[^\s@<>(),;:\"\[\]\\]{1,200}@[^\s@<>(),;:\"\[\]\\]{1,200}")


def _clean_address(address: str) -> str | None:
    found = address.strip().strip("<>").strip().lower()
    if len(found) > 254 or not _ADDRESS.fullmatch(found) or not found.isprintable():
        return None
    return found


def _addresses(raw: str | None, hint: str | None) -> list[tuple[str, str]]:
    """(decoded display name, lower-case address) pairs of an address header."""
    if not raw:
        return []
    out: list[tuple[str, str]] = []
    try:
        pairs = getaddresses([raw])
    except Exception:  # the legacy parser on garbage
        pairs = []
    for name, address in pairs:
        clean = _clean_address(decode_header_text(address, hint))
        if clean is not None:
            out.append((decode_header_text(name, hint), clean))
    if not out:
        found = _ADDRESS.search(decode_header_text(raw, hint))
        clean = _clean_address(found.group()) if found else None
        if clean is not None:
            out.append(("", clean))
    return out


def _display_name(name: str) -> str:
    return sanitize_line(name).strip().strip("\"'").strip()[: p.MAX_NAME_CHARS]


# -- Message-IDs ------------------------------------------------------------------------

_BRACKETED_ID = re.compile(rf"<([^<>\s]{{1,{MAX_ID_CHARS}}})>")
_BARE_ID = re.compile(r"[^\s<>@]{1,200}@[^\s<>@]{1,200}")
_ID_CHARS = re.compile(r"[\x21-\x7e]+")


def _ids(raw: str | None) -> list[str]:
    """The ``<id>``s of a Message-ID, In-Reply-To or References value, without ``<>``."""
    if not raw:
        return []
    found = _BRACKETED_ID.findall(raw)
    if not found:
        bare = raw.strip()
        found = [bare] if _BARE_ID.fullmatch(bare) else []
    return [one for one in found if len(one) <= MAX_ID_CHARS and _ID_CHARS.fullmatch(one)]


def _dedupe(ids: list[str], leave_out: str) -> list[str]:
    seen = {leave_out}
    out: list[str] = []
    for one in ids:
        if one not in seen:
            seen.add(one)
            out.append(one)
    return out


def _related(headers: _Headers, mail_id: str) -> tuple[str, ...]:
    """In-Reply-To, then the References' root and as many of the latest as fit: the
    ones a conversation is found by."""
    replied = _dedupe(_ids(headers.first("in-reply-to")), mail_id)[:5]
    references = _ids(" ".join(headers.values.get("references", [])))
    head = _dedupe(replied + references[:1], mail_id)
    seen = {mail_id, *head}
    latest: list[str] = []
    for one in reversed(references):
        if len(head) + len(latest) >= MAX_RELATED:
            break
        if one not in seen:
            seen.add(one)
            latest.append(one)
    return tuple(head + latest[::-1])


def _missing_id(raw: bytes) -> str:
    return f"sha256-{hashlib.sha256(raw).hexdigest()}@missing"


# -- HTML -------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template"})
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)


class _HtmlText(HTMLParser):
    """HTML as the text a reader sees: no script or style, a line per block and
    ``<br>``, ``- `` per list item, ``> `` per blockquote level (so quoted history is
    found like a plain-text mail's), entities unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._line: list[str] = []
        self._line_depth = 0
        self._quote_depth = 0
        self._pre = 0
        self._skipping: list[str] = []

    def _break(self) -> None:
        text = "".join(self._line)
        if text.strip() or (self.lines and self.lines[-1][1].strip()):
            self.lines.append((self._line_depth, text.rstrip()))
        self._line = []
        self._line_depth = self._quote_depth

    def _soft_break(self) -> None:
        if "".join(self._line).strip():
            self._break()
        else:
            self._line = []
            self._line_depth = self._quote_depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skipping = [t for t in self._skipping if t not in ("head", "title")]
        if tag in _SKIPPED_TAGS:
            self._skipping.append(tag)
            return
        if tag == "br":
            self._break()
        elif tag == "li":
            self._soft_break()
            self._line.append("- ")
        elif tag == "blockquote":
            self._soft_break()
            self._quote_depth += 1
            self._line_depth = self._quote_depth
        elif tag in _BLOCK_TAGS:
            self._soft_break()
            if tag == "pre":
                self._pre += 1
        elif tag in ("td", "th"):
            self._line.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            while self._skipping and self._skipping.pop() != tag:
                pass
            return
        if tag == "blockquote":
            self._soft_break()
            self._quote_depth = max(0, self._quote_depth - 1)
            self._line_depth = self._quote_depth
        elif tag in _BLOCK_TAGS or tag == "li":
            self._soft_break()
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        data = data.replace("\xa0", " ")
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._line.append(first)
            for line in rest:
                self._break()
                self._line.append(line)
            return
        text = re.sub(r"\s+", " ", data)
        if not "".join(self._line).strip():
            text = text.lstrip()
        self._line.append(text)

    def text(self) -> str:
        self._break()
        out = [("> " * depth + line) if line else "" for depth, line in self.lines]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def html_to_text(markup: str) -> str:
    """The readable text of an HTML mail body; never raises."""
    try:
        reader = _HtmlText()
        reader.feed(markup)
        reader.close()
        return reader.text()
    except Exception:  # html.parser asserts on some broken declarations
        stripped = re.sub(r"(?i)<br\s*/?>|</?(p|div|li|tr)\b[^>]*>", "\n", markup)
        return html.unescape(re.sub(r"<[^>]*>", "", stripped)).strip()


# -- format=flowed ----------------------------------------------------------------------


def unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 ``format=flowed`` text as its paragraphs (soft breaks joined,
    space-stuffing removed, quote depth kept as ``> ``)."""
    paragraphs: list[tuple[int, str]] = []
    current: list[str] = []
    depth = 0
    joining = False
    for line in text.split("\n"):
        line_depth = len(line) - len(line.lstrip(">"))
        content = line[line_depth:]
        if content.startswith(" "):
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if joining and line_depth == depth:
            current.append(content)
        else:
            if joining or current:
                paragraphs.append((depth, "".join(current)))
            current = [content]
            depth = line_depth
        joining = flowed
    paragraphs.append((depth, "".join(current)))
    return "\n".join(("> " * d + t) if d else t for d, t in paragraphs)


# -- quoted history and signatures ------------------------------------------------------

#: Attribution lines, each with words it must hold (a cheap test first: the patterns
#: backtrack over long lines).
_ATTRIBUTION = [
    (("wrote",), re.compile(r"^\s*On\s.{0,300}\swrote\s*:\s*$", re.I)),
    (("escribió",), re.compile(r"^\s*El\s.{0,300}\sescribió\s*:\s*$", re.I)),
    (("đã viết",), re.compile(r"^\s*Vào\s.{0,300}\sđã viết\s*:\s*$", re.I)),
    (("写道", "寫道"), re.compile(r"^\s*(?:在|[^于於]{0,200}[于於]).{0,300}[写寫]道\s*[:：]\s*$")),
]
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Original|原始邮件|原始郵件|Mensaje original"
    r"|Mensaje de origen|Thư gốc)\s*-{2,}\s*$",
    re.I,
)
_FROM_LINE = re.compile(r"^\s*\*?\s*(From|发件人|發件人|寄件者|寄件人|De|Từ)\s*\*?\s*[:：]", re.I)
_SENT_LINE = re.compile(
    r"^\s*\*?\s*(Sent|Date|发送时间|發送時間|时间|時間|日期|Enviado(?: el)?|Fecha"
    r"|Đã gửi|Ngày gửi|Ngày)\s*\*?\s*[:：]",
    re.I,
)
_MOBILE_FOOTER = re.compile(
    r"^\s*(Sent from my\s|Sent from Mail for|Sent from Outlook|Get Outlook for"
    r"|发自我的|發自我的|从我的.{0,20}发送|Enviado desde mi|Enviado desde|Được gửi từ)",
    re.I,
)
_SIGNATURE_DELIMITER = "-- "
_RULE = re.compile(r"^\s*[_\-=*~]{5,}\s*$")


def _reply_header_at(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line):
            return index
        candidates = [line]
        if index + 1 < len(lines):
            candidates.append(line.rstrip() + " " + lines[index + 1].strip())
        for one in candidates:
            if not one.rstrip().endswith((":", "：")):
                continue
            folded = one.lower()
            if any(
                any(word in folded for word in words) and pattern.match(one)
                for words, pattern in _ATTRIBUTION
            ):
                return index
        if _FROM_LINE.match(line) and any(
            _SENT_LINE.match(after) for after in lines[index + 1 : index + 5]
        ):
            return index
    return None


def _drop_trailing_quotes(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    while end and _RULE.match(lines[end - 1]):
        end -= 1
    return lines[:end]


def strip_quoted(text: str) -> str:
    """``text`` without the quoted history and signature a reply carries.

    Cuts at the first reply header ("On … wrote:", "在 … 写道：", "El … escribió:",
    "Vào … đã viết:", "-----Original Message-----", "-----原始邮件-----", a "From:" /
    "发件人:" line with "Sent:" / "发送时间:" within 4 lines), drops trailing
    ``>``-quoted lines, and cuts at the signature delimiter ``-- `` (RFC 3676, exactly)
    and at a mobile footer ("Sent from my iPhone", "发自我的iPhone", ...). Quotes inside
    the text (answers between quoted lines) stay. Conservative: when nothing would be
    left, the original text comes back.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _reply_header_at(lines)
    if cut is not None:
        lines = lines[:cut]
    lines = _drop_trailing_quotes(lines)
    if _SIGNATURE_DELIMITER in lines:
        lines = lines[: lines.index(_SIGNATURE_DELIMITER)]
    for index, line in enumerate(lines):
        if len(line.strip()) <= 60 and _MOBILE_FOOTER.match(line):
            lines = lines[:index]
            break
    lines = _drop_trailing_quotes(lines)
    kept = "\n".join(lines).strip("\n")
    return kept if kept.strip() else text


# -- parts ------------------------------------------------------------------------------

_SKIPPED_TYPES = frozenset(
    {
        "application/pgp-signature",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-keys",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "text/rfc822-headers",
    }
)
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}


@dataclass
class _Found:
    """What the walk over a mail's parts found."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    charsets: list[str] = field(default_factory=list)
    files: list[tuple[str | None, bytes, str]] = field(default_factory=list)
    delivery_status: bool = False
    parts: int = 0


def _payload_bytes(part: Message) -> bytes:
    """A leaf part's content, transfer encoding undone (bad base64 as well as can be)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a garbled Content-Transfer-Encoding header
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return _raw_bytes(payload) if isinstance(payload, str) else b""


def _is_plain_body(part: Message) -> bool:
    """Whether the part (an alternative) holds a non-empty plain-text body."""
    headers = _Headers(part)
    kind, _ = _split_params(headers.first("content-type"), None)
    if part.is_multipart():
        if not kind.startswith("multipart/"):
            return False
        children = part.get_payload()
        return isinstance(children, list) and any(
            isinstance(c, Message) and _is_plain_body(c) for c in children[:20]
        )
    disposition, _ = _split_params(headers.first("content-disposition"), None)
    return (kind or "text/plain") == "text/plain" and disposition != "attachment"


def _visit(
    part: Message,
    depth: int,
    found: _Found,
    *,
    files_only: bool = False,
    text_only: bool = False,
) -> None:
    """Collect the body texts and the files of ``part``: ``files_only`` for the
    alternatives not chosen (an HTML alternative's inline images), ``text_only`` when
    the chosen plain text was blank and the HTML one is read for its words."""
    found.parts += 1
    if found.parts > MAX_PARTS or depth > MAX_DEPTH:
        return
    headers = _Headers(part)
    kind, type_params = _split_params(headers.first("content-type"), None)
    charset = type_params.get("charset")
    kind = kind if "/" in kind else "text/plain"
    disposition, disposition_params = _split_params(headers.first("content-disposition"), charset)
    name = disposition_params.get("filename") or type_params.get("name")
    if kind in ("message/delivery-status", "message/global-delivery-status"):
        found.delivery_status = True
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if kind.startswith("message/"):
            # An attached mail: offered as a file; what it says is not this mail's body.
            if (disposition == "attachment" or name) and children:
                try:
                    data = children[0].as_bytes()
                except Exception:  # the generator on a garbled part
                    data = b""
                found.files.append((name or "message.eml", data, kind))
            return
        if kind == "multipart/alternative" and children:
            chosen = next((c for c in children if _is_plain_body(c)), children[-1])
            plain_before, html_before = len(found.plain), len(found.html)
            for child in children:
                _visit(
                    child,
                    depth + 1,
                    found,
                    files_only=files_only or child is not chosen,
                    text_only=text_only,
                )
            added = found.plain[plain_before:] + found.html[html_before:]
            if not files_only and chosen is not children[-1] and not "".join(added).strip():
                # Some mailers send an empty plain alternative beside the real HTML one.
                _visit(children[-1], depth + 1, found, text_only=True)
            return
        for child in children:
            _visit(child, depth + 1, found, files_only=files_only, text_only=text_only)
        return
    if kind in _SKIPPED_TYPES:
        return
    is_text = kind in ("text/plain", "text/html")
    if is_text and not files_only and disposition != "attachment" and not name:
        text = decode_bytes(_payload_bytes(part), charset)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if charset:
            found.charsets.append(charset)
        if kind == "text/html":
            found.html.append(html_to_text(text))
        else:
            if type_params.get("format", "").lower() == "flowed":
                text = unflow(text, delsp=type_params.get("delsp", "").lower() == "yes")
            found.plain.append(text)
        return
    if text_only:
        return
    if disposition == "attachment" or name or kind.split("/")[0] in ("image", "application"):
        found.files.append((name, _payload_bytes(part), kind))


def _size_text(size: int) -> str:
    return f"{max(1, math.ceil(size / (1024 * 1024)))} MB"


def _keep_files(
    candidates: list[tuple[str | None, bytes, str]], limit: int
) -> tuple[list[IncomingFile], list[str]]:
    """The files the inbox can store, and a line for each one left out."""
    kept: list[IncomingFile] = []
    notes: list[str] = []
    limit = min(limit, p.MAX_ATTACHMENT_BYTES)
    for name, data, kind in candidates:
        shown = p.safe_file_name(name) if name else None
        sniffed = p.sniff_type(data) if data else None
        if shown is None:
            stem = "image" if kind.startswith("image/") else "attachment"
            shown = f"{stem}-{len(kept) + len(notes) + 1}{_EXTENSIONS.get(sniffed or kind, '')}"
        if not data:
            notes.append(f"[{shown}: empty]")
        elif len(data) > limit:
            notes.append(f"[{shown}: too large, {_size_text(len(data))}]")
        elif sniffed is None:
            notes.append(f"[{shown}: a type of file the console does not take]")
        elif len(kept) >= p.MAX_ATTACHMENTS:
            notes.append(f"[{shown}: more than {p.MAX_ATTACHMENTS} files]")
        else:
            kept.append(IncomingFile(file_name=shown, data=data))
    return kept, notes


# -- automatic mail ---------------------------------------------------------------------

#: Subjects auto-responders write (Outlook's "Automatic reply:", "Out of Office:" ...),
#: at the start and followed by a colon or nothing: a customer's own words rarely are.
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|auto|out of (the )?office"
    r"( autoreply)?|自动回复|自动答复|自動回覆|自動回复|respuesta automática"
    r"|fuera de la oficina|trả lời tự động)\s*(?:[:：]|$)",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|delivery failure|mail delivery failed"
    r"|returned mail|failure notice|退信|投递失败|未送达)",
    re.I,
)
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


def _first_word(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().strip('"').lower()


def _automatic(
    headers: _Headers,
    kind: str,
    type_params: dict[str, str],
    sender: str | None,
    subject: str,
    found: _Found,
) -> str | None:
    """Why this mail must not open a conversation, or None for a person's mail."""
    report = kind == "multipart/report"
    if report and type_params.get("report-type", "").lower() == "delivery-status":
        return "bounce"
    if headers.has("x-failed-recipients"):
        return "bounce"
    if sender and sender.split("@", 1)[0] in ("mailer-daemon", "postmaster"):
        null_sender = (headers.first("return-path") or "").strip() == "<>"
        if report or found.delivery_status or null_sender or _BOUNCE_SUBJECT.search(subject):
            return "bounce"
    if report:
        return "auto-reply"  # read receipts and other machine reports
    submitted = _first_word(headers.first("auto-submitted"))
    if submitted and submitted != "no":
        return "auto-reply"
    if any(headers.has(name) for name in ("x-autoreply", "x-autorespond", "x-autoresponse")):
        return "auto-reply"
    if _first_word(headers.first("precedence")) in _BULK_PRECEDENCE:
        return "auto-reply"
    if headers.has("list-id") or headers.has("list-unsubscribe"):
        return "auto-reply"
    if _AUTO_SUBJECT.match(subject):
        return "auto-reply"
    return None


# -- language ---------------------------------------------------------------------------

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: Letters only Vietnamese uses among the customers' languages (not â ê ô: French and
#: Portuguese have them).
_VIETNAMESE = re.compile(r"[ăđơưĂĐƠƯ\u1ea0-\u1ef9]")
_SPANISH = re.compile(
    r"[¿¡ñÑ]|\b(hola|gracias|pedido|por favor|buenos días|buenas tardes|quisiera|envío)\b",
    re.I,
)
_LANGUAGE_TAGS = {"zh": "zh-CN", "vi": "vi", "es": "es", "en": "en"}


def _language(charsets: list[str], content_language: str | None, text: str) -> str:
    if any(_codec(label) in _CHINESE_CODECS for label in charsets):
        return "zh-CN"
    sample = text[:5000]
    if len(_HAN.findall(sample)) >= 2:
        return "zh-CN"
    if len(_VIETNAMESE.findall(sample)) >= 2:
        return "vi"
    tag = re.split(r"[-_,;\s]", (content_language or "").strip().lower(), maxsplit=1)[0]
    if tag in _LANGUAGE_TAGS:
        return _LANGUAGE_TAGS[tag]
    if len(_SPANISH.findall(sample)) >= 2:
        return "es"
    return "en"


# -- the mail ---------------------------------------------------------------------------

_FORWARD = re.compile(r"^\s*(fw|fwd|tr|rv|wg|转发|轉寄|轉發)\s*[:：]", re.I)


def _contact(headers: _Headers, hint: str | None) -> tuple[str, str | None]:
    """(display name, address) of who writes: a single Reply-To address that differs
    from From (with its own name only: From's is the relay's), else From."""
    senders = _addresses(headers.first("from"), hint)
    name, address = senders[0] if senders else ("", None)
    reply_to = _addresses(headers.first("reply-to"), hint)
    if len(reply_to) == 1 and reply_to[0][1] != address:
        name, address = reply_to[0]
    return _display_name(name), address


_MIME_HEADER = re.compile(rb"(?im)^content-[a-z-]{1,30}:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")
#: The modern header parser takes quadratic time on a Content-* header with thousands
#: of parameters (seconds for 80 KB): longer ones are read with the legacy parser.
_LONGEST_MIME_HEADER = 2000


def _parsing_policy(raw: bytes) -> Policy:
    if any(len(found.group()) > _LONGEST_MIME_HEADER for found in _MIME_HEADER.finditer(raw)):
        return policy.compat32
    return policy.default


def _parse(raw: bytes, max_attachment_bytes: int, parsing: Policy) -> InboundMail:
    message = BytesParser(policy=parsing).parsebytes(raw)
    headers = _Headers(message)
    found = _Found()
    _visit(message, 0, found)
    hint = found.charsets[0] if found.charsets else None

    ids = _ids(headers.first("message-id"))
    mail_id = ids[0] if ids else _missing_id(raw)
    raw_subject = headers.first("subject") or ""
    full_subject = sanitize_line(decode_header_text(raw_subject, hint))
    tag = SUBJECT_NUMBER.search(full_subject)
    name, address = _contact(headers, hint)
    sender = (_addresses(headers.first("from"), hint) or [("", "")])[0][1] or None

    plain = "\n\n".join(found.plain)
    text = plain if plain.strip() else "\n\n".join(found.html)
    if not _FORWARD.match(full_subject):
        text = strip_quoted(text)
    files, notes = _keep_files(found.files, max_attachment_bytes)
    body = sanitize("\n\n".join(part for part in (text.strip("\n"), "\n".join(notes)) if part))

    kind, type_params = _split_params(headers.first("content-type"), None)
    charsets = found.charsets + _header_charsets(raw_subject)
    charsets += _header_charsets(headers.first("from") or "")
    language = _language(charsets, headers.first("content-language"), full_subject + "\n" + body)
    return InboundMail(
        mail_id=mail_id,
        related=_related(headers, mail_id),
        subject=full_subject[:MAX_SUBJECT_CHARS],
        subject_conversation=tag.group(1) if tag else None,
        contact=Contact(name=name, email=address, language=language),
        body=body,
        files=tuple(files),
        automatic=_automatic(headers, kind, type_params, sender, full_subject, found),
    )


def parse_mail(raw: bytes, *, max_attachment_bytes: int = 10 * 1024 * 1024) -> InboundMail:
    """Read a raw RFC 5322 mail into an :class:`InboundMail`; never raises.

    Args:
        raw: the mail as fetched (``BODY.PEEK[]``).
        max_attachment_bytes: larger files are left out (named in a line under the
            body); the server's own limit applies as well.

    Returns:
        The mail. Should the parser fail on something this module did not foresee, the
        mail still comes back: id from its bytes, the bytes as text for its body.
    """
    raw = bytes(raw)
    parsing = _parsing_policy(raw)
    if parsing is policy.default:
        try:
            return _parse(raw, max_attachment_bytes, parsing)
        except Exception:  # the modern header parser has bugs on some garbled headers
            log.info("reading a mail again with the legacy header parser", exc_info=True)
    try:
        return _parse(raw, max_attachment_bytes, policy.compat32)
    except Exception:  # one odd mail must never stop the mailbox reader
        log.warning("could not read a mail of %d bytes; kept as text", len(raw), exc_info=True)
        return InboundMail(
            mail_id=_missing_id(raw),
            related=(),
            subject="",
            subject_conversation=None,
            contact=Contact(),
            body=sanitize(decode_bytes(raw, None)),
            files=(),
            automatic=None,
        )
