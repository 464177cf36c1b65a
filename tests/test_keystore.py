"""Tokens in the OS keyring: found at start-up, stored by `cs-console token set`, never
shown, and a machine without a keyring is told what to do instead."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as NoKeyring

from cs_console.cli import main
from cs_console.settings import load_settings

URL = "https://cs.example.com"


class MemoryKeyring(KeyringBackend):
    """A real keyring backend (the interface the OS ones implement), kept in memory."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())  # type: ignore[no-untyped-call]
    yield
    keyring.set_keyring(before)


def env_for(home: Path) -> dict[str, str]:
    return {"CS_CONSOLE_HOME": str(home), "CS_CONSOLE_BACKEND_URL": URL}


def test_token_set_stores_it_and_start_up_finds_it(
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CS_CONSOLE_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("tok-123\n"))
    assert main(["token", "set"]) == 0
    out = capsys.readouterr().out
    assert "MemoryKeyring" in out
    assert "tok-123" not in out
    settings = load_settings(env=env_for(tmp_path))
    assert settings.token is not None
    assert settings.token.reveal() == "tok-123"
    assert "tok-123" not in repr(settings)
    # The environment still wins over the keyring.
    settings = load_settings(env={**env_for(tmp_path), "CS_CONSOLE_TOKEN": "from-env"})
    assert settings.token is not None
    assert settings.token.reveal() == "from-env"
    assert main(["token", "clear"]) == 0
    assert load_settings(env=env_for(tmp_path)).token is None


def test_a_config_file_address_is_looked_up_too(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    (tmp_path / "config.toml").write_text(
        f'[backend]\nurl = "{URL}"\n[orders]\nkind = "vendure"\nurl = "https://shop.example.com"\n',
        encoding="utf-8",
    )
    memory_keyring.set_password("cs-console", URL, "chat-token")
    memory_keyring.set_password("cs-console", "https://shop.example.com", "shop-key")
    settings = load_settings(env={"CS_CONSOLE_HOME": str(tmp_path)})
    assert settings.token is not None
    assert settings.token.reveal() == "chat-token"
    assert settings.orders_token is not None
    assert settings.orders_token.reveal() == "shop-key"


def test_no_keyring_here_says_what_to_do(
    tmp_path: Path,
    no_keyring: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.stdin", io.StringIO("tok-123\n"))
    assert main(["token", "set"]) == 1
    err = capsys.readouterr().err
    assert "no OS keyring" in err
    assert "token_file" in err
    assert load_settings(env=env_for(tmp_path)).token is None  # looked up, found nothing
