"""The widget endpoint's guards: it is public, and anyone may call it.

* :class:`RateLimiter`: token buckets per key (an address, a session), in bounded
  memory: idle buckets are forgotten, and only so many keys are tracked at all.
* :class:`Concurrency`: how many long-polls one key holds at once.
* :class:`ProofOfWork`: the step-up asked of an address opening sessions too fast.
  The challenge is signed, so the server keeps nothing until a solution comes back;
  a solved challenge is remembered (in a bounded set) until it expires, so it is
  good once.
* :class:`Cors`: which pages may call the endpoint from a browser.

The client's address is ``request.client.host``, the peer of the TCP connection.
``X-Forwarded-For`` is not read: any client can write it, and no setting says which
proxy in front of the server may be believed. Behind a proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so that the peer it reports is the client.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

#: What the preflight answers allow (the contract's).
ALLOW_METHODS = "GET, POST, PUT"
ALLOW_HEADERS = "authorization, content-type"
PREFLIGHT_MAX_AGE = "600"


def client_address(request: Request) -> str:
    """The peer's address (see the module's note on ``X-Forwarded-For``)."""
    return request.client.host if request.client is not None else "unknown"


# --- rate limits ------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets: ``capacity`` requests at once, refilled at ``per_second``.

    Args:
        capacity: The burst a fresh key may make.
        per_second: The rate it refills at.
        max_keys: How many keys are tracked at most; past it the least recently used
            is forgotten (it starts again with a full bucket: a flood of fresh keys
            costs memory nowhere).
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        capacity: float,
        per_second: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(capacity)
        self.per_second = float(per_second)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @classmethod
    def per_minute(cls, count: int, *, max_keys: int = 100_000) -> RateLimiter:
        """``count`` a minute, all of them at once if need be."""
        return cls(count, count / 60.0, max_keys=max_keys)

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[key] = bucket
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.per_second)
            bucket.at = now
            self._buckets.move_to_end(key)
        return bucket

    def _forget_idle(self, now: float) -> None:
        # The least recently used first: a bucket that has filled up again is the same
        # as no bucket, so it goes. A few per call keeps the cost flat.
        full_after = self.capacity / self.per_second if self.per_second > 0 else math.inf
        for _ in range(4):
            if not self._buckets:
                return
            key, bucket = next(iter(self._buckets.items()))
            if now - bucket.at < full_after and len(self._buckets) <= self.max_keys:
                return
            del self._buckets[key]

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` from ``key``'s bucket: 0.0 if allowed, else the seconds until
        it would be (nothing spent then)."""
        now = self._clock()
        bucket = self._refilled(key, now)
        self._forget_idle(now)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        if self.per_second <= 0:
            return math.inf
        return (cost - bucket.tokens) / self.per_second

    def peek(self, key: str, cost: float = 1.0) -> bool:
        """Whether ``take(key, cost)`` would be allowed now (nothing spent)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return cost <= self.capacity
        tokens = bucket.tokens + (self._clock() - bucket.at) * self.per_second
        return min(self.capacity, tokens) >= cost


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    if not math.isfinite(seconds):
        return "3600"
    return str(max(1, math.ceil(seconds)))


class Concurrency:
    """How many of something (long-polls) each key holds at once, at most ``limit``.
    Keys at zero are dropped, so memory follows what is running."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        """Take a place for ``key``; False when it holds ``limit`` already."""
        held = self._held.get(key, 0)
        if held >= self.limit:
            return False
        self._held[key] = held + 1
        return True

    def release(self, key: str) -> None:
        """Give a place back."""
        held = self._held.get(key, 0) - 1
        if held > 0:
            self._held[key] = held
        else:
            self._held.pop(key, None)

    def held(self, key: str) -> int:
        """How many places ``key`` holds."""
        return self._held.get(key, 0)


# --- proof of work ----------------------------------------------------------------


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits ``digest`` starts with."""
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def pow_digest(challenge: str, nonce: str) -> bytes:
    """sha256(challenge + ":" + nonce)."""
    return hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()


