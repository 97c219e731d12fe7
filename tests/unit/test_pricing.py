"""The price formula: graduated tiers on the URL count, rounded up to the cent, a minimum charge."""

from __future__ import annotations

import msgspec
import pytest

from actors.kinds.llms_txt import LLMS_TXT
from actors.registry import JobKind
from service.payments.pricing import PriceRule, PricingError, default_pricing, load_pricing, quote_for


class Params(msgspec.Struct):
    provider: str = "extractive"
    max_urls: int = 500


def handler(ctx: object, params: object) -> None:
    return None


# The llms.txt kind's own default (Gemini is paid), on a Params of this test's shape.
KIND = JobKind(name="llms_txt", params=Params, handler=handler, lane_of=lambda p: p.provider)
DEFAULT_PRICING = {"llms_txt": msgspec.convert(LLMS_TXT.pricing, dict[str, PriceRule])}


def test_the_default_table_is_what_the_kinds_declare() -> None:
    assert default_pricing()["llms_txt"] == DEFAULT_PRICING["llms_txt"]
    assert load_pricing("") == default_pricing()


@pytest.mark.parametrize(
    ("urls", "cents", "display"),
    [
        (1, 50, "$0.50"),
        (50, 50, "$0.50"),
        (100, 100, "$1.00"),
        (101, 101, "$1.01"),
        (102, 101, "$1.01"),
        (103, 102, "$1.02"),
        (5000, 1350, "$13.50"),
    ],
)
def test_default_gemini_price(urls: int, cents: int, display: str) -> None:
    quote = quote_for(DEFAULT_PRICING, KIND, Params("gemini", urls))
    assert quote is not None
    assert (quote.amount_cents, quote.currency, quote.display, quote.url_count) == (cents, "usd", display, urls)


def test_free_options_have_no_quote_and_paid_kinds_cost_the_minimum() -> None:
    assert quote_for(DEFAULT_PRICING, KIND, Params("extractive")) is None
    paid_kind = JobKind(name="other", params=Params, handler=handler, paid=True)
    quote = quote_for(DEFAULT_PRICING, paid_kind, Params())
    assert quote is not None and quote.amount_cents == 50


def test_pricing_from_json_with_any_provider_and_other_currency() -> None:
    table = load_pricing('{"other": {"*": {"currency": "eur", "base_cents": 99.5, "minimum_cents": 100}}}')
    quote = quote_for(table, JobKind(name="other", params=Params, handler=handler), Params())
    assert quote is not None and (quote.amount_cents, quote.display) == (100, "€1.00")


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '{"k": {"*": {"currency": "USD"}}}',
        '{"k": {"*": {"tiers": [{"up_to": null, "cents_per_url": 1}, {"up_to": 5, "cents_per_url": 1}]}}}',
        '{"k": {"*": {"tiers": [{"up_to": 9, "cents_per_url": 1}, {"up_to": 5, "cents_per_url": 1}]}}}',
        '{"k": {"*": {"minimum_cents": 0}}}',
    ],
)
def test_invalid_pricing_is_refused(raw: str) -> None:
    with pytest.raises(PricingError):
        load_pricing(raw)
