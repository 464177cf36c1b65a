"""Every key of every focus area and dialog, on the demo shop, at three sizes, in two
languages. What is pressed is read from the running console (see ``walker.py``)."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from cs_console import cli
from cs_console.ui.keys import effective_keys
from cs_console.ui.screens.new_activity import NewActivityScreen
from cs_console.ui.screens.search import SearchScreen
from cs_console.ui.widgets.composer import REPLY
from tests.acceptance.shop import DemoShop, demo_app, demo_settings, demo_shop
from tests.acceptance.walker import (
    Stage,
    Walker,
    WalkLog,
    binding_ids,
    dialog_classes,
)
from tests.ui_support import composer, thread_view, type_text, wait_until, workspace

SIZES = [(160, 45), (100, 30), (80, 24)]
LANGUAGES = ["en", "zh-CN"]
CASES = [
    pytest.param(size, language, id=f"{size[0]}x{size[1]}-{language}")
    for size in SIZES
    for language in LANGUAGES
]

#: How a binding id looks in the output of ``cs-console keys``.
BINDING_ID = re.compile(r"[a-z_]+\.[a-z_]+")
#: What the walk types in the composer before pressing its editing keys.
TYPED = "walk the keys"


# --- the stages of a walk, in order --------------------------------------------------


async def shift_start(walker: Walker) -> None:
    """The previous shift's handover, shown on start."""
    await walker.shift_start()


async def everywhere(walker: Walker) -> None:
    """The workspace's and the app's keys, from the queue (quit comes last)."""
    if await walker.focus_area("queue"):
        keys = walker.workspace_keys(exclude={"app.quit"})
        await walker.press_in_area("queue", keys, where="workspace")


async def queue_keys(walker: Walker) -> None:
    """The queue's keys."""
    await area(walker, "queue")


async def thread_keys(walker: Walker) -> None:
    """The thread's keys."""
    await area(walker, "thread")


async def orders_keys(walker: Walker) -> None:
    """The order list's keys."""
    await area(walker, "orders")


async def history_keys(walker: Walker) -> None:
    """The customer history's keys, on a returning customer (李晓雯 has a chat from a
    month ago), found the way an agent would: Ctrl+F, her name in pinyin, Enter."""
    await walker.to_workspace()
    pilot = walker.pilot
    await pilot.press("ctrl+f")
    await wait_until(pilot, lambda: isinstance(walker.app.screen, SearchScreen), what="search")
    await type_text(pilot, "lixiaowen")  # her name in pinyin

    def found() -> bool:
        screen = walker.app.screen
        return isinstance(screen, SearchScreen) and bool(screen.results and screen.hits)

    await wait_until(pilot, found, what="the search's hits")
    await pilot.press("enter")
    await wait_until(
        pilot, lambda: workspace(walker.app).open_id == "conv-001", what="her conversation"
    )
    await area(walker, "history")


async def area(walker: Walker, name: str) -> None:
    if await walker.focus_area(name):
        await walker.press_in_area(name, walker.area_keys())


async def composer_keys(walker: Walker) -> None:
    """The composer's bindings, and the keys it handles itself: ``/`` on an empty
    composer, the quick-reply keys it holds now, Tab, newline and send."""
    if not await walker.focus_area("composer"):
        return
    box = composer(walker.app)
    if not box.text:
        await walker.press_from("composer", "slash", where="composer")
    if not await walker.focus_area("composer"):
        return
    for character in TYPED:
        await walker.press("composer", character)
    await walker.press_in_area("composer", walker.area_keys())
    extras = sorted(box.reply_keys)
    extras += ["tab", "alt+enter", box.newline_key, box.send_key]
    await walker.press_in_area("composer", extras)


