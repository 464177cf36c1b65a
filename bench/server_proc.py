"""The reference server as the cases run it: ``cs-console serve`` in its own process on
a free loopback port, over a database the case prepared.

A process of its own rather than a thread of the benchmark: in one process the
server and the client under test would take turns on one interpreter lock, and the
numbers would be the sum of both instead of what a client sees.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.cases_startup import clean_env

START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_argv(db_url: str, port: int) -> list[str]:
    """``cs-console serve`` from this interpreter's environment."""
    script = Path(sys.executable).with_name("cs-console")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "cs_console"]
    return [*head, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db_url]


@contextlib.contextmanager
def running_server(db_url: str, workdir: Path) -> Iterator[str]:
    """Serve ``db_url`` until the block ends; yields the base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            serve_argv(db_url, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(CS_CONSOLE_HOME=str(workdir)),
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped; see {log_path}")
            try:
                if httpx.get(url + "/health", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start in time; see {log_path}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
