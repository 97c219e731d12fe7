"""Prices of paid job options: configuration per kind and provider, a tiered formula on the URL count.

``PRICING`` (JSON) maps a kind to its lanes (e.g. providers; ``"*"`` matches any params of the kind) and each
to a rule; without it, each kind's own default (``JobKind.pricing``) applies::

    {"<kind>": {"<lane>": {"currency": "usd", "minimum_cents": 50,
                             "tiers": [{"up_to": 100, "cents_per_url": 1},
                                       {"up_to": 1000, "cents_per_url": 0.5},
                                       {"up_to": null, "cents_per_url": 0.2}]}}}

Tiers are graduated (the first 100 URLs at 1 ¢, the next 900 at 0.5 ¢, ...); the total is rounded up to the
cent and never below ``minimum_cents``. The count is what the kind says it prices (``JobKind.price_quantity``,
e.g. the pages a site has, see ``service.payments.quotes``); a kind without one is priced on its
``max_urls`` param, if any.

A kind declared ``paid=True`` with no rule costs the default minimum charge.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import Annotated, Any

import msgspec

from actors.registry import JobKind, all_kinds

ANY_PROVIDER = "*"
DEFAULT_MINIMUM_CENTS = 50
_CURRENCY = re.compile(r"^[a-z]{3}$")
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


class Tier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # Inclusive upper bound of the URL count this tier covers; null means "and above".
    up_to: Annotated[int, msgspec.Meta(ge=1)] | None
    cents_per_url: Annotated[float, msgspec.Meta(ge=0)]


class PriceRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    currency: str = "usd"
    base_cents: Annotated[float, msgspec.Meta(ge=0)] = 0
    minimum_cents: Annotated[int, msgspec.Meta(ge=1)] = DEFAULT_MINIMUM_CENTS
    tiers: tuple[Tier, ...] = ()

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.currency):
            raise ValueError(f"currency must be a lowercase ISO code such as 'usd', got {self.currency!r}")
        bounds = [t.up_to for t in self.tiers]
        if None in bounds[:-1]:
            raise ValueError("only the last tier may have up_to null")
        finite = [b for b in bounds if b is not None]
        if finite != sorted(set(finite)):
            raise ValueError("tiers must have increasing up_to bounds")


PricingTable = dict[str, dict[str, PriceRule]]


class PricingError(ValueError):
    """``PRICING`` is not valid JSON of the expected shape."""


class BreakdownLine(msgspec.Struct):
    description: str
    quantity: int
    unit_cents: float
    amount_cents: float


class Quote(msgspec.Struct):
    amount_cents: int
    currency: str
    display: str
    breakdown: list[BreakdownLine]
    kind: str
    provider: str | None
    url_count: int


def default_pricing() -> PricingTable:
    """The table the kinds declare (``JobKind.pricing``), converted once per set of registered kinds."""
    kinds = all_kinds()
    key = tuple(map(id, kinds.values()))
    table = _default_tables.get(key)
    if table is None:
        table = {name: msgspec.convert(k.pricing, dict[str, PriceRule]) for name, k in kinds.items() if k.pricing}
        _default_tables.clear()
        _default_tables[key] = table
    return table


# ``default_pricing`` runs on every job creation; the kinds' declarations do not change once registered.
_default_tables: dict[tuple[int, ...], PricingTable] = {}


def load_pricing(raw: str) -> PricingTable:
    """Parse ``PRICING``; an empty string gives the kinds' default table."""
    return _parse_pricing(raw) if raw else default_pricing()


@lru_cache(maxsize=8)
def _parse_pricing(raw: str) -> PricingTable:
    try:
        return msgspec.json.decode(raw, type=PricingTable)
    except (msgspec.DecodeError, ValueError) as exc:
        raise PricingError(f"PRICING is invalid: {exc}") from None


def display_amount(cents: int, currency: str) -> str:
    symbol = _SYMBOLS.get(currency)
    amount = f"{cents // 100}.{cents % 100:02d}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"


def rule_for(table: PricingTable, kind: JobKind, params: Any) -> PriceRule | None:
    """The price rule of this option, or None when it is free."""
    rules = table.get(kind.name, {})
    lane = kind.lane_of(params) if kind.lane_of is not None else None
    rule = (rules.get(lane) if lane else None) or rules.get(ANY_PROVIDER)
    if rule is None and kind.paid:
        return PriceRule()
    return rule


def quote_for(table: PricingTable, kind: JobKind, params: Any, *, url_count: int | None = None) -> Quote | None:
    """The price of a job of ``kind`` with validated ``params``, or None when that option is free.

    ``url_count`` is the number of URLs to price (the site's, capped by ``max_urls``); without it, the
    params' ``max_urls``.
    """
    rule = rule_for(table, kind, params)
    if rule is None:
        return None
    if url_count is None:
        url_count = int(getattr(params, "max_urls", 0) or 0)
    provider = kind.lane_of(params) if kind.lane_of is not None else None
    lines: list[BreakdownLine] = []
    total = Decimal(0)
    if rule.base_cents:
        lines.append(BreakdownLine("base charge", 1, rule.base_cents, rule.base_cents))
        total += Decimal(str(rule.base_cents))
    lower = 0
    for tier in rule.tiers:
        upper = url_count if tier.up_to is None else min(url_count, tier.up_to)
        count = upper - lower
        if count <= 0:
            break
        amount = Decimal(count) * Decimal(str(tier.cents_per_url))
        label = f"URLs {lower + 1}-{upper}" if count > 1 else f"URL {upper}"
        lines.append(BreakdownLine(label, count, tier.cents_per_url, float(amount)))
        total += amount
        lower = upper
    cents = int(total.to_integral_value(rounding=ROUND_CEILING))
    if cents < rule.minimum_cents:
        lines.append(BreakdownLine("minimum charge", 1, rule.minimum_cents, float(rule.minimum_cents - total)))
        cents = rule.minimum_cents
    return Quote(
        amount_cents=cents,
        currency=rule.currency,
        display=display_amount(cents, rule.currency),
        breakdown=lines,
        kind=kind.name,
        provider=provider if isinstance(provider, str) else None,
        url_count=url_count,
    )
