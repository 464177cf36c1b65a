"""The quick-reply library: the shipped files, the linter, layering and CSV/JSON transfer."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from collections import Counter
from pathlib import Path

import pytest

from cs_console.replies import (
    Library,
    LintIssue,
    QuickReply,
    ReplyAction,
    lint_dirs,
    load_library,
    shipped_library_dir,
)
from cs_console.replies import library as library_module
from cs_console.replies.lint import HOTKEYS, SCENARIOS
from cs_console.replies.transfer import Format, export_replies, import_replies

BROKEN = Path(__file__).parent / "data" / "replies_broken"


@pytest.fixture(scope="module")
def shipped() -> tuple[Library, list[LintIssue]]:
    return load_library([shipped_library_dir()])


def issues_in(issues: list[LintIssue], file_name: str) -> list[tuple[int, str]]:
    return [(issue.line, issue.message) for issue in issues if Path(issue.path).name == file_name]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped library -------------------------------------------------------------


def test_shipped_library_has_no_lint_issues(shipped: tuple[Library, list[LintIssue]]) -> None:
    _library, issues = shipped
    assert [str(issue) for issue in issues] == []
    assert lint_dirs([shipped_library_dir()]) == []


def test_shipped_library_size_per_language(shipped: tuple[Library, list[LintIssue]]) -> None:
    library, _ = shipped
    counts = Counter(reply.language for reply in library.replies)
    assert library.languages() == ["en", "es", "vi", "zh-CN"]
    assert counts["zh-CN"] >= 60
    assert counts["en"] >= 60
    assert counts["vi"] >= 30
    assert counts["es"] >= 30


def test_shipped_hotkeys_bind_the_same_ten_scenarios_everywhere(
    shipped: tuple[Library, list[LintIssue]],
) -> None:
    library, _ = shipped
    bound = {
        language: {key: reply.scenario for key, reply in library.hotkeys(language).items()}
        for language in library.languages()
    }
    for language, scenarios in bound.items():
        assert len(scenarios) == 10, language
        assert set(scenarios) <= set(HOTKEYS)
        assert scenarios == bound["en"], language


def test_shipped_replies_are_well_formed(shipped: tuple[Library, list[LintIssue]]) -> None:
    library, _ = shipped
    assert len({reply.id for reply in library.replies}) == len(library.replies)
    for reply in library.replies:
        assert reply.id.startswith(f"{reply.language}.{reply.group}.")
        assert reply.scenario in SCENARIOS
        assert reply.body == reply.body.strip("\n")
        assert Path(reply.source).name == f"{reply.group}.toml"
        source_lines = Path(reply.source).read_text(encoding="utf-8").splitlines()
        assert source_lines[reply.line - 1].strip() == "[[reply]]"
        assert library.get(reply.id) is reply
    assert library.get("en.no.such-reply") is None


def test_shipped_library_dir_is_the_checkout_in_development() -> None:
    directory = shipped_library_dir()
    assert (directory / "README.md").is_file()
    assert (directory / "en").is_dir()


def test_shipped_library_dir_prefers_package_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = tmp_path / "cs_console"
    (packaged / "_data" / "quick_replies").mkdir(parents=True)
    monkeypatch.setattr(importlib.resources, "files", lambda _package: packaged)
    assert shipped_library_dir() == packaged / "_data" / "quick_replies"


def test_shipped_library_dir_missing_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.resources, "files", lambda _package: tmp_path)
    monkeypatch.setattr(library_module, "__file__", str(tmp_path / "a" / "b" / "c" / "x.py"))
    with pytest.raises(FileNotFoundError, match="quick-reply library is missing"):
        shipped_library_dir()


def test_actions_are_parsed_and_hashable(shipped: tuple[Library, list[LintIssue]]) -> None:
    library, _ = shipped
    rating = library.get("en.closing.rating")
    assert rating is not None
    assert rating.actions == (ReplyAction("set_status", {"status": "resolved"}),)
    assert dict(rating.actions[0].params) == {"status": "resolved"}
    assert len(set(library.replies)) == len(library.replies)


# --- the linter on broken files ------------------------------------------------------


@pytest.fixture(scope="module")
def broken_issues() -> list[LintIssue]:
    return lint_dirs([BROKEN])


def test_bad_toml_reports_tomllib_line(broken_issues: list[LintIssue]) -> None:
    [(line, message)] = issues_in(broken_issues, "bad-toml.toml")
    assert line == 5
    assert message.startswith("invalid TOML:")


def test_group_must_match_file_name(broken_issues: list[LintIssue]) -> None:
    assert issues_in(broken_issues, "wrong-group.toml") == [
        (2, "group 'shipping' does not match the file name (expected 'wrong-group')")
    ]


def test_duplicate_ids_are_reported_at_both_places(broken_issues: list[LintIssue]) -> None:
    found = issues_in(broken_issues, "dupes.toml")
    assert [line for line, _ in found] == [3, 10]
    assert all("duplicate id 'en.dupes.same'" in message for _, message in found)
    assert "dupes.toml:10" in found[0][1]
    assert "dupes.toml:3" in found[1][1]


def test_hotkey_clash_and_unknown_hotkey(broken_issues: list[LintIssue]) -> None:
    found = issues_in(broken_issues, "hotkeys.toml")
    assert [line for line, _ in found] == [17, 25]
    assert "alt+a is already bound to 'en.hotkeys.first'" in found[0][1]
    assert "'ctrl+k' is not allowed" in found[1][1]


def test_placeholder_problems_point_at_the_body_line(broken_issues: list[LintIssue]) -> None:
    found = issues_in(broken_issues, "placeholders.toml")
    assert found == [
        (8, "unknown placeholder {custmer_name} (did you mean {customer_name}?)"),
        (17, "unbalanced '{' in body (write '{{' for a literal brace)"),
    ]


def test_missing_and_invalid_fields(broken_issues: list[LintIssue]) -> None:
    found = issues_in(broken_issues, "fields.toml")
    assert [line for line, _ in found] == [3, 10, 20, 21, 22]
    messages = " | ".join(message for _, message in found)
    assert "missing 'title'" in messages
    assert "id 'EN.Fields.Shouty' must be 'en.fields.<slug>'" in messages
    assert "scenario must be one of" in messages
    assert "'everyone'" in messages
    assert "keywords must be a list" in messages


def test_unknown_actions_and_params(broken_issues: list[LintIssue]) -> None:
    found = issues_in(broken_issues, "actions.toml")
    assert [line for line, _ in found] == [10, 11, 12, 13]
    assert "exactly one of 'status' or 'snooze_minutes'" in found[0][1]
    assert "unknown action kind 'escalate'" in found[1][1]
    assert "'orange'" in found[2][1]
    assert "unknown parameter 'note'" in found[3][1]


def test_files_outside_language_folders(broken_issues: list[LintIssue]) -> None:
    assert issues_in(broken_issues, "stray.toml") == [
        (0, "reply files belong in a language folder, e.g. en/<group>.toml")
    ]


def test_issue_renders_as_path_line_message() -> None:
    assert str(LintIssue("en/a.toml", 7, "boom")) == "en/a.toml:7: boom"


def test_broken_library_loads_what_is_valid() -> None:
    library, issues = load_library([BROKEN])
    assert issues == lint_dirs([BROKEN])
    assert [reply.id for reply in library.replies] == [
        "en.actions.good",
        "en.dupes.same",
        "en.hotkeys.first",
        "en.hotkeys.second",
        "en.hotkeys.third",
        "en.placeholders.fine",
    ]
    dupe = library.get("en.dupes.same")
    assert dupe is not None
    assert dupe.title == "First copy"
    assert {key: reply.id for key, reply in library.hotkeys("en").items()} == {
        "alt+a": "en.hotkeys.first"
    }
    good = library.get("en.actions.good")
    assert good is not None
    assert [(action.kind, dict(action.params)) for action in good.actions] == [
        ("set_status", {"snooze_minutes": 60}),
        ("open_case", {"category": "fulfilment.missing-item"}),
    ]


def test_undecodable_and_bom_files(tmp_path: Path) -> None:
    reply = 'group = "hi"\n\n[[reply]]\nid = "en.hi.x"\ntitle = "T"\nbody = "B"\n'
    reply += 'scenario = "greeting"\naudience = "both"\n'
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hi.toml").write_bytes(b"\xef\xbb\xbf" + reply.encode())
    (tmp_path / "en" / "latin1.toml").write_bytes(b'group = "latin1"\n# caf\xe9\n')
    library, issues = load_library([tmp_path])
    assert [reply.id for reply in library.replies] == ["en.hi.x"]
    assert [(Path(issue.path).name, issue.line, issue.message) for issue in issues] == [
        ("latin1.toml", 2, "not UTF-8 text")
    ]


def test_missing_directories(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    library, issues = load_library([shipped_library_dir(), missing])
    assert issues == []
    assert len(library) > 0
    assert lint_dirs([missing]) == [LintIssue(str(missing), 0, "no such file or directory")]


# --- layering: the agent's own replies -----------------------------------------------

USER_SHIPPING = """\
group = "shipping"

