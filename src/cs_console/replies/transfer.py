"""Export quick replies to CSV or JSON and import them back as library TOML files,
and turn a library into the records a shop publishes through its backend.

Shops keep reply libraries in spreadsheets; this is the bridge. Import checks every
row with the same rules as the linter and writes files in the README's format, so
loading what it wrote gives back the same replies. Published records come back as a
:class:`~cs_console.replies.library.PublishedLayer`, checked by the same rules again
on each agent's machine (the backend is not trusted to have done it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from cs_console.replies.library import PublishedLayer, PublishedReply, QuickReply
from cs_console.replies.lint import (
    GROUP_RE,
    LANGUAGE_RE,
    CheckedReply,
    check_reply,
    normalize_body,
)
from cs_console.sanitize import find_control, sanitize

if TYPE_CHECKING:
    from cs_console import protocol as p

Format = Literal["csv", "json"]
#: How the shop's synced replies are named in load issues.
PUBLISHED_SOURCE = "shop library (synced)"

#: Columns of the CSV export, in order (and the keys of each JSON object).
COLUMNS: tuple[str, ...] = (
    "id",
    "language",
    "group",
    "title",
    "body",
    "keywords",
    "scenario",
    "audience",
    "hotkey",
    "actions",
)
_REQUIRED = ("id", "language", "group", "title", "body", "scenario", "audience")
_KEYWORD_SEPARATOR = "|"


def _action_objects(reply: QuickReply) -> list[dict[str, str | int]]:
    return [{"kind": action.kind, **action.params} for action in reply.actions]


def export_replies(replies: Sequence[QuickReply], fmt: Format) -> str:
    """Export replies as CSV or JSON text.

    CSV has a header row (:data:`COLUMNS`); keywords are joined with ``|`` and
    actions are a JSON array. JSON is a list of objects with the same keys, keywords
    and actions as arrays. Save either as UTF-8 (``utf-8-sig`` if Excel should
    open the CSV).

    Args:
        replies: the replies to export, in the order given.
        fmt: ``"csv"`` or ``"json"``.

    Raises:
        ValueError: on an unknown format, a keyword containing ``|`` (CSV cannot
            carry it through a round trip), or a control character in any text (an
            escape sequence would reach whatever shows the file; the library loader
            refuses such replies, so only a reply built in code can have one).
    """
    problems = [problem for reply in replies if (problem := _control_in(reply)) is not None]
    if problems:
        raise ValueError(sanitize("cannot export quick replies:\n" + "\n".join(problems)))
    if fmt == "json":
        rows = [
            {
                "id": reply.id,
                "language": reply.language,
                "group": reply.group,
                "title": reply.title,
                "body": reply.body,
                "keywords": list(reply.keywords),
                "scenario": reply.scenario,
                "audience": reply.audience,
                "hotkey": reply.hotkey,
                "actions": _action_objects(reply),
            }
            for reply in replies
        ]
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r} (csv or json)")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for reply in replies:
        for keyword in reply.keywords:
            if _KEYWORD_SEPARATOR in keyword:
                raise ValueError(
                    f"{reply.id}: keyword {keyword!r} contains '|', which CSV uses between "
                    "keywords; export as JSON instead"
                )
        actions = _action_objects(reply)
        writer.writerow(
            [
                reply.id,
                reply.language,
                reply.group,
                reply.title,
                reply.body,
                _KEYWORD_SEPARATOR.join(reply.keywords),
                reply.scenario,
                reply.audience,
                reply.hotkey or "",
                json.dumps(actions, ensure_ascii=False) if actions else "",
            ]
        )
    return buffer.getvalue()


def _control_in(reply: QuickReply) -> str | None:
    """Say where the first control character of a reply is, or return ``None``."""
    texts: list[tuple[str, str]] = [("title", reply.title), ("body", reply.body)]
    texts.extend(("a keyword", keyword) for keyword in reply.keywords)
    texts.extend(
        (f"action {action.kind!r} {name}", value)
        for action in reply.actions
        for name, value in action.params.items()
        if isinstance(value, str)
    )
    for label, value in texts:
        found = find_control(value)
        if found is not None:
            return f"{reply.source}:{reply.line}: reply {reply.id!r}: {label} contains {found}"
    return None


def import_replies(
    text: str, fmt: Format, *, source: str | None = None
) -> dict[tuple[str, str], str]:
    """Turn exported CSV or JSON into library files.

    Args:
        text: the CSV or JSON text (a leading byte-order mark is ignored).
        fmt: ``"csv"`` or ``"json"``.
        source: the file the text was read from, named in the error.

    Returns:
        ``{(language, group): toml_text}``: write each to
        ``<library>/<language>/<group>.toml``. Replies keep their order within a file.

    Raises:
        ValueError: naming the file (``source``), every bad row (``row N``: the
            spreadsheet row for CSV, counting the header as row 1; the 1-based item for
            JSON) and what is wrong; a reply with a control character (ESC, C1, a bidi
            override) is refused by name. The message is safe to print.
    """
    try:
        return _import_files(text, fmt)
    except ValueError as error:
        message = f"{source}: {error}" if source else str(error)
        # The message quotes the file's own text (an unknown column, a bad value).
        raise ValueError(sanitize(message)) from None


def _import_files(text: str, fmt: Format) -> dict[tuple[str, str], str]:
    text = text.removeprefix("\ufeff")
    if fmt == "csv":
        rows = _csv_rows(text)
    elif fmt == "json":
        rows = _json_rows(text)
    else:
        raise ValueError(f"unknown import format {fmt!r} (csv or json)")

    errors: list[str] = []
    files: dict[tuple[str, str], list[str]] = {}
    seen_ids: dict[str, int] = {}
    hotkeys: dict[tuple[str, str], int] = {}
    for number, row in rows:
        table, language, group, row_errors = _row_table(row)
        if not row_errors:
            checked, problems = check_reply(table, language=language, group=group)
            row_errors = [problem.message for problem in problems]
            if checked is not None and not row_errors:
                first = seen_ids.setdefault(checked.id, number)
                if first != number:
                    row_errors.append(f"duplicate id {checked.id!r} (first in row {first})")
                if checked.hotkey is not None:
                    owner = hotkeys.setdefault((language, checked.hotkey), number)
                    if owner != number:
                        row_errors.append(
                            f"hotkey {checked.hotkey} is already used in {language} by row {owner}"
                        )
                if not row_errors:
                    files.setdefault((language, group), []).append(_reply_toml(checked))
        errors.extend(f"row {number}: {message}" for message in row_errors)
    if errors:
        raise ValueError("cannot import quick replies:\n" + "\n".join(errors))
    return {
        (language, group): _file_toml(language, group, tables)
        for (language, group), tables in sorted(files.items())
    }


def _csv_rows(text: str) -> list[tuple[int, Mapping[str, object]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError("row 1: empty CSV (expected a header row)") from None
    header = [column.strip() for column in header]
    missing = [column for column in COLUMNS if column not in header]
    unknown = [column for column in header if column not in COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing columns " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns " + ", ".join(unknown))
        raise ValueError("row 1: " + "; ".join(parts) + " (expected " + ",".join(COLUMNS) + ")")

    rows: list[tuple[int, Mapping[str, object]]] = []
    problems: list[str] = []
    for number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue  # spreadsheets leave blank rows at the end
        if len(values) != len(header):
            problems.append(f"row {number}: {len(values)} cells, expected {len(header)}")
            continue
        cells = dict(zip(header, values, strict=True))
        row: dict[str, object] = {key: value for key, value in cells.items() if value != ""}
        keywords = cells["keywords"].strip()
        row["keywords"] = (
            [keyword.strip() for keyword in keywords.split(_KEYWORD_SEPARATOR)] if keywords else []
        )
        if "hotkey" in row:
            row["hotkey"] = cells["hotkey"].strip()
        actions = cells["actions"].strip()
        if actions:
            try:
                row["actions"] = json.loads(actions)
            except json.JSONDecodeError as error:
                problems.append(f"row {number}: actions is not valid JSON ({error.msg})")
                continue
        rows.append((number, row))
    if problems:
        raise ValueError("cannot import quick replies:\n" + "\n".join(problems))
    return rows


def _json_rows(text: str) -> list[tuple[int, Mapping[str, object]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} (line {error.lineno})") from None
    if not isinstance(data, list):
        raise ValueError("expected a JSON array of reply objects")
    rows: list[tuple[int, Mapping[str, object]]] = []
    problems: list[str] = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append(f"row {number}: expected an object")
            continue
        unknown = [key for key in item if key not in COLUMNS]
        if unknown:
            problems.append(f"row {number}: unknown keys " + ", ".join(map(str, unknown)))
            continue
        rows.append((number, {key: value for key, value in item.items() if value is not None}))
    if problems:
        raise ValueError("cannot import quick replies:\n" + "\n".join(problems))
    return rows


def _row_table(row: Mapping[str, object]) -> tuple[dict[str, object], str, str, list[str]]:
    """Split a row into its reply table, language and group; report what is missing."""
    errors = [f"missing {column}" for column in _REQUIRED if column not in row]
    language = row.get("language", "")
    group = row.get("group", "")
    if "language" in row and not (isinstance(language, str) and LANGUAGE_RE.fullmatch(language)):
        errors.append(f"language {language!r} is not a language tag (e.g. en, zh-CN)")
    if "group" in row and not (isinstance(group, str) and GROUP_RE.fullmatch(group)):
        errors.append(f"group {group!r} must be lowercase a-z, 0-9 and '-'")
    table = {key: value for key, value in row.items() if key not in ("language", "group")}
    return table, str(language), str(group), errors


def _file_toml(language: str, group: str, tables: list[str]) -> str:
    header = f"# quick_replies/{language}/{group}.toml\ngroup = {_basic(group)}\n"
    return header + "".join("\n" + table for table in tables)


def _reply_toml(reply: CheckedReply) -> str:
    """Write one checked reply table in the layout of the shipped files."""
    lines = [
        "[[reply]]",
        f"id = {_basic(reply.id)}",
        f"title = {_basic(reply.title)}",
        f'body = """\n{_multiline(reply.body)}\n"""',
        "keywords = [" + ", ".join(_basic(keyword) for keyword in reply.keywords) + "]",
        f"scenario = {_basic(reply.scenario)}",
        f"audience = {_basic(reply.audience)}",
    ]
    if reply.hotkey is not None:
        lines.append(f"hotkey = {_basic(reply.hotkey)}")
    if reply.actions:
        lines.append("actions = [")
        for kind, params in reply.actions:
            pairs = [f"kind = {_basic(kind)}"]
            pairs.extend(f"{key} = {_value(value)}" for key, value in params)
            lines.append("  { " + ", ".join(pairs) + " },")
        lines.append("]")
    return "\n".join(lines) + "\n"


def _value(value: str | int) -> str:
    return str(value) if isinstance(value, int) else _basic(value)


def _escape(char: str, *, multiline: bool) -> str:
    if char == "\\":
        return "\\\\"
    if char == '"':
        return '\\"'
    if char == "\n":
        return "\n" if multiline else "\\n"
    if char == "\t":
        return "\\t"
    if char < " " or char == "\x7f":
        return f"\\u{ord(char):04x}"
    return char


def _basic(text: str) -> str:
    """A TOML basic string."""
    return '"' + "".join(_escape(char, multiline=False) for char in text) + '"'


def _multiline(text: str) -> str:
    """The inside of a TOML multi-line basic string, keeping line breaks.

    Escaping every backslash and quote rules out line-continuation backslashes and
    stray ``\"\"\"`` terminators.
    """
    return "".join(_escape(char, multiline=True) for char in normalize_body(text))


def to_records(replies: Sequence[QuickReply], updated_at: datetime) -> list[p.ReplyRecord]:
    """The wire records a shop publishes for its replies.

    Args:
        replies: the checked replies (a linted library), in library order.
        updated_at: the publishing time (an aware datetime).

    Raises:
        ValueError: naming each reply the protocol cannot carry (an id over 64
            characters, over 50 keywords, a body over 8,000 characters...).
    """
    from pydantic import ValidationError

    from cs_console import protocol as p

    records: list[p.ReplyRecord] = []
    errors: list[str] = []
    for reply in replies:
        try:
            records.append(
                p.ReplyRecord.model_validate(
                    {
                        "id": reply.id,
                        "language": reply.language,
                        "group": reply.group,
                        "title": reply.title,
                        "body": reply.body,
                        "keywords": list(reply.keywords),
                        "scenario": reply.scenario,
                        "audience": reply.audience,
                        "hotkey": reply.hotkey,
                        "actions": [
                            {"kind": action.kind, "params": dict(action.params)}
                            for action in reply.actions
                        ],
                        "updated_at": updated_at,
                    },
                    strict=False,
                )
            )
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            errors.append(f"{reply.source}:{reply.line}: {reply.id}: {where}: {first['msg']}")
    if errors:
        raise ValueError("cannot publish quick replies:\n" + "\n".join(errors))
    return records


def published_layer(
    records: Sequence[p.ReplyRecord], source: str = PUBLISHED_SOURCE
) -> PublishedLayer:
    """The library layer for the shop's synced replies (tombstones left out).

    Args:
        records: the records sync stored.
        source: how issues name the layer.
    """
    replies: list[PublishedReply] = []
    for record in records:
        if record.deleted:
            continue
        table: dict[str, object] = {
            "id": record.id,
            "title": record.title,
            "body": record.body,
            "keywords": list(record.keywords),
            "scenario": record.scenario,
            "audience": record.audience,
            "actions": [{"kind": action.kind, **action.params} for action in record.actions],
        }
        if record.hotkey is not None:
            table["hotkey"] = record.hotkey
        replies.append(PublishedReply(record.language, record.group, table))
    return PublishedLayer(source, tuple(replies))
