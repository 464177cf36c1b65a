"""`cs-console --web`: the same console served to a browser on 127.0.0.1.

A real server process; the test plays the browser: it loads the page, opens the
websocket the page would open, and reads the console's first screen from it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from tests.harness import free_port


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_CONSOLE_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cs_console",
            "--home",
            str(tmp_path),
            "--web",
            "--web-port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError(f"--web did not answer: {process.communicate()[0]!r}")
    yield url, process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_the_page_points_at_a_websocket_on_loopback(
    web_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, _ = web_server
    page = httpx.get(url + "/", timeout=5).text
    assert "ws://127.0.0.1:" in page
    assert "cs-console" in page


def test_the_websocket_runs_the_console(web_server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = web_server

    async def first_screen() -> bytes:
        seen = b""
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url.replace("http", "ws") + "/ws?width=120&height=40") as ws,
        ):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and b"Queue" not in seen:
                try:
                    message = await ws.receive(timeout=2)
                except TimeoutError:
                    continue
                if message.type == aiohttp.WSMsgType.BINARY:
                    seen += message.data
                elif message.type == aiohttp.WSMsgType.TEXT:
                    seen += message.data.encode()
                else:
                    break
        return seen

    screen = asyncio.run(first_screen())
    assert b"Queue" in screen  # the workspace, drawn for the browser
