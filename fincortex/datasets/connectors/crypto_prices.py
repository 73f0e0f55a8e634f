"""BTC, ETH and LTC daily OHLCV bars (Bitstamp, Bitfinex, Coinbase exports).

Each (file, symbol) series imports into the prices table; a daily close is known only when the bar ends,
so available_at is the bar start + 1 day (fincortex/prices.py, the same rule as `fincortex prices import`).
"""

from __future__ import annotations

from fincortex.datasets.connector import PriceConnector


class CryptoPrices(PriceConnector):
    name = "crypto-prices"
    description = "BTC/ETH/LTC daily OHLCV (Bitstamp, Bitfinex, Coinbase)"
    available_at_rule = "bar start + 1 day (a daily close is known only when the bar ends)"
    subsets = ("bitstamp", "btcusd")
    mirror_prefix = "prices/"
    # one series per symbol: the prices table keys bars by (symbol, ts), so a second exchange's BTC or ETH
    # (Bitstamp's BTC columns, the Bitfinex file) would overwrite the first; `fincortex prices import` takes them
    series = (
        ("prices/btcusd_daily_2011_2022.csv", "BTC"),
        ("prices/bitstamp_btc_eth_ltc_usd_daily.csv", "ETH"),
        ("prices/bitstamp_btc_eth_ltc_usd_daily.csv", "LTC"),
    )
