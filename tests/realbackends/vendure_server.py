"""A real Vendure for the integration tests: install, populate, start, seed, stop.

Every step is bounded in time and logged with its duration. A failed step raises
:class:`SetupFailed` naming the step and the tail of its output; the fixture turns
that into a failure when ``CS_REAL_BACKENDS=required`` and into a skip otherwise.

What is slow is done once and kept in a cache folder outside the repository
(``$CS_REAL_BACKENDS_CACHE/vendure``, default ``~/.cache/cs-console/realbackends/vendure``):
the ``node_modules`` (re-installed when ``package.json`` changes) and a populated
sample shop, copied for each test session so tests never see another run's orders.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent / "vendure"
VENDURE_CREATE = "@vendure/create@3.7.3"
SUPERADMIN = "superadmin"
SUPERADMIN_PASSWORD = "superadmin"  # bound to 127.0.0.1 and thrown away after the run
KEEP_PRODUCTS = 4  # the first products of the sample CSV: enough to order, quick to import

INSTALL_TIMEOUT_S = 300.0
PACK_TIMEOUT_S = 120.0
POPULATE_TIMEOUT_S = 180.0
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 30.0


class SetupFailed(Exception):
    """One set-up step failed; the message names the step and ends with its output."""

    def __init__(self, step: str, reason: str, output: str = "") -> None:
        tail = "\n".join(output.strip().splitlines()[-25:])
        super().__init__(
            f"Vendure set-up step '{step}' failed: {reason}" + (f"\n{tail}" if tail else "")
        )
        self.step = step


#: How long each set-up step took in this session (also logged as it happens).
STEP_TIMES: dict[str, float] = {}


def cache_root() -> Path:
    """Where the installed Node project and the populated shop are kept between runs."""
    base = os.environ.get("CS_REAL_BACKENDS_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "cs-console" / "realbackends"
    return root / "vendure"


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Log how long ``step`` took (the CI budget for the whole set-up is ~90 s)."""
    started = time.monotonic()
    try:
        yield
    finally:
        STEP_TIMES[step] = time.monotonic() - started
        log.warning("vendure set-up: %s took %.1f s", step, STEP_TIMES[step])