async def send_safety(walker: Walker, shop: DemoShop) -> None:
    """The customer writes while the agent types: Enter shows what arrived first."""
    count = 0

    async def customer_writes_while_agent_types() -> bool:
        nonlocal count
        await walker.to_workspace()
        if not await walker.focus_area("composer"):
            return False
        box = composer(walker.app)
        if box.mode != REPLY:
            await walker.press("composer", "ctrl+n")  # notes skip the check
        if box.text:
            # What the composer walk left there (quick replies with blanks to fill).
            await walker.press("composer", "ctrl+a")  # select all
            await walker.press("composer", "backspace")
        for character in "still there":
            await walker.press("composer", character)
        conversation_id = workspace(walker.app).open_id
        if conversation_id is None:
            walker.fail("no conversation is open for the send-safety check")
            return False
        count += 1
        body = f"hello again ({count})"
        shop.state.add_customer_message(conversation_id, body)
        try:
            await wait_until(
                walker.pilot,
                lambda: any(m.body == body for m in thread_view(walker.app).messages),
                what="the customer's new message in the thread",
            )
        except AssertionError as exc:
            walker.fail(str(exc))
            return False
        await walker.press("composer", box.send_key)
        return isinstance(walker.app.screen, NewActivityScreen)

    if not await customer_writes_while_agent_types():
        walker.fail("sending while the customer wrote did not show what arrived")
        return
    await walker.enter_dialog("composer:send", customer_writes_while_agent_types, depth=1)


def stages(shop: DemoShop) -> list[Stage]:
    """The walk, in order."""

    async def safety(walker: Walker) -> None:
        await send_safety(walker, shop)

    return [
        shift_start,
        everywhere,
        queue_keys,
        thread_keys,
        composer_keys,
        orders_keys,
        history_keys,
        safety,
    ]


async def walk(
    directory: Path,
    size: tuple[int, int],
    language: str,
    *,
    simulate: bool = False,
) -> WalkLog:
    """One walk on a fresh demo shop; the simulator's customers write between keys."""
    with demo_shop(directory) as shop:
        settings = demo_settings(directory / "client", shop, language=language)
        simulator = shop.simulator() if simulate else None
        walker = Walker(
            lambda: demo_app(shop, settings),
            size=size,
            between_keys=simulator.step if simulator is not None else None,
        )
        try:
            return await walker.run(stages(shop), last=Walker.quit)
        finally:
            if simulator is not None:
                simulator.client.close()


#: Walks done in this session, by case id: the coverage test reads the 160x45 one.
_WALKS: dict[str, WalkLog] = {}


async def walk_once(directory: Path, size: tuple[int, int], language: str) -> WalkLog:
    """The walk for this size and language, done once per test session."""
    case = f"{size[0]}x{size[1]}-{language}"
    if case not in _WALKS:
        _WALKS[case] = await walk(directory, size, language)
    return _WALKS[case]


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "language"), CASES)
async def test_every_key(tmp_path: Path, size: tuple[int, int], language: str) -> None:
    log = await walk_once(tmp_path, size, language)
    if log.failures:
        pytest.fail(f"{log.summary()}:\n{log.report()}", pytrace=False)


async def test_every_key_while_customers_write(tmp_path: Path) -> None:
    log = await walk(tmp_path, (160, 45), "en", simulate=True)
    if log.failures:
        pytest.fail(f"{log.summary()}:\n{log.report()}", pytrace=False)


def cli_binding_ids(home: Path) -> set[str]:
    """The binding ids ``cs-console keys`` prints."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["--home", str(home), "keys"])
    assert code == 0, out.getvalue()
    ids: set[str] = set()
    for line in out.getvalue().splitlines():
        ids.update(word for word in line.split() if BINDING_ID.fullmatch(word))
    return ids


async def test_the_walk_presses_every_binding(tmp_path: Path) -> None:
    printed = cli_binding_ids(tmp_path / "cli")
    assert printed == {binding_id for _a, binding_id, _k, _d in effective_keys({})}
    log = await walk_once(tmp_path, (160, 45), "en")

    missing = sorted(printed - log.pressed_ids)
    assert not missing, f"`cs-console keys` lists ids the walk never pressed: {missing}"
    dialogs = {cls.__name__: cls for cls in dialog_classes()}
    unopened = sorted(set(dialogs) - log.dialogs)
    assert not unopened, f"dialogs no key of the walk opened: {unopened}"
    unpressed = {
        name: sorted(binding_ids(cls) - log.pressed_ids)
        for name, cls in dialogs.items()
        if binding_ids(cls) - log.pressed_ids
    }
    assert not unpressed, f"dialog keys the walk never pressed: {unpressed}"
