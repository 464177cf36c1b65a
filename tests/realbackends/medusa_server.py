"""A real Medusa 2.21.2 on a private PostgreSQL cluster, seeded over its Admin API.

Steps (each timed, logged, and bounded by a timeout): check the tools, install the
Node project of ``tests/realbackends/medusa`` into a cache folder outside the repository
(``$CS_REAL_BACKENDS_CACHE/medusa``, default ``~/.cache/cs-console/realbackends/medusa``;
re-used while ``package.json`` is unchanged), ``initdb`` and
start a cluster on a free 127.0.0.1 port (as the ``postgres`` user when we are root:
PostgreSQL refuses to run as root), ``medusa db:migrate``, an admin user, ``medusa
start``, then the shop over the Admin and Store APIs: region, stock location with a
fulfilment set and service zone, outbound and return shipping options, a product, a
publishable key, orders placed by store checkout in several states, and a secret API
key for the console.

Any step that fails raises :class:`SetupFailed` naming the step with the tail of its
output; the fixture turns that into a failure when ``CS_REAL_BACKENDS=required`` and
into a skip otherwise.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

PROJECT = Path(__file__).parent / "medusa"
#: No lockfile: one written here by npm 11 lacks the other platforms' optional
#: ``@msgpackr-extract`` packages, and ``npm ci`` then refuses it.
PROJECT_FILES = ("package.json",)
INSTALL_TIMEOUT_S = 420.0
MIGRATE_TIMEOUT_S = 180.0
START_TIMEOUT_S = 120.0
STEP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
#: Medusa's own data is thrown away with the cluster: no need to wait for a clean exit.
MEDUSA_GRACE_S = 3.0
PG_SEARCH = ("/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql")
PG_USER = "postgres"
ADMIN_EMAIL = "admin@cs-console.test"
ADMIN_PASSWORD = "medusa-test-password"
CURRENCY = "eur"


class SetupFailed(Exception):
    """The real Medusa could not be set up; says which step and why."""

    def __init__(self, step: str, reason: str, output: str = "") -> None:
        lines = output.strip().splitlines()
        # npm puts the cause first and its usage text last: keep both ends.
        if len(lines) > 30:
            lines = [*lines[:8], "...", *lines[-20:]]
        tail = "\n".join(lines)
        super().__init__(
            f"Medusa set-up failed at '{step}': {reason}" + (f"\n{tail}" if tail else "")
        )
        self.step = step


@contextlib.contextmanager
def timed(step: str, timings: dict[str, float]) -> Iterator[None]:
    """Log how long ``step`` took, and record it."""
    started = time.monotonic()
    try:
        yield
    finally:
        timings[step] = round(time.monotonic() - started, 2)
        log.warning("medusa set-up: %s took %.1f s", step, timings[step])


def cache_root() -> Path:
    """Where the installed Node project is kept between runs."""
    base = os.environ.get("CS_REAL_BACKENDS_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "cs-console" / "realbackends"
    return root / "medusa"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(
    step: str,
    argv: list[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise SetupFailed(step, f"no result after {timeout:.0f} s", out) from None
    except OSError as exc:
        raise SetupFailed(step, f"cannot run {argv[0]}: {exc}") from None
    if done.returncode != 0:
        raise SetupFailed(step, f"exit status {done.returncode}", done.stdout + done.stderr)
    return done.stdout


def _pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for folder in PG_SEARCH:
        for candidate in sorted(Path(folder).glob(f"**/{name}"), reverse=True):
            if os.access(candidate, os.X_OK):
                return str(candidate)
    raise SetupFailed("check tools", f"no `{name}` on PATH or in {', '.join(PG_SEARCH)}")


def _as_pg_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise SetupFailed("check tools", "running as root and no `runuser` to drop to postgres")
    return [runuser, "-u", PG_USER, "--", *argv]


def check_tools() -> None:
    """Node.js 20+, npm and PostgreSQL's server binaries."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise SetupFailed("check tools", f"`{tool}` is not installed")
    version = _run("check tools", ["node", "--version"], timeout=STEP_TIMEOUT_S).strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 20:
        raise SetupFailed("check tools", f"Medusa 2 needs Node.js 20 or later, found {version}")
    _pg_binary("initdb")
    _pg_binary("pg_ctl")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            raise SetupFailed("check tools", f"running as root and no `{PG_USER}` user") from None