def _run(step: str, argv: list[str], *, cwd: Path, timeout: float, env: dict[str, str]) -> str:
    """Run one command to completion (its whole process group is killed on timeout)."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise SetupFailed(step, f"cannot run {argv[0]} ({exc})") from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, _ = proc.communicate()
        raise SetupFailed(
            step, f"timed out after {timeout:.0f} s", out.decode(errors="replace")
        ) from None
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise SetupFailed(step, f"exit code {proc.returncode}", text)
    return text


def _kill_group(proc: subprocess.Popen[bytes], *, grace: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``grace``."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        proc.wait(timeout=grace)


def _node_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["VENDURE_DISABLE_TELEMETRY"] = "true"
    env["NODE_ENV"] = "development"
    env["npm_config_update_notifier"] = "false"
    env["npm_config_fund"] = "false"
    env["npm_config_audit"] = "false"
    env.update(extra or {})
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _project_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(PROJECT_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def check_tools() -> None:
    """Node and npm must be on PATH."""
    with timed("check node/npm"):
        for tool in ("node", "npm"):
            if shutil.which(tool) is None:
                raise SetupFailed(
                    "check node/npm", f"{tool} is not installed (apt-get install nodejs npm)"
                )
        version = _run(
            "check node/npm", ["node", "--version"], cwd=Path.cwd(), timeout=20, env=_node_env()
        )
        major = version.strip().lstrip("v").split(".", 1)[0]
        if not major.isdigit() or int(major) < 20:
            raise SetupFailed(
                "check node/npm", f"Vendure 3.7 needs Node 20 or newer, found {version.strip()}"
            )


def install(root: Path) -> Path:
    """The Node project installed under ``root``; reused while its files are unchanged."""
    stamp_value = _project_hash()
    project = root / "project"
    stamp = project / ".cs-console-installed"
    if stamp.exists() and stamp.read_text() == stamp_value and (project / "node_modules").is_dir():
        log.warning("vendure set-up: node_modules reused from %s", project)
        return project
    with timed("npm install"):
        if project.exists():
            shutil.rmtree(project)
        project.mkdir(parents=True)
        for path in PROJECT_DIR.iterdir():
            if path.is_file():
                shutil.copy2(path, project / path.name)
        lock = (project / "package-lock.json").exists()
        argv = ["npm", "ci"] if lock else ["npm", "install"]
        _run(
            "npm install",
            [*argv, "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=project,
            timeout=INSTALL_TIMEOUT_S,
            env=_node_env(),
        )
        # The populated shop belongs to the installed version: rebuild it too.
        (root / "shop.sqlite").unlink(missing_ok=True)
        stamp.write_text(stamp_value)
    return project


def sample_data(root: Path) -> tuple[Path, Path]:
    """``initial-data.json`` and a trimmed ``products.csv`` from the @vendure/create tarball.

    Asset columns and collections are blanked: they point at image files that would need
    an asset server and the network."""
    data_dir = root / "sample"
    initial = data_dir / "initial-data.json"
    products = data_dir / "products.csv"
    if initial.exists() and products.exists():
        return initial, products
    with timed("npm pack @vendure/create"):
        data_dir.mkdir(parents=True, exist_ok=True)
        out = _run(
            "npm pack @vendure/create",
            ["npm", "pack", VENDURE_CREATE, "--silent", "--pack-destination", str(data_dir)],
            cwd=data_dir,
            timeout=PACK_TIMEOUT_S,
            env=_node_env(),
        )
        tarballs = sorted(data_dir.glob("vendure-create-*.tgz"))
        if not tarballs:
            raise SetupFailed("npm pack @vendure/create", "no tarball was written", out)
        with tarfile.open(tarballs[-1]) as tar:
            raw_initial = _member(tar, "package/assets/initial-data.json")
            raw_products = _member(tar, "package/assets/products.csv")
        data = json.loads(raw_initial)
        data["collections"] = []
        initial.write_text(json.dumps(data, indent=1))
        products.write_text(_trim_products(raw_products.decode("utf-8")), encoding="utf-8")
        tarballs[-1].unlink()
    return initial, products


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise SetupFailed("npm pack @vendure/create", f"{name} is missing from the tarball")
    return member.read()


def _trim_products(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    header = [cell.strip() for cell in rows[0]]
    blank = [header.index(name) for name in ("assets", "variantAssets")]
    kept: list[list[str]] = [header]
    products = 0
    for row in rows[1:]:
        if row and row[0].strip():
            products += 1
            if products > KEEP_PRODUCTS:
                break
        cells = [cell.strip() for cell in row]
        for index in blank:
            cells[index] = ""
        kept.append(cells)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(kept)
    return buffer.getvalue()


def _vendure_env(port: int, database: Path) -> dict[str, str]:
    return _node_env(
        {
            "CS_VENDURE_PORT": str(port),
            "CS_VENDURE_DB": str(database),
            "CS_VENDURE_SUPERADMIN": SUPERADMIN,
            "CS_VENDURE_SUPERADMIN_PASSWORD": SUPERADMIN_PASSWORD,
        }
    )


def populated_shop(root: Path, project: Path) -> Path:
    """The sample shop's database, populated once and kept in the cache."""
    shop = root / "shop.sqlite"
    if shop.exists():
        return shop
    initial, products = sample_data(root)
    with timed("populate"):
        partial = root / "shop.partial.sqlite"
        partial.unlink(missing_ok=True)
        _run(
            "populate",
            ["node", "populate.js", str(initial), str(products)],
            cwd=project,
            timeout=POPULATE_TIMEOUT_S,
            env=_vendure_env(free_port(), partial),
        )
        if not partial.exists():
            raise SetupFailed("populate", "no database file was written")
        partial.replace(shop)
    return shop


