"""The actions a quick reply may run when it is sent, and the check of one of them.

The kinds and their parameters are the library README's table: ``set_status``,
``add_remark``, ``open_case`` and ``transfer``. :func:`check_action` returns what is
wrong in plain messages; :mod:`cs_console.replies.lint` ties them to a file and line.
"""

from __future__ import annotations

from collections.abc import Mapping

from cs_console.domain import CaseCategory, FlagColour, Group

ACTION_KINDS: tuple[str, ...] = ("set_status", "add_remark", "open_case", "transfer")
#: A week: longer snoozes hide a conversation for good, which is what "resolved" is for.
MAX_SNOOZE_MINUTES = 7 * 24 * 60

ActionSpec = tuple[str, tuple[tuple[str, str | int], ...]]


def check_action(action: object) -> tuple[ActionSpec | None, list[str]]:
    """Check one entry of ``actions`` against the README's table.

    Args:
        action: the parsed TOML value.

    Returns:
        ``(kind, params)`` if valid, and the messages of what is wrong.
    """
    if not isinstance(action, Mapping):
        return None, ["each action must be a table like { kind = ..., ... }"]
    kind = action.get("kind")
    if not isinstance(kind, str):
        return None, ["action without a 'kind' (one of " + ", ".join(ACTION_KINDS) + ")"]
    if kind not in ACTION_KINDS:
        return None, [f"unknown action kind {kind!r} (one of " + ", ".join(ACTION_KINDS) + ")"]
    params = {key: value for key, value in action.items() if key != "kind"}
    messages: list[str] = []
    allowed = _ACTION_PARAMS[kind]
    for key in params:
        if key not in allowed:
            messages.append(
                f"unknown parameter {key!r} for action {kind!r} (allowed: "
                + ", ".join(allowed)
                + ")"
            )
    if not messages:
        messages.extend(_check_action_params(kind, params))
    if messages:
        return None, messages
    clean = tuple((key, _as_param(value)) for key, value in params.items())
    return (kind, clean), []


_ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "set_status": ("status", "snooze_minutes"),
    "add_remark": ("flag", "text"),
    "open_case": ("category",),
    "transfer": ("group",),
}


def _as_param(value: object) -> str | int:
    # Only called after _check_action_params accepted the value.
    if isinstance(value, str | int):
        return value
    raise TypeError(f"unexpected action parameter {value!r}")


def _check_action_params(kind: str, params: Mapping[str, object]) -> list[str]:
    if kind == "set_status":
        if ("status" in params) == ("snooze_minutes" in params):
            return ["set_status needs exactly one of 'status' or 'snooze_minutes'"]
        if "status" in params and params["status"] not in ("pending", "resolved"):
            return [f"set_status status must be 'pending' or 'resolved', not {params['status']!r}"]
        if "snooze_minutes" in params:
            minutes = params["snooze_minutes"]
            # bool is an int in Python; `snooze_minutes = true` is a mistake, not 1.
            if (
                not isinstance(minutes, int)
                or isinstance(minutes, bool)
                or not 1 <= minutes <= MAX_SNOOZE_MINUTES
            ):
                return [
                    f"set_status snooze_minutes must be a whole number from 1 to "
                    f"{MAX_SNOOZE_MINUTES}, not {minutes!r}"
                ]
        return []
    if kind == "add_remark":
        messages = []
        flags = [flag.value for flag in FlagColour]
        if params.get("flag") not in flags:
            messages.append(
                f"add_remark flag must be one of {', '.join(flags)}, not {params.get('flag')!r}"
            )
        if not _is_text(params.get("text")):
            messages.append("add_remark needs a non-empty 'text'")
        return messages
    if kind == "open_case":
        categories = [category.value for category in CaseCategory]
        if params.get("category") not in categories:
            return [
                f"open_case category must be one of the case register's categories "
                f"({', '.join(categories)}), not {params.get('category')!r}"
            ]
        return []
    groups = [group.value for group in Group]
    if params.get("group") not in groups:
        return [f"transfer group must be one of {', '.join(groups)}, not {params.get('group')!r}"]
    return []


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_line(value: object) -> bool:
    return _is_text(value) and "\n" not in str(value)