def solve_pow(challenge: str, bits: int) -> str:
    """The first decimal nonce whose digest has ``bits`` leading zero bits (what the
    widget script does; pure Python, for tests and the demo's simulator)."""
    prefix = hashlib.sha256(f"{challenge}:".encode())
    nonce = 0
    while True:
        attempt = prefix.copy()
        attempt.update(str(nonce).encode())
        if leading_zero_bits(attempt.digest()) >= bits:
            return str(nonce)
        nonce += 1


class ProofOfWork:
    """Signed, stateless challenges, each good for one solution within ``ttl_s``.

    A challenge is hex: 16 random bytes, the issue time (8 bytes) and 16 bytes of an
    HMAC over both, so the server can check it made it without remembering it.
    """

    def __init__(
        self,
        bits: int,
        *,
        secret: bytes | None = None,
        ttl_s: float = 300.0,
        max_used: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bits = bits
        self.ttl_s = ttl_s
        self.max_used = max_used
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock
        # Solved challenges until they expire, oldest first.
        self._used: OrderedDict[str, float] = OrderedDict()

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:16]

    def challenge(self) -> str:
        """A new challenge."""
        body = secrets.token_bytes(16) + int(self._clock()).to_bytes(8, "big")
        return (body + self._mac(body)).hex()

    def verify(self, challenge: object, nonce: object) -> bool:
        """Whether ``nonce`` solves a live challenge of ours not solved before (and if
        so, it is spent)."""
        if not isinstance(challenge, str) or not isinstance(nonce, str):
            return False
        if len(challenge) != 80 or not nonce.isascii() or not nonce.isdigit() or len(nonce) > 20:
            return False
        try:
            raw = bytes.fromhex(challenge)
        except ValueError:
            return False
        body, mac = raw[:24], raw[24:]
        if not hmac.compare_digest(self._mac(body), mac):
            return False
        now = self._clock()
        issued = int.from_bytes(body[16:], "big")
        if not issued - 5 <= now <= issued + self.ttl_s:
            return False
        self._forget_expired(now)
        if challenge in self._used:
            return False
        if leading_zero_bits(pow_digest(challenge, nonce)) < self.bits:
            return False
        if len(self._used) >= self.max_used:
            # Full of live ones: the oldest goes (it expires soonest anyway).
            self._used.popitem(last=False)
        self._used[challenge] = issued + self.ttl_s
        return True

    def _forget_expired(self, now: float) -> None:
        while self._used:
            challenge, until = next(iter(self._used.items()))
            if until >= now:
                return
            del self._used[challenge]


# --- CORS -------------------------------------------------------------------------


def _normal_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` lower-cased, the scheme's default port dropped; None
    for anything else (``null``, a path, junk)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host or parts.path or parts.query:
        return None
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class Cors:
    """Which origins may call the endpoint: the configured ones and the server's own."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self._allowed = {o for o in (_normal_origin(x) for x in allowed) if o is not None}

    def own_origins(self, request: Request) -> set[str]:
        """The server's own origin as the request reaches it (by its ``Host``). Both
        schemes: behind a TLS proxy the server itself sees plain HTTP, and a page of
        the same host is the server's own either way."""
        host = request.headers.get("host", "")
        found: set[str] = set()
        for scheme in ("http", "https"):
            normal = _normal_origin(f"{scheme}://{host}") if host else None
            if normal is not None:
                found.add(normal)
        return found

    def origin_allowed(self, request: Request) -> bool:
        """Whether the request's ``Origin`` (if any) may call. No ``Origin``: not a
        cross-origin browser request (a same-origin GET, a script, curl), allowed; the
        bearer token is what protects the data, never the origin."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        normal = _normal_origin(origin)
        if normal is None:
            return False
        return normal in self._allowed or normal in self.own_origins(request)

    @staticmethod
    def headers(request: Request) -> dict[str, str]:
        """The CORS headers for an allowed request (its ``Origin`` echoed)."""
        origin = request.headers.get("origin")
        found = {"Vary": "Origin"}
        if origin is not None:
            found["Access-Control-Allow-Origin"] = origin
        return found

    @staticmethod
    def preflight_headers(request: Request) -> dict[str, str]:
        """The headers of an allowed preflight's answer."""
        return Cors.headers(request) | {
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        }