@dataclass
class VendureProcess:
    """A running Vendure and how to reach it."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def output_tail(self) -> str:
        """The end of the server's log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop Vendure and anything it started."""
        with timed("stop"):
            _kill_group(self.process)


def start(project: Path, shop: Path, workdir: Path) -> VendureProcess:
    """Start Vendure on a free port with a private copy of ``shop``; wait until it answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "vendure.sqlite"
    shutil.copyfile(shop, database)
    port = free_port()
    log_path = workdir / "vendure.log"
    with timed("start"):
        with log_path.open("wb") as out:
            try:
                process = subprocess.Popen(
                    ["node", "serve.js"],
                    cwd=project,
                    env=_vendure_env(port, database),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise SetupFailed("start", f"cannot run node ({exc})") from None
        server = VendureProcess(f"http://127.0.0.1:{port}", process, log_path)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise SetupFailed(
                    "start", f"node exited with {process.returncode}", server.output_tail()
                )
            try:
                answer = httpx.post(
                    f"{server.url}/admin-api", json={"query": "{ __typename }"}, timeout=2.0
                )
                if answer.status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise SetupFailed(
                    "start", f"no answer within {START_TIMEOUT_S:.0f} s", server.output_tail()
                )
            time.sleep(0.25)


class AdminClient:
    """A small Admin GraphQL client for the fixture (the adapter under test has its own)."""

    def __init__(self, url: str, *, step: str = "seed") -> None:
        self.url = url
        self.step = step
        self._client = httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S, follow_redirects=False)
        self._headers: dict[str, str] = {}

    def close(self) -> None:
        """Release the connection."""
        self._client.close()

    def login(self) -> None:
        """Log in as the superadmin and keep the bearer token."""
        answer = self._client.post(
            "/admin-api",
            json={
                "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
                "{ ... on CurrentUser { id } ... on ErrorResult { errorCode message } } }",
                "variables": {"u": SUPERADMIN, "p": SUPERADMIN_PASSWORD},
            },
        )
        token = answer.headers.get("vendure-auth-token")
        if answer.status_code != 200 or not token:
            raise SetupFailed(self.step, "superadmin login failed", answer.text)
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client.cookies.clear()

    def use_api_key(self, key: str) -> None:
        """Send ``key`` instead of the login token."""
        self._headers = {"vendure-api-key": key}

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        """Run ``query``; GraphQL errors and ErrorResults raise :class:`SetupFailed`."""
        answer = self._client.post(
            "/admin-api", json={"query": query, "variables": variables}, headers=self._headers
        )
        self._client.cookies.clear()
        if answer.status_code != 200:
            raise SetupFailed(self.step, f"HTTP {answer.status_code}", answer.text)
        body = answer.json()
        if body.get("errors"):
            raise SetupFailed(self.step, "GraphQL error", json.dumps(body["errors"])[:2000])
        data: dict[str, Any] = body["data"]
        for value in data.values():
            if isinstance(value, dict) and "errorCode" in value:
                raise SetupFailed(self.step, f"{value['errorCode']}: {value.get('message')}")
        return data


ERR = "... on ErrorResult { errorCode message }"


@dataclass
class SeededOrder:
    """An order the fixture made, with what tests need to know about it."""

    vendure_id: str
    code: str
    customer_vendure_id: str
    email: str
    payment_id: str | None = None
    line_ids: list[str] = field(default_factory=list)
    total_minor: int = 0


@dataclass
class SeededShop:
    """What the seeding made."""

    api_key: str
    orders: dict[str, SeededOrder]


def create_api_key(admin: AdminClient) -> str:
    """A SuperAdmin API key for the adapter."""
    roles = admin.gql("{ roles { items { id code } } }")["roles"]["items"]
    super_role = next(r["id"] for r in roles if r["code"] == "__super_admin_role__")
    data = admin.gql(
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey entityId } }",
        i={"roleIds": [super_role], "translations": [{"languageCode": "en", "name": "cs-console"}]},
    )
    key: str = data["createApiKey"]["apiKey"]
    return key


def _address(name: str, street: str, city: str, postal: str) -> dict[str, Any]:
    return {
        "fullName": name,
        "streetLine1": street,
        "city": city,
        "postalCode": postal,
        "countryCode": "GB",
        "phoneNumber": "+44 20 7946 0000",
    }


def make_order(
    admin: AdminClient,
    *,
    first: str,
    last: str,
    email: str,
    phone: str,
    variant_id: str,
    quantity: int,
    pay: bool = True,
) -> SeededOrder:
    """A draft order taken through to payment settled (or left awaiting payment)."""
    order = admin.gql("mutation { createDraftOrder { id code } }")["createDraftOrder"]
    oid = order["id"]
    admin.gql(
        "mutation($o: ID!, $i: AddItemToDraftOrderInput!) { addItemToDraftOrder(orderId: $o, "
        f"input: $i) {{ ... on Order {{ id }} {ERR} }} }}",
        o=oid,
        i={"productVariantId": variant_id, "quantity": quantity},
    )
    known = admin.gql(
        "query($e: String!) { customers(options: {filter: {emailAddress: {eq: $e}}}) "
        "{ items { id } } }",
        e=email,
    )["customers"]["items"]
    if known:
        customer_args: dict[str, Any] = {"c": known[0]["id"]}
        customer_query = (
            "mutation($o: ID!, $c: ID!) { setCustomerForDraftOrder(orderId: $o, customerId: $c)"
        )
    else:
        customer_args = {
            "c": {"firstName": first, "lastName": last, "emailAddress": email, "phoneNumber": phone}
        }
        customer_query = (
            "mutation($o: ID!, $c: CreateCustomerInput!) "
            "{ setCustomerForDraftOrder(orderId: $o, input: $c)"
        )
    customer = admin.gql(
        customer_query + f" {{ ... on Order {{ id customer {{ id }} }} {ERR} }} }}",
        o=oid,
        **customer_args,
    )["setCustomerForDraftOrder"]["customer"]["id"]
    address = _address(f"{first} {last}", "1 Test Street", "London", "EC1A 1BB")
    admin.gql(
        "mutation($o: ID!, $a: CreateAddressInput!) { setDraftOrderShippingAddress(orderId: $o, "
        "input: $a) { id } }",
        o=oid,
        a=address,
    )
    admin.gql(
        "mutation($o: ID!, $a: CreateAddressInput!) { setDraftOrderBillingAddress(orderId: $o, "
        "input: $a) { id } }",
        o=oid,
        a=address,
    )
    quotes = admin.gql(
        "query($o: ID!) { eligibleShippingMethodsForDraftOrder(orderId: $o) { id } }", o=oid
    )["eligibleShippingMethodsForDraftOrder"]
    admin.gql(
        "mutation($o: ID!, $m: ID!) { setDraftOrderShippingMethod(orderId: $o, "
        f"shippingMethodId: $m) {{ ... on Order {{ id }} {ERR} }} }}",
        o=oid,
        m=quotes[0]["id"],
    )
    admin.gql(
        'mutation($o: ID!) { transitionOrderToState(id: $o, state: "ArrangingPayment") '
        f"{{ ... on Order {{ id }} {ERR} }} }}",
        o=oid,
    )
    seeded = SeededOrder(oid, order["code"], customer, email)
    if pay:
        paid = admin.gql(
            "mutation($i: ManualPaymentInput!) { addManualPaymentToOrder(input: $i) "
            "{ ... on Order { id totalWithTax lines { id } payments { id state } } "
            f"{ERR} }} }}",
            i={
                "orderId": oid,
                "method": "standard-payment",
                "transactionId": f"seed-{oid}",
                "metadata": {},  # NOT NULL on SQLite
            },
        )["addManualPaymentToOrder"]
        seeded.payment_id = paid["payments"][0]["id"]
        seeded.line_ids = [line["id"] for line in paid["lines"]]
        seeded.total_minor = int(paid["totalWithTax"])
    return seeded


def ship(admin: AdminClient, order: SeededOrder, *, carrier: str, tracking: str) -> str:
    """Fulfil every line with ``carrier`` and ``tracking``; the fulfilment's id."""
    lines = admin.gql(
        "query($o: ID!) { order(id: $o) { lines { id quantity } } }", o=order.vendure_id
    )["order"]["lines"]
    made = admin.gql(
        "mutation($i: FulfillOrderInput!) { addFulfillmentToOrder(input: $i) "
        f"{{ ... on Fulfillment {{ id }} {ERR} }} }}",
        i={
            "lines": [{"orderLineId": line["id"], "quantity": line["quantity"]} for line in lines],
            "handler": {
                "code": "manual-fulfillment",
                "arguments": [
                    {"name": "method", "value": carrier},
                    {"name": "trackingCode", "value": tracking},
                ],
            },
        },
    )["addFulfillmentToOrder"]
    fulfilment_id: str = made["id"]
    transition_fulfilment(admin, fulfilment_id, "Shipped")
    return fulfilment_id


