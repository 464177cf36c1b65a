"""The demo shop's goods, the cities it ships to and its customers, from ``shop.toml``."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cs_console.demo.resources import DemoDataError, Fields, read_toml
from cs_console.demo.shop import LANGUAGES


@dataclass(frozen=True)
class Product:
    """One thing the shop sells; ``price`` in fen."""

    sku: str
    zh: str
    en: str
    price: int

    @property
    def label(self) -> str:
        """The name on an order line: Chinese, then English."""
        return f"{self.zh} · {self.en}"


@dataclass(frozen=True)
class City:
    """A city customers live in. Its name doubles as the name of the courier hub a
    parcel passes through ("成都转运中心")."""

    name: str
    area: str  # province, city and district, the way an address starts
    district: str
    streets: tuple[str, ...]
    #: A township the big couriers do not serve: addresses name a village group.
    township: bool


@dataclass(frozen=True)
class Customer:
    """A customer as the shop knows them (phone and address are drawn from the seed)."""

    name: str
    language: str
    email: str | None
    city: str
    notes: str
    #: The shop's tags on the customer (VIP, repeat complainer...).
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    """Everything in ``shop.toml``."""

    products: dict[str, Product]
    cities: dict[str, City]
    customers: tuple[Customer, ...]


@functools.cache
def load_catalogue() -> Catalogue:
    """Read and check ``shop.toml`` (once per process).

    Raises:
        DemoDataError: the file is missing, malformed, or refers to a city it lacks.
    """
    label, data = read_toml("shop.toml")
    top = Fields(label, data)
    products: dict[str, Product] = {}
    for index, row in enumerate(top.items("products")):
        fields = Fields(f"{label}: products[{index}]", row)
        product = Product(
            sku=fields.text("sku"),
            zh=fields.text("zh"),
            en=fields.text("en"),
            price=fields.number("price"),
        )
        fields.done()
        if product.sku in products or product.price <= 0:
            raise fields.fail(f"{product.sku} is listed twice or has no price")
        products[product.sku] = product
    cities: dict[str, City] = {}
    for name, row in top.table("cities").items():
        fields = Fields(f"{label}: cities.{name}", row)
        streets = tuple(str(street) for street in fields.items("streets"))
        cities[name] = City(
            name=name,
            area=fields.text("area"),
            district=fields.text("district"),
            streets=streets,
            township=fields.flag("township"),
        )
        fields.done()
        if not streets:
            raise fields.fail("streets is empty")
    customers: list[Customer] = []
    for index, row in enumerate(top.items("customers")):
        fields = Fields(f"{label}: customers[{index}]", row)
        customer = Customer(
            name=fields.text("name"),
            language=fields.text("language"),
            email=fields.maybe_text("email"),
            city=fields.text("city"),
            notes=fields.maybe_text("notes") or "",
            tags=tuple(str(tag) for tag in fields.items("tags")),
        )
        fields.done()
        if customer.city not in cities:
            raise fields.fail(f"no city {customer.city} in [cities]")
        if customer.language not in LANGUAGES:
            raise fields.fail(f"language {customer.language} is not one of {LANGUAGES}")
        customers.append(customer)
    top.done()
    if len({c.name for c in customers}) != len(customers):
        raise DemoDataError(f"{label}: two customers share a name")
    return Catalogue(products=products, cities=cities, customers=tuple(customers))
