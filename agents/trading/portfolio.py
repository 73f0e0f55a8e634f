"""Cash + position ledger for one agent on one symbol, with fees and slippage.

Why hand-written: a backtest ledger is a few dozen lines whose exact cost arithmetic the tests pin
down (fees and slippage must change P&L by a known amount); the libraries that do this (backtrader,
vectorbt, zipline) would each bring a whole event engine and their own data model.

Cost model: a buy fills at open * (1 + slippage), a sell at open * (1 - slippage); the fee is
`fee_bps` of the filled notional, paid in cash. Long-only by default: no negative position and no
borrowing (buys are capped by cash, fees included). With `allow_short`, weights may go to -max_gross.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class OrderError(ValueError):
    """An order that cannot be understood (not one that merely cannot be filled in full)."""


@dataclass(frozen=True)
class Costs:
    fee_bps: float = 10.0
    slippage_bps: float = 5.0

    def __post_init__(self) -> None:
        for name in ("fee_bps", "slippage_bps"):
            value = getattr(self, name)
            if not 0 <= value < 10_000:
                raise OrderError(f"{name}={value} must be in [0, 10000) basis points")

    @property
    def fee(self) -> float:
        return self.fee_bps / 1e4

    @property
    def slippage(self) -> float:
        return self.slippage_bps / 1e4


@dataclass(frozen=True)
class Order:
    """`target_weight`: position value / equity after the trade; `quantity`: signed units to trade."""

    kind: str
    value: float

    @staticmethod
    def target_weight(weight: float) -> "Order":
        return Order("target_weight", float(weight))

    @staticmethod
    def quantity(units: float) -> "Order":
        return Order("quantity", float(units))

    def __post_init__(self) -> None:
        if self.kind not in ("target_weight", "quantity"):
            raise OrderError(f"order kind {self.kind!r} is not target_weight or quantity")
        if self.value != self.value:  # NaN
            raise OrderError(f"{self.kind} order value is NaN")


@dataclass(frozen=True)
class Fill:
    ts: datetime
    side: str  # buy | sell
    quantity: float  # > 0
    ref_price: float
    fill_price: float
    fee: float
    realized_pnl: float | None

    @property
    def notional(self) -> float:
        return self.quantity * self.fill_price


@dataclass(frozen=True)
class PortfolioSnapshot:
    """What an agent knows about its own book at decision time (marked at the last visible close)."""

    cash: float
    quantity: float
    avg_cost: float  # per unit, fees included; 0 when flat
    equity: float
    weight: float
    peak_equity: float
    realized_pnl: float

    @property
    def drawdown(self) -> float:
        return 0.0 if self.peak_equity <= 0 else max(0.0, 1 - self.equity / self.peak_equity)

    @property
    def unrealized_return(self) -> float:
        if self.quantity == 0 or self.avg_cost <= 0 or self.equity <= 0:
            return 0.0
        mark = (self.weight * self.equity) / self.quantity
        return mark / self.avg_cost - 1 if self.quantity > 0 else 1 - mark / self.avg_cost


class Portfolio:
    def __init__(
        self, initial_cash: float, costs: Costs, allow_short: bool = False, max_gross: float = 1.0,
        min_trade_frac: float = 1e-3,
    ) -> None:
        if initial_cash <= 0:
            raise OrderError(f"initial_cash={initial_cash} must be positive")
        if max_gross <= 0:
            raise OrderError(f"max_gross={max_gross} must be positive")
        self.cash = float(initial_cash)
        self.quantity = 0.0
        self.cost_basis = 0.0  # signed: cash paid for a long (fees in), cash received for a short
        self.costs = costs
        self.allow_short = allow_short
        self.max_gross = max_gross
        self.min_trade_frac = min_trade_frac  # skip trades smaller than this share of equity
        self.realized_pnl = 0.0
        self.peak_equity = float(initial_cash)

    # -- valuation -------------------------------------------------------------------------------
    def equity(self, price: float) -> float:
        return self.cash + self.quantity * price

    def weight(self, price: float) -> float:
        eq = self.equity(price)
        return 0.0 if eq <= 0 else self.quantity * price / eq

    @property
    def avg_cost(self) -> float:
        return abs(self.cost_basis / self.quantity) if self.quantity else 0.0

    def mark(self, price: float) -> float:
        eq = self.equity(price)
        self.peak_equity = max(self.peak_equity, eq)
        return eq

    def snapshot(self, price: float) -> PortfolioSnapshot:
        eq = self.equity(price)
        return PortfolioSnapshot(
            self.cash, self.quantity, self.avg_cost, eq, self.weight(price),
            max(self.peak_equity, eq), self.realized_pnl,
        )

    # -- trading ---------------------------------------------------------------------------------
    def execute(self, order: Order, price: float, ts: datetime) -> Fill | None:
        """Fill `order` at reference `price` (the bar open); None when there is nothing to trade."""
        if not price > 0:
            raise OrderError(f"cannot trade at price {price} on {ts}")
        delta = self._delta_units(order, price)
        if abs(delta) * price < self.min_trade_frac * max(self.equity(price), 0.0) or delta == 0:
            return None
        return self._buy(delta, price, ts) if delta > 0 else self._sell(-delta, price, ts)

    def _delta_units(self, order: Order, price: float) -> float:
        floor = -self.max_gross if self.allow_short else 0.0
        if order.kind == "target_weight":
            weight = min(max(order.value, floor), self.max_gross)
            target_units = weight * self.equity(price) / price
            return target_units - self.quantity
        units = order.value
        if not self.allow_short:
            units = max(units, -self.quantity)  # cannot sell more than held
        return units

    def _buy(self, units: float, price: float, ts: datetime) -> Fill | None:
        fill_price = price * (1 + self.costs.slippage)
        cost_per_unit = fill_price * (1 + self.costs.fee)
        if self.quantity >= 0:  # opening or adding to a long: cash-limited, no borrowing
            units = min(units, max(self.cash, 0.0) / cost_per_unit)
            if units <= 0:
                return None
        fee = units * fill_price * self.costs.fee
        realized = None
        if self.quantity < 0:  # covering a short first
            cover = min(units, -self.quantity)
            entry = self.cost_basis / -self.quantity  # cash received per unit shorted
            realized = cover * (entry - cost_per_unit)
            self.cost_basis -= entry * cover
            self.realized_pnl += realized
            opened = units - cover
            self.cost_basis += opened * cost_per_unit
        else:
            self.cost_basis += units * cost_per_unit
        self.cash -= units * cost_per_unit
        self.quantity += units
        if abs(self.quantity) < 1e-12:
            self.quantity, self.cost_basis = 0.0, 0.0
        return Fill(ts, "buy", units, price, fill_price, fee, realized)

    def _sell(self, units: float, price: float, ts: datetime) -> Fill | None:
        fill_price = price * (1 - self.costs.slippage)
        proceeds_per_unit = fill_price * (1 - self.costs.fee)
        if not self.allow_short:
            units = min(units, self.quantity)
        else:  # gross short exposure capped at max_gross of equity
            max_short_units = self.max_gross * max(self.equity(price), 0.0) / price
            units = min(units, self.quantity + max_short_units)
        if units <= 0:
            return None
        fee = units * fill_price * self.costs.fee
        realized = None
        if self.quantity > 0:
            close = min(units, self.quantity)
            avg = self.cost_basis / self.quantity
            realized = close * (proceeds_per_unit - avg)
            self.cost_basis -= avg * close
            self.realized_pnl += realized
            opened = units - close
            self.cost_basis += opened * proceeds_per_unit  # a new short records cash received
        else:
            self.cost_basis += units * proceeds_per_unit
        self.cash += units * proceeds_per_unit
        self.quantity -= units
        if abs(self.quantity) < 1e-12:
            self.quantity, self.cost_basis = 0.0, 0.0
        return Fill(ts, "sell", units, price, fill_price, fee, realized)