def transition_fulfilment(admin: AdminClient, fulfilment_id: str, state: str) -> None:
    """Move a fulfilment to ``state`` (Shipped, Delivered)."""
    admin.gql(
        "mutation($f: ID!, $s: String!) { transitionFulfillmentToState(id: $f, state: $s) "
        f"{{ ... on Fulfillment {{ id }} {ERR} }} }}",
        f=fulfilment_id,
        s=state,
    )


def add_note(admin: AdminClient, order: SeededOrder, note: str, *, public: bool) -> None:
    """A note on the order's history."""
    admin.gql(
        "mutation($i: AddNoteToOrderInput!) { addNoteToOrder(input: $i) { id } }",
        i={"id": order.vendure_id, "note": note, "isPublic": public},
    )


def refund(admin: AdminClient, order: SeededOrder, amount: int, reason: str) -> None:
    """Refund ``amount`` of the order's payment and settle it."""
    made = admin.gql(
        "mutation($i: RefundOrderInput!) { refundOrder(input: $i) "
        f"{{ ... on Refund {{ id state }} {ERR} }} }}",
        i={
            "paymentId": order.payment_id,
            "amount": amount,
            "shipping": 0,
            "adjustment": 0,
            "reason": reason,
        },
    )["refundOrder"]
    if made["state"] != "Settled":
        admin.gql(
            "mutation($i: SettleRefundInput!) { settleRefund(input: $i) "
            f"{{ ... on Refund {{ id }} {ERR} }} }}",
            i={"id": made["id"], "transactionId": f"refund-{made['id']}"},
        )