def _project_hash() -> str:
    digest = hashlib.sha256()
    for name in PROJECT_FILES:
        digest.update(name.encode() + b"\0" + (PROJECT / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _node_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MEDUSA_DISABLE_TELEMETRY": "true",
            "NODE_ENV": "development",
            "npm_config_audit": "false",
            "npm_config_fund": "false",
            "npm_config_update_notifier": "false",
        }
    )
    env.update(extra or {})
    return env


def install() -> Path:
    """The installed project for the current ``package.json``: from the cache, or
    installed with ``npm install`` (other versions are removed: each takes ~680 MB)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / _project_hash()
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions must not install at once
        if (target / ".complete").exists():
            return target
        staging = root / f"{target.name}.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for name in PROJECT_FILES:
            shutil.copy2(PROJECT / name, staging / name)
        _run(
            "npm install",
            ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
            cwd=staging,
            timeout=INSTALL_TIMEOUT_S,
            env=_node_env(),
        )
        (staging / ".complete").write_text("ok\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        for other in root.iterdir():
            if other.is_dir() and other != target:
                shutil.rmtree(other, ignore_errors=True)
        return target


@dataclass
class Cluster:
    """A private PostgreSQL cluster."""

    folder: Path
    port: int

    @property
    def url(self) -> str:
        # The cluster's own ``postgres`` database: the cluster is Medusa's alone, and
        # this spares a ``createdb`` (not installed everywhere the server is).
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop it fast (the data is thrown away)."""
        subprocess.run(
            _as_pg_user(
                [
                    _pg_binary("pg_ctl"),
                    "-D",
                    str(self.folder / "data"),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ]
            ),
            capture_output=True,
            timeout=STOP_TIMEOUT_S * 2,
            check=False,
        )


