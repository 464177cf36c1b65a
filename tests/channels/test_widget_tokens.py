"""The widget's signed sessions, key file and rotation; the shop's signed identities;
the guards' own rules (buckets in bounded memory, proof of work); the CLI."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from cs_console.cli import main
from cs_console.server.channels import widget_tokens as wt
from cs_console.server.channels.guard import (
    Concurrency,
    ProofOfWork,
    RateLimiter,
    leading_zero_bits,
    pow_digest,
    retry_after,
    solve_pow,
)

SECRET = b"0123456789abcdef-shop-secret"


# --- session tokens -------------------------------------------------------------------


def test_a_token_verifies_under_its_key_and_says_its_visitor() -> None:
    keys = wt.WidgetKeys.ephemeral()
    token = keys.issue("vis-abc", 2_000_000_000)
    version, visitor, expires, key_id, _ = token.split(".")
    assert (version, visitor, expires, key_id) == ("v1", "vis-abc", "2000000000", keys.current.id)
    assert keys.verify(token) == wt.Session("vis-abc", 2_000_000_000, keys.current.id)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: t.replace("vis-abc", "vis-abd"),  # visitor
        lambda t: t.replace("2000000000", "2000000001"),  # expiry
        lambda t: "v2" + t[2:],
        lambda t: t + ".x",
        lambda t: t.rpartition(".")[0],
        lambda t: t + "=" * 300,
        lambda t: "",
    ],
)
def test_any_change_to_a_token_breaks_it(change: object) -> None:
    keys = wt.WidgetKeys.ephemeral()
    token = keys.issue("vis-abc", 2_000_000_000)
    assert keys.verify(change(token)) is None  # type: ignore[operator]


def test_another_servers_keys_do_not_verify() -> None:
    token = wt.WidgetKeys.ephemeral().issue("vis-abc", 2_000_000_000)
    assert wt.WidgetKeys.ephemeral().verify(token) is None


def test_the_key_file_is_made_owner_only_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "home" / "widget-secret"
    made = wt.WidgetKeys.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = wt.WidgetKeys.load_or_create(path)
    assert again.keys == made.keys
    assert again.verify(made.issue("vis-1", 2_000_000_000)) is not None


def test_servers_starting_at_once_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "widget-secret"
    found: list[wt.WidgetKeys] = []
    threads = [
        threading.Thread(target=lambda: found.append(wt.WidgetKeys.load_or_create(path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({keys.current.id for keys in found}) == 1


def test_rotation_keeps_the_previous_key_for_checking(tmp_path: Path) -> None:
    path = tmp_path / "widget-secret"
    first = wt.WidgetKeys.load_or_create(path)
    old = first.issue("vis-1", 2_000_000_000)
    rotated = wt.rotate(path)
    assert rotated.current.id != first.current.id
    assert rotated.verify(old) is not None
    assert rotated.verify(rotated.issue("vis-1", 2_000_000_000)).key_id == rotated.current.id  # type: ignore[union-attr]
    assert path.stat().st_mode & 0o777 == 0o600
    assert wt.WidgetKeys.load(path).keys == rotated.keys
    assert wt.rotate(path).verify(old) is None  # two rotations later (keep=2): gone
    assert len(wt.rotate(path, keep=3).keys) == 3


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b'{"keys": []}',
        b'{"keys": [{"id": "xyz", "secret": "AAAA"}]}',
        b'{"keys": [{"id": "0000abcd", "secret": "short"}]}',
        b'{"keys": ["x"]}',
    ],
)
def test_a_broken_key_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "widget-secret"
    path.write_bytes(content)
    with pytest.raises(wt.WidgetKeyError, match="widget"):
        wt.WidgetKeys.load_or_create(path)


def test_a_running_server_picks_up_a_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wt.KeyFile, "CHECK_EVERY_S", 0.0)
    path = tmp_path / "widget-secret"
    held = wt.KeyFile(path)
    before = held.keys().current.id
    time.sleep(0.01)
    rotated = wt.rotate(path)
    assert held.keys().current.id == rotated.current.id != before
    path.write_bytes(b"broken")  # a broken file keeps the keys in hand
    assert held.keys().current.id == rotated.current.id
    assert wt.KeyFile(None).keys().current.id  # in memory only


# --- signed identities ----------------------------------------------------------------


def test_a_signed_identity_gives_its_contact() -> None:
    value = wt.sign_identity(
        SECRET,
        {
            "email": "Alice@Example.com",
            "phone": "+84 90 000",
            "name": "Alice\x1b[31m",
            "orders": ["SO-1001", "SO-1002"],
        },
    )
    contact = wt.verify_identity(SECRET, value, time.time(), language="vi")
    assert contact.email == "Alice@Example.com"
    assert contact.phone == "+84 90 000"
    assert "\x1b" not in contact.name
    assert contact.order_numbers == ("SO-1001", "SO-1002")
    assert contact.language == "vi"


def test_the_signature_is_hmac_sha256_of_the_payload_text() -> None:
    import base64
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(
        json.dumps({"email": "a@b.co", "exp": 4_000_000_000}).encode()
    ).decode()  # padded, as some shops' libraries make it
    signature = base64.urlsafe_b64encode(
        hmac.new(SECRET, payload.encode(), hashlib.sha256).digest()
    ).decode()
    contact = wt.verify_identity(SECRET, f"{payload}.{signature}", time.time())
    assert contact.email == "a@b.co"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"email": "a@b.co", "exp": 1}, "expired"),
        ({"email": "a@b.co", "exp": "soon"}, "exp"),
        ({"email": "a@b.co", "exp": True}, "exp"),
        ({"name": "nobody"}, "required"),
        ({"email": "x" * 255}, "email"),
        ({"email": 5}, "email"),
        ({"email": "a@b.co", "name": "n" * 201}, "name"),
        ({"email": "a@b.co", "orders": "SO-1"}, "orders"),
        ({"email": "a@b.co", "orders": ["x"] * 21}, "orders"),
        ({"email": "a@b.co", "orders": ["x" * 65]}, "orders"),
        ({"email": "a@b.co", "orders": [1]}, "orders"),
    ],
)
def test_identities_out_of_bounds_are_refused(fields: dict[str, object], reason: str) -> None:
    value = wt.sign_identity(SECRET, fields)
    with pytest.raises(wt.IdentityError, match=reason):
        wt.verify_identity(SECRET, value, time.time())


@pytest.mark.parametrize(
    "value",
    ["", ".", "abc", "abc.", ".abc", "a.b.c", "é.é", "x" * 5000, "e30.e30"],
)
def test_malformed_identities_are_refused(value: str) -> None:
    with pytest.raises(wt.IdentityError):
        wt.verify_identity(SECRET, value, time.time())


def test_an_identity_signed_with_another_secret_is_refused() -> None:
    value = wt.sign_identity(b"another secret, just as long", {"email": "a@b.co"})
    with pytest.raises(wt.IdentityError, match="signature"):
        wt.verify_identity(SECRET, value, time.time())


def test_a_short_identity_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"short\n")
    with pytest.raises(wt.IdentityError, match="shorter"):
        wt.read_identity_secret(path)
    path.write_bytes(SECRET + b"\n")
    assert wt.read_identity_secret(path) == SECRET


# --- the guards' rules -----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    clock = FakeClock()
    assert RateLimiter.per_minute(3).per_second == pytest.approx(3 / 60)
    limiter = RateLimiter(3, 3 / 60, max_keys=10, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert wait == pytest.approx(20.0)
    assert retry_after(wait) == "20"
    assert limiter.take("b") == 0.0  # another key has its own
    clock.now += 20
    assert limiter.take("a") == 0.0


def test_buckets_live_in_bounded_memory() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 1.0, max_keys=100, clock=clock)
    for index in range(10_000):
        limiter.take(f"addr-{index}")
    assert len(limiter) <= 101
    clock.now += 60  # all idle: full again, forgotten as keys come and go
    for index in range(50):
        limiter.take(f"late-{index}")
    assert len(limiter) <= 101


def test_concurrency_holds_at_most_its_limit_and_forgets_zeroes() -> None:
    gate = Concurrency(2)
    assert gate.acquire("s")
    assert gate.acquire("s")
    assert not gate.acquire("s")
    gate.release("s")
    assert gate.acquire("s")
    gate.release("s")
    gate.release("s")
    assert gate.held("s") == 0


def test_proof_of_work_challenges_are_signed_timed_and_good_once() -> None:
    clock = FakeClock()
    pow_ = ProofOfWork(8, ttl_s=300, clock=clock)
    challenge = pow_.challenge()
    nonce = solve_pow(challenge, 8)
    assert leading_zero_bits(pow_digest(challenge, nonce)) >= 8
    assert pow_.verify(challenge, nonce)
    assert not pow_.verify(challenge, nonce)  # spent
    other = ProofOfWork(8, clock=clock).challenge()
    assert not pow_.verify(other, solve_pow(other, 8))  # not ours
    late = pow_.challenge()
    clock.now += 301
    assert not pow_.verify(late, solve_pow(late, 8))  # stale
    for junk in (None, 5, "zz" * 40, "ab"):
        assert not pow_.verify(junk, "1")
    assert not pow_.verify(pow_.challenge(), "-1")


def test_leading_zero_bits() -> None:
    assert leading_zero_bits(b"\x00\x00\x80") == 16
    assert leading_zero_bits(b"\x00\x01") == 15
    assert leading_zero_bits(b"\xff") == 0
    assert leading_zero_bits(b"\x00") == 8


# --- the command line ---------------------------------------------------------------------


def test_cli_rotates_the_key_file_of_the_servers_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "server.toml").write_text('[channels.widget]\nsecret_file = "keys/w"\n')
    (tmp_path / "keys").mkdir()
    first = wt.WidgetKeys.load_or_create(tmp_path / "keys" / "w")
    assert main(["widget", "rotate-secret", "--home", str(tmp_path)]) == 0
    after = wt.WidgetKeys.load(tmp_path / "keys" / "w")
    assert after.current.id != first.current.id
    assert [k.id for k in after.keys][1] == first.current.id
    assert after.current.id in capsys.readouterr().out


def test_cli_signs_an_identity_the_server_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["widget", "sign-identity", "--home", str(tmp_path), "--email", "a@b.co"]) == 2
    assert "identity_secret_file" in capsys.readouterr().err
    (tmp_path / "id-secret").write_bytes(SECRET + b"\n")
    (tmp_path / "server.toml").write_text('[channels.widget]\nidentity_secret_file = "id-secret"\n')
    code = main(
        [
            "widget",
            "sign-identity",
            "--home",
            str(tmp_path),
            "--email",
            "a@b.co",
            "--name",
            "Ann",
            "--order",
            "SO-1",
            "SO-2",
            "--minutes",
            "5",
        ]
    )
    assert code == 0
    value = capsys.readouterr().out.strip()
    contact = wt.verify_identity(SECRET, value, time.time())
    assert (contact.email, contact.name, contact.order_numbers) == (
        "a@b.co",
        "Ann",
        ("SO-1", "SO-2"),
    )
    with pytest.raises(wt.IdentityError, match="expired"):
        wt.verify_identity(SECRET, value, time.time() + 301)