def cancel(admin: AdminClient, order: SeededOrder, reason: str) -> None:
    """Cancel the whole order."""
    admin.gql(
        "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) "
        f"{{ ... on Order {{ id state }} {ERR} }} }}",
        i={"orderId": order.vendure_id, "reason": reason, "cancelShipping": True},
    )


def seed(url: str) -> SeededShop:
    """An API key and a handful of orders in every state the adapter maps."""
    admin = AdminClient(url)
    try:
        with timed("seed"):
            admin.login()
            key = create_api_key(admin)
            orders: dict[str, SeededOrder] = {}
            orders["delivered"] = make_order(
                admin,
                first="Ada",
                last="Lovelace",
                email="ada@example.com",
                phone="+44 7700 900001",
                variant_id="1",
                quantity=1,
            )
            fulfilment = ship(
                admin, orders["delivered"], carrier="Royal Mail", tracking="RM123456789GB"
            )
            transition_fulfilment(admin, fulfilment, "Delivered")
            add_note(admin, orders["delivered"], "Left with the neighbour at no. 3", public=True)
            add_note(
                admin, orders["delivered"], "Customer called twice about the box", public=False
            )
            orders["shipped"] = make_order(
                admin,
                first="Grace",
                last="Hopper",
                email="grace@example.com",
                phone="+44 7700 900002",
                variant_id="5",
                quantity=2,
            )
            ship(admin, orders["shipped"], carrier="DPD", tracking="DPD-0042")
            orders["paid"] = make_order(
                admin,
                first="Alan",
                last="Turing",
                email="alan@example.com",
                phone="+44 7700 900003",
                variant_id="7",
                quantity=1,
            )
            orders["unpaid"] = make_order(
                admin,
                first="Ada",
                last="Lovelace",
                email="ada@example.com",
                phone="+44 7700 900001",
                variant_id="8",
                quantity=1,
                pay=False,
            )
            orders["refunded"] = make_order(
                admin,
                first="Edsger",
                last="Dijkstra",
                email="edsger@example.com",
                phone="+44 7700 900004",
                variant_id="7",
                quantity=3,
            )
            refund(admin, orders["refunded"], orders["refunded"].total_minor, "Arrived broken")
            orders["cancelled"] = make_order(
                admin,
                first="Barbara",
                last="Liskov",
                email="barbara@example.com",
                phone="+44 7700 900005",
                variant_id="6",
                quantity=1,
            )
            cancel(admin, orders["cancelled"], "Customer changed their mind")
            # One order for each test that changes things, so tests stay independent.
            for name, variant in (
                ("remark", "5"),
                ("vendure_refund", "7"),
                ("vendure_cancel", "8"),
                ("console_refund", "7"),
                ("console_cancel", "8"),
            ):
                orders[name] = make_order(
                    admin,
                    first="Grace",
                    last="Hopper",
                    email="grace@example.com",
                    phone="+44 7700 900002",
                    variant_id=variant,
                    quantity=1,
                )
            return SeededShop(key, orders)
    finally:
        admin.close()