[[reply]]
id = "en.shipping.ship-within-48h"
title = "My own 48h wording"
body = "Hey {customer_name}, it ships by {ship_by}."
scenario = "shipping-48h"
audience = "both"

[[reply]]
id = "en.shipping.my-extra"
title = "Extra reply"
body = "Something only I say."
scenario = "shipping-time"
audience = "both"
hotkey = "alt+g"
"""


def test_user_dir_overrides_by_id_and_adds(
    tmp_path: Path, shipped: tuple[Library, list[LintIssue]]
) -> None:
    shop, _ = shipped
    write(tmp_path / "en" / "shipping.toml", USER_SHIPPING)
    library, issues = load_library([shipped_library_dir(), tmp_path])
    assert issues == []
    assert len(library) == len(shop) + 1

    replaced = library.get("en.shipping.ship-within-48h")
    assert replaced is not None
    assert replaced.title == "My own 48h wording"
    assert replaced.source == str(tmp_path / "en" / "shipping.toml")
    # The override keeps the shop reply's place in the order.
    shop_ids = [reply.id for reply in shop.replies]
    assert [reply.id for reply in library.replies][: len(shop_ids)] == shop_ids
    assert library.replies[-1].id == "en.shipping.my-extra"

    # The override has no hotkey, so the shop's alt+d is gone; the user's alt+g
    # takes over from the shop's reply.
    hotkeys = library.hotkeys("en")
    assert "alt+d" not in hotkeys
    assert hotkeys["alt+g"].id == "en.shipping.my-extra"
    delivery_time = library.get("en.shipping.delivery-time")
    assert delivery_time is not None
    assert delivery_time.hotkey is None
    assert library.hotkeys("zh-CN")["alt+g"].id == "zh-CN.shipping.delivery-time"


def test_broken_user_reply_keeps_the_shop_version(tmp_path: Path) -> None:
    write(
        tmp_path / "en" / "shipping.toml",
        USER_SHIPPING.replace("{ship_by}", "{ship_date}"),
    )
    library, issues = load_library([shipped_library_dir(), tmp_path])
    assert [(Path(issue.path).name, issue.line) for issue in issues] == [("shipping.toml", 6)]
    kept = library.get("en.shipping.ship-within-48h")
    assert kept is not None
    assert kept.title == "We ship within 48 hours"
    assert library.get("en.shipping.my-extra") is not None


# --- export and import ---------------------------------------------------------------


def comparable(replies: tuple[QuickReply, ...]) -> list[QuickReply]:
    return sorted(
        (dataclasses.replace(reply, source="", line=0) for reply in replies),
        key=lambda reply: reply.id,
    )


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_import_round_trip(
    fmt: Format, tmp_path: Path, shipped: tuple[Library, list[LintIssue]]
) -> None:
    library, _ = shipped
    files = import_replies(export_replies(library.replies, fmt), fmt)
    assert ("zh-CN", "logistics") in files
    for (language, group), toml_text in files.items():
        write(tmp_path / language / f"{group}.toml", toml_text)
    reloaded, issues = load_library([tmp_path])
    assert issues == []
    assert comparable(reloaded.replies) == comparable(library.replies)


def test_round_trip_of_awkward_text(tmp_path: Path) -> None:
    awkward = QuickReply(
        id="en.odd.quotes",
        language="en",
        group="odd",
        title='Say "hi" \\ wave',
        body='  Indented first line\nA """triple""" quote, a \\ backslash at the end \\\n'
        "literal {{braces}} and\ttab {cursor}",
        keywords=("a,b", 'quote"d'),
        scenario="greeting",
        audience="both",
        hotkey="f11",
        actions=(ReplyAction("add_remark", {"flag": "red", "text": 'He said "no"\nTwice'}),),
        source="",
        line=0,
    )
    formats: tuple[Format, ...] = ("csv", "json")
    for fmt in formats:
        files = import_replies(export_replies([awkward], fmt), fmt)
        write(tmp_path / fmt / "en" / "odd.toml", files[("en", "odd")])
        reloaded, issues = load_library([tmp_path / fmt])
        assert issues == []
        assert comparable(reloaded.replies) == [awkward]


def test_csv_export_columns(shipped: tuple[Library, list[LintIssue]]) -> None:
    library, _ = shipped
    rating = library.get("en.closing.rating")
    assert rating is not None
    lines = export_replies([rating], "csv").splitlines()
    assert lines[0] == "id,language,group,title,body,keywords,scenario,audience,hotkey,actions"
    assert "|".join(rating.keywords) in lines[1]
    [row] = json.loads(export_replies([rating], "json"))
    assert row["keywords"] == list(rating.keywords)
    assert row["actions"] == [{"kind": "set_status", "status": "resolved"}]
    assert row["hotkey"] == "alt+x"


def test_import_reports_bad_rows_by_number() -> None:
    header = "id,language,group,title,body,keywords,scenario,audience,hotkey,actions\n"
    rows = [
        "en.x.ok,en,x,Fine,Body,,greeting,both,,",
        "en.x.bad,en,x,Typo,Hi {custmer_name},,greeting,both,,",
        "en.x.ok,en,x,Again,Body,,greeting,both,,",
        'en.x.act,en,x,Act,Body,,greeting,both,,"[{""kind"": ""nope""}]"',
        "en.x.lang,../../etc,x,Lang,Body,,greeting,both,,",
    ]
    with pytest.raises(ValueError, match="cannot import") as caught:
        import_replies(header + "\n".join(rows) + "\n", "csv")
    message = str(caught.value)
    assert "row 2:" not in message
    assert "row 3: unknown placeholder {custmer_name}" in message
    assert "row 4: duplicate id 'en.x.ok' (first in row 2)" in message
    assert "row 5: unknown action kind 'nope'" in message
    assert "row 6: language '../../etc' is not a language tag" in message


def test_import_rejects_bad_structure() -> None:
    with pytest.raises(ValueError, match="missing columns keywords"):
        import_replies("id,language,group,title,body,scenario,audience,hotkey,actions\n", "csv")
    with pytest.raises(ValueError, match="expected a JSON array"):
        import_replies('{"id": "x"}', "json")
    with pytest.raises(ValueError, match="row 1: missing title"):
        import_replies(
            '[{"id": "en.a.b", "language": "en", "group": "a", "body": "x",'
            ' "scenario": "greeting", "audience": "both"}]',
            "json",
        )