def start_cluster(folder: Path, timings: dict[str, float]) -> Cluster:
    """``initdb`` and ``pg_ctl start`` on a free port."""
    if os.geteuid() == 0:
        os.chown(folder, pwd.getpwnam(PG_USER).pw_uid, pwd.getpwnam(PG_USER).pw_gid)
    data = folder / "data"
    port = free_port()
    with timed("initdb", timings):
        _run(
            "initdb",
            _as_pg_user(
                [
                    _pg_binary("initdb"),
                    "-D",
                    str(data),
                    "-U",
                    PG_USER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            timeout=STEP_TIMEOUT_S,
        )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
    )
    with timed("pg_ctl start", timings):
        _run(
            "pg_ctl start",
            _as_pg_user(
                [
                    _pg_binary("pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(folder / "pg.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            timeout=STEP_TIMEOUT_S + 10,
        )
    return Cluster(folder, port)


@dataclass
class MedusaProcess:
    """``medusa start`` running in its own process group."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str

    def output_tail(self) -> str:
        """The end of the server's output, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the group, SIGKILL after a grace period; then SIGKILL whatever is left
        of the group (``medusa start`` runs the server in a child process, which can
        outlive its parent and write into the folder being removed)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(MEDUSA_GRACE_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(STOP_TIMEOUT_S)
        # A zombie also counts as alive here, and not every container reaps them: short.
        deadline = time.monotonic() + 2.0
        while _group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_project(installed: Path, workdir: Path, database_url: str) -> Path:
    """A per-session project folder: our config, a ``.env``, the cached ``node_modules``."""
    project = workdir / "project"
    project.mkdir()
    shutil.copy2(PROJECT / "medusa-config.js", project / "medusa-config.js")
    shutil.copy2(installed / "package.json", project / "package.json")
    (project / "node_modules").symlink_to(installed / "node_modules")
    secrets = hashlib.sha256(os.urandom(32)).hexdigest()
    (project / ".env").write_text(
        f"DATABASE_URL={database_url}\nJWT_SECRET={secrets[:32]}\nCOOKIE_SECRET={secrets[32:]}\n"
    )
    return project


def medusa_env(workdir: Path) -> dict[str, str]:
    """The environment of every Medusa command: no telemetry, CLI config in the tmp dir."""
    xdg = workdir / "xdg"
    xdg.mkdir(exist_ok=True)
    return _node_env({"XDG_CONFIG_HOME": str(xdg), "HOME": str(workdir)})


def start_medusa(project: Path, workdir: Path, timings: dict[str, float]) -> MedusaProcess:
    """``medusa start -H 127.0.0.1 -p PORT``; ready when ``/health`` answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "medusa.log"
    binary = project / "node_modules" / ".bin" / "medusa"
    with timed("medusa start", timings), log_path.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "start", "-H", "127.0.0.1", "-p", str(port)],
            cwd=project,
            env=medusa_env(workdir),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = MedusaProcess(proc, log_path, url)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise SetupFailed(
                    "medusa start", f"exited with {proc.returncode}", server.output_tail()
                )
            try:
                if httpx.get(url + "/health", timeout=2.0).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise SetupFailed(
                    "medusa start",
                    f"/health silent after {START_TIMEOUT_S:.0f} s",
                    server.output_tail(),
                )
            time.sleep(0.3)


# --- the shop -----------------------------------------------------------------------


class Admin:
    """A small Admin/Store API client for seeding and for acting "in Medusa" in tests."""

    def __init__(self, url: str, *, step: str = "seed") -> None:
        self.url = url
        self.step = step
        self.http = httpx.Client(base_url=url, timeout=30.0)
        self.shopper = httpx.Client(base_url=url, timeout=30.0)
        self.publishable_key = ""

    def close(self) -> None:
        """Close the connection pools."""
        self.http.close()
        self.shopper.close()

    def login(self) -> None:
        """Log in as the admin user (JWT as Bearer)."""
        token = self.call(
            "POST", "/auth/user/emailpass", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        self.http.headers["Authorization"] = f"Bearer {token['token']}"

    def call(
        self, method: str, path: str, *, client: httpx.Client | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """One request; anything but 2xx raises :class:`SetupFailed` with Medusa's answer."""
        try:
            response = (client or self.http).request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SetupFailed(self.step, f"{method} {path}: {exc}") from None
        if response.status_code >= 300:
            raise SetupFailed(
                self.step, f"{method} {path} answered {response.status_code}", response.text[:2000]
            )
        body = response.json()
        assert isinstance(body, dict)
        return body

    def store(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A Store API request, with the publishable key and without the admin token."""
        headers = {"x-publishable-api-key": self.publishable_key}
        return self.call(method, path, client=self.shopper, headers=headers, **kwargs)


@dataclass
class Catalogue:
    """Ids the seed created that tests need to place and move orders."""

    region: str
    location: str
    outbound_option: str
    return_option: str
    variants: list[str]


@dataclass
class MedusaShop:
    """A running, seeded Medusa and what tests need from it."""

    url: str
    secret_key: str
    admin: Admin
    catalogue: Catalogue
    orders: dict[str, str]  # name -> Medusa order id
    timings: dict[str, float] = field(default_factory=dict)

    def order(
        self, medusa_id: str, fields: str = "id,status,metadata,updated_at"
    ) -> dict[str, Any]:
        """An order as the Admin API shows it."""
        found = self.admin.call("GET", f"/admin/orders/{medusa_id}", params={"fields": fields})[
            "order"
        ]
        assert isinstance(found, dict)
        return found


ADDRESSES = {
    "lena@example.com": ("Lena", "Vogel", "Hauptstr. 5", "Köln", "50667", "+49 221 555 0101"),
    "max@example.com": ("Max", "Brandt", "Ringstr. 12", "Berlin", "10115", "+49 30 555 0202"),
    "ada@example.com": ("Ada", "Weiss", "Am Markt 3", "Hamburg", "20095", "+49 40 555 0303"),
}


def seed_catalogue(admin: Admin) -> Catalogue:
    """Region, stock location with shipping, shipping options, a product, a publishable key."""
    channel = admin.call("GET", "/admin/sales-channels")["sales_channels"][0]["id"]
    profile = admin.call("GET", "/admin/shipping-profiles")["shipping_profiles"][0]["id"]
    publishable = admin.call(
        "POST", "/admin/api-keys", json={"title": "storefront", "type": "publishable"}
    )
    admin.call(
        "POST",
        f"/admin/api-keys/{publishable['api_key']['id']}/sales-channels",
        json={"add": [channel]},
    )
    admin.publishable_key = publishable["api_key"]["token"]
    region = admin.call(
        "POST",
        "/admin/regions",
        json={
            "name": "Germany",
            "currency_code": CURRENCY,
            "countries": ["de"],
            "payment_providers": ["pp_system_default"],
        },
    )["region"]["id"]
    location = admin.call(
        "POST",
        "/admin/stock-locations",
        json={
            "name": "Warehouse",
            "address": {"address_1": "Lagerstr. 1", "city": "Berlin", "country_code": "de"},
        },
    )["stock_location"]["id"]
    admin.call("POST", f"/admin/stock-locations/{location}/sales-channels", json={"add": [channel]})
    admin.call(
        "POST",
        f"/admin/stock-locations/{location}/fulfillment-providers",
        json={"add": ["manual_manual"]},
    )
    with_sets = admin.call(
        "POST",
        f"/admin/stock-locations/{location}/fulfillment-sets",
        json={"name": "Warehouse shipping", "type": "shipping"},
        params={"fields": "id,*fulfillment_sets"},
    )
    fulfilment_set = with_sets["stock_location"]["fulfillment_sets"][0]["id"]
    zone = admin.call(
        "POST",
        f"/admin/fulfillment-sets/{fulfilment_set}/service-zones",
        json={"name": "Germany", "geo_zones": [{"type": "country", "country_code": "de"}]},
    )["fulfillment_set"]["service_zones"][0]["id"]

    def option(name: str, *, is_return: bool) -> str:
        body = {
            "name": name,
            "service_zone_id": zone,
            "shipping_profile_id": profile,
            "provider_id": "manual_manual",
            "price_type": "flat",
            "type": {"label": name, "description": name, "code": name.lower().replace(" ", "-")},
            "prices": [
                {"currency_code": CURRENCY, "amount": 4.9},
                {"region_id": region, "amount": 4.9},
            ],
            "rules": [
                {"attribute": "enabled_in_store", "operator": "eq", "value": "true"},
                {
                    "attribute": "is_return",
                    "operator": "eq",
                    "value": "true" if is_return else "false",
                },
            ],
        }
        found = admin.call("POST", "/admin/shipping-options", json=body)["shipping_option"]["id"]
        assert isinstance(found, str)
        return found

    outbound = option("DHL Paket", is_return=False)
    back = option("DHL Retoure", is_return=True)
    product = admin.call(
        "POST",
        "/admin/products",
        params={"fields": "id,*variants"},
        json={
            "title": "Linen shirt",
            "status": "published",
            "shipping_profile_id": profile,
            "sales_channels": [{"id": channel}],
            "options": [{"title": "Size", "values": ["M", "L"]}],
            "variants": [
                {
                    "title": size,
                    "sku": f"SHIRT-{size}",
                    "manage_inventory": False,
                    "options": {"Size": size},
                    "prices": [{"currency_code": CURRENCY, "amount": price}],
                }
                for size, price in (("M", 24.5), ("L", 26))
            ],
        },
    )["product"]
    # Medusa lists variants in no fixed order: M first, then L, by SKU.
    by_sku = {v["sku"]: v["id"] for v in product["variants"]}
    return Catalogue(region, location, outbound, back, [by_sku["SHIRT-M"], by_sku["SHIRT-L"]])


def place_order(
    admin: Admin, catalogue: Catalogue, email: str, quantities: tuple[int, ...] = (2,)
) -> str:
    """Store checkout: cart, shipping method, system payment, complete; the payment is
    authorised, not captured."""
    first, last, street, city, postal, phone = ADDRESSES[email]
    address = {
        "first_name": first,
        "last_name": last,
        "address_1": street,
        "city": city,
        "postal_code": postal,
        "country_code": "de",
        "phone": phone,
    }
    items = [
        {"variant_id": v, "quantity": q}
        for v, q in zip(catalogue.variants, quantities, strict=False)
    ]
    cart = admin.store(
        "POST",
        "/store/carts",
        json={
            "region_id": catalogue.region,
            "email": email,
            "shipping_address": address,
            "billing_address": address,
            "items": items,
        },
    )["cart"]["id"]
    admin.store(
        "POST",
        f"/store/carts/{cart}/shipping-methods",
        json={"option_id": catalogue.outbound_option},
    )
    collection = admin.store("POST", "/store/payment-collections", json={"cart_id": cart})[
        "payment_collection"
    ]["id"]
    admin.store(
        "POST",
        f"/store/payment-collections/{collection}/payment-sessions",
        json={"provider_id": "pp_system_default"},
    )
    done = admin.store("POST", f"/store/carts/{cart}/complete")
    if done.get("type") != "order":
        raise SetupFailed(admin.step, f"cart {cart} did not become an order", str(done)[:2000])
    order_id = done["order"]["id"]
    assert isinstance(order_id, str)
    return order_id


def _items(admin: Admin, order_id: str) -> list[dict[str, Any]]:
    order = admin.call("GET", f"/admin/orders/{order_id}", params={"fields": "id,*items"})["order"]
    return [{"id": i["id"], "quantity": i["quantity"]} for i in order["items"]]


def capture(admin: Admin, order_id: str) -> None:
    """Capture the order's authorised payments."""
    order = admin.call(
        "GET", f"/admin/orders/{order_id}", params={"fields": "id,*payment_collections.payments"}
    )["order"]
    for collection in order["payment_collections"]:
        for payment in collection["payments"]:
            admin.call("POST", f"/admin/payments/{payment['id']}/capture", json={})


def ship(admin: Admin, catalogue: Catalogue, order_id: str, tracking: str) -> str:
    """Fulfil every item and mark it shipped with a tracking label; the fulfilment id."""
    items = _items(admin, order_id)
    order = admin.call(
        "POST",
        f"/admin/orders/{order_id}/fulfillments",
        json={"items": items, "location_id": catalogue.location},
        params={"fields": "id,*fulfillments"},
    )["order"]
    fulfilment = order["fulfillments"][-1]["id"]
    admin.call(
        "POST",
        f"/admin/orders/{order_id}/fulfillments/{fulfilment}/shipments",
        json={
            "items": items,
            "labels": [
                {
                    "tracking_number": tracking,
                    "tracking_url": f"https://tracking.example/{tracking}",
                    "label_url": f"https://tracking.example/{tracking}/label",
                }
            ],
        },
    )
    assert isinstance(fulfilment, str)
    return fulfilment


def deliver(admin: Admin, order_id: str, fulfilment: str) -> None:
    """Mark a fulfilment delivered."""
    admin.call(
        "POST", f"/admin/orders/{order_id}/fulfillments/{fulfilment}/mark-as-delivered", json={}
    )


def request_return(admin: Admin, catalogue: Catalogue, order_id: str, *, receive: bool) -> str:
    """Return one unit of the first item (requested; received too when ``receive``)."""
    item = _items(admin, order_id)[0]["id"]
    ret = admin.call(
        "POST", "/admin/returns", json={"order_id": order_id, "location_id": catalogue.location}
    )
    return_id = ret["return"]["id"]
    admin.call(
        "POST",
        f"/admin/returns/{return_id}/request-items",
        json={"items": [{"id": item, "quantity": 1}]},
    )
    admin.call(
        "POST",
        f"/admin/returns/{return_id}/shipping-method",
        json={"shipping_option_id": catalogue.return_option},
    )
    admin.call("POST", f"/admin/returns/{return_id}/request", json={})
    if receive:
        admin.call("POST", f"/admin/returns/{return_id}/receive", json={})
        admin.call(
            "POST",
            f"/admin/returns/{return_id}/receive-items",
            json={"items": [{"id": item, "quantity": 1}]},
        )
        admin.call("POST", f"/admin/returns/{return_id}/receive/confirm", json={})
    assert isinstance(return_id, str)
    return return_id


def cancel(admin: Admin, order_id: str) -> None:
    """Cancel an unfulfilled order."""
    admin.call("POST", f"/admin/orders/{order_id}/cancel", json={})


def seed_orders(admin: Admin, catalogue: Catalogue) -> dict[str, str]:
    """Orders in the states the tests look at, by name."""
    orders: dict[str, str] = {}
    orders["delivered"] = place_order(admin, catalogue, "lena@example.com")
    capture(admin, orders["delivered"])
    fulfilment = ship(admin, catalogue, orders["delivered"], "00340434161094042557")
    deliver(admin, orders["delivered"], fulfilment)
    orders["returned"] = place_order(admin, catalogue, "max@example.com", (1, 1))
    capture(admin, orders["returned"])
    ship(admin, catalogue, orders["returned"], "00340434161094099999")
    request_return(admin, catalogue, orders["returned"], receive=True)
    orders["cancelled"] = place_order(admin, catalogue, "ada@example.com")
    cancel(admin, orders["cancelled"])
    # Left for the tests to change in Medusa: one shipped, one only authorised.
    orders["shipped"] = place_order(admin, catalogue, "lena@example.com", (1,))
    capture(admin, orders["shipped"])
    ship(admin, catalogue, orders["shipped"], "00340434161094011111")
    orders["open"] = place_order(admin, catalogue, "ada@example.com", (1, 2))
    return orders


def create_secret_key(admin: Admin) -> str:
    """A secret API key for the console (its token is shown once, on creation)."""
    key = admin.call("POST", "/admin/api-keys", json={"title": "cs-console", "type": "secret"})[
        "api_key"
    ]["token"]
    assert isinstance(key, str)
    assert key.startswith("sk_")
    return key


@contextlib.contextmanager
def running_medusa() -> Iterator[MedusaShop]:
    """Everything above, torn down in reverse order at the end."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        with timed("check tools", timings):
            check_tools()
        with timed("install", timings):
            installed = install()
        # Not under pytest's tmp folder: the postgres user must be able to reach it.
        workdir = Path(tempfile.mkdtemp(prefix="cs-console-medusa-"))
        workdir.chmod(0o711)  # the postgres user may pass through, not list
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        pg_folder = workdir / "pg"
        pg_folder.mkdir()
        cluster = start_cluster(pg_folder, timings)
        stack.callback(cluster.stop)
        project = prepare_project(installed, workdir, cluster.url)
        binary = str(project / "node_modules" / ".bin" / "medusa")
        env = medusa_env(workdir)
        with timed("medusa db:migrate", timings):
            _run(
                "medusa db:migrate",
                [binary, "db:migrate"],
                cwd=project,
                env=env,
                timeout=MIGRATE_TIMEOUT_S,
            )
        with timed("medusa user", timings):
            _run(
                "medusa user",
                [binary, "user", "-e", ADMIN_EMAIL, "-p", ADMIN_PASSWORD],
                cwd=project,
                env=env,
                timeout=STEP_TIMEOUT_S,
            )
        server = start_medusa(project, workdir, timings)
        stack.callback(server.stop)
        admin = Admin(server.url)
        stack.callback(admin.close)
        try:
            with timed("seed", timings):
                admin.login()
                catalogue = seed_catalogue(admin)
                orders = seed_orders(admin, catalogue)
                secret = create_secret_key(admin)
        except SetupFailed as exc:
            raise SetupFailed(exc.step, str(exc), server.output_tail()) from None
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise SetupFailed(
                "seed", f"unexpected answer ({exc!r})", server.output_tail()
            ) from None
        admin.step = "test action"
        timings["total"] = round(time.monotonic() - started, 2)
        log.warning("medusa set-up: total %.1f s", timings["total"])
        yield MedusaShop(server.url, secret, admin, catalogue, orders, timings)


def basic_auth(secret_key: str) -> str:
    """The Authorization header value Medusa expects for a secret API key."""
    return "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode("ascii")