@dataclass
class VendureShop:
    """A running, seeded Vendure as the tests see it."""

    url: str
    api_key: str
    orders: dict[str, SeededOrder]
    server: VendureProcess

    def admin(self) -> AdminClient:
        """A fresh superadmin client (for changes made "in Vendure", outside the console)."""
        client = AdminClient(self.url, step="test")
        client.login()
        return client


@contextmanager
def _cache_lock(root: Path) -> Iterator[None]:
    """One installer at a time per cache (parallel sessions share it)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        deadline = time.monotonic() + INSTALL_TIMEOUT_S + POPULATE_TIMEOUT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SetupFailed(
                        "lock cache", f"{root} stayed locked by another run"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def running_vendure(workdir: Path) -> Iterator[VendureShop]:
    """Install (cached), populate (cached), start, seed; stop on the way out.

    Raises :class:`SetupFailed` naming the step that failed."""
    STEP_TIMES.clear()
    started = time.monotonic()
    check_tools()
    root = cache_root()
    try:
        with _cache_lock(root):
            project = install(root)
            shop = populated_shop(root, project)
        server = start(project, shop, workdir)
    except OSError as exc:
        raise SetupFailed("prepare the cache", f"{type(exc).__name__}: {exc}") from None
    try:
        try:
            seeded = seed(server.url)
        except SetupFailed as exc:
            raise SetupFailed(exc.step, str(exc), server.output_tail()) from None
        log.warning("vendure set-up: ready in %.1f s in all", time.monotonic() - started)
        yield VendureShop(server.url, seeded.api_key, seeded.orders, server)
    finally:
        server.stop()
