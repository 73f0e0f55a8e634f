"""Risk profiles (the trader's character) and the risk manager that overrides the trader.

The risk manager runs after the trader on every step, in code: position limit, stop-loss on the
average cost (checked on the last visible close, so it exits at the next open, not intraday) and a
drawdown brake that caps exposure while equity is far below its peak.

The brake re-arms (it used to ratchet: measured from the all-time peak, a book 25% down under a 25% cap
could almost never climb back, and the brake stayed on for 662 of 730 days). Rule (`DrawdownBrake`):
the drawdown is measured from the *rolling* peak of the last `brake_window` decision days' equity; the
brake engages when it reaches `drawdown_brake` and releases when it has halved (falls to
`brake_release` x `drawdown_brake`) -- or when the old peak leaves the window -- or when the *market* has
rebounded `brake_rebound` (15%) above its lowest close since the brake engaged (the rolling peak then
restarts at the equity of that day, so the brake re-arms for a fresh 25% fall): a book capped at 25% can
hardly win back its drawdown, so waiting for the equity alone cut exposure through the recoveries (BTC
2020: capped on 71 days of the rally after the March crash). No leverage: weights are
capped at 1 (the ledger cannot borrow) and `max_position` must lie in (0, 1].
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from fincortex.agents.trading.portfolio import PortfolioSnapshot


@dataclass(frozen=True)
class RiskProfile:
    name: str
    persona: str  # the trader's character, first line of its prompt
    max_position: float = 1.0  # |weight| cap
    stop_loss: float = 0.12  # exit when the position is this far below its average cost
    drawdown_brake: float = 0.25  # equity drawdown from peak that engages the brake
    brake_position: float = 0.25  # |weight| cap while the brake is engaged
    brake_window: int = 90  # decision days of equity the brake's peak is taken over (rolling peak)
    brake_release: float = 0.5  # the brake releases once the drawdown is below this share of drawdown_brake
    brake_rebound: float | None = 0.15  # ... or once the price is this far above its low since engagement (None: off)
    drift_band: float = 0.05  # a held book is trimmed only when it drifts this far past a cap (no daily churn)
    size_steps: dict[str, float] = field(
        default_factory=lambda: {"small": 0.25, "medium": 0.5, "large": 1.0})  # share of max_position

    def __post_init__(self) -> None:
        for name in ("max_position", "stop_loss", "drawdown_brake", "brake_position"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"risk profile {self.name!r}: {name}={value} must be in (0, 1]")
        if self.brake_window < 1 or not 0 <= self.brake_release < 1:
            raise ValueError(f"risk profile {self.name!r}: brake_window={self.brake_window} must be >= 1 and "
                             f"brake_release={self.brake_release} in [0, 1)")
        if self.brake_rebound is not None and self.brake_rebound <= 0:
            raise ValueError(f"risk profile {self.name!r}: brake_rebound={self.brake_rebound} must be > 0 or None")


PROFILES: dict[str, RiskProfile] = {
    "conservative": RiskProfile(
        "conservative", "You are a cautious crypto trader who protects capital first.",
        max_position=0.5, stop_loss=0.08, drawdown_brake=0.15, brake_position=0.1),
    "balanced": RiskProfile(
        "balanced", "You are a balanced crypto trader who weighs trend, news and risk."),
    "aggressive": RiskProfile(
        "aggressive", "You are a bold crypto trader who rides strong trends.",
        max_position=1.0, stop_loss=0.2, drawdown_brake=0.4, brake_position=0.5),
}


def get_profile(name: str | RiskProfile) -> RiskProfile:
    if isinstance(name, RiskProfile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown character {name!r}; choose from {', '.join(PROFILES)}") from None


class DrawdownBrake:
    """Stateful drawdown brake with a rolling peak and hysteresis; one per agent, fed once per decision."""

    def __init__(self, profile: RiskProfile) -> None:
        self.profile = profile
        self.history: deque[float] = deque(maxlen=profile.brake_window)
        self.engaged = False
        self.drawdown = 0.0
        self.days_engaged = 0
        self.low: float | None = None  # lowest price seen since the brake engaged

    def update(self, equity: float, price: float | None = None) -> bool:
        """Feed one decision's equity (and the last visible close, for the rebound release)."""
        self.history.append(float(equity))
        peak = max(self.history)
        self.drawdown = 0.0 if peak <= 0 else max(0.0, 1 - equity / peak)
        rebound = self.profile.brake_rebound
        if self.engaged and price is not None:
            self.low = price if self.low is None else min(self.low, price)
        if self.engaged and (self.drawdown <= self.profile.brake_release * self.profile.drawdown_brake
                             or (rebound is not None and self.low is not None and price is not None
                                 and price >= self.low * (1 + rebound))):
            if self.drawdown > self.profile.brake_release * self.profile.drawdown_brake:
                self.history.clear()  # released by the rebound: the drawdown is measured afresh from here
                self.history.append(float(equity))
                self.drawdown = 0.0
            self.engaged, self.low = False, None
        elif not self.engaged and self.drawdown >= self.profile.drawdown_brake:
            self.engaged, self.low = True, price
        self.days_engaged += int(self.engaged)
        return self.engaged


@dataclass(frozen=True)
class RiskCheck:
    weight: float | None  # None: keep the book as it is
    interventions: tuple[str, ...]


def apply_risk(
    profile: RiskProfile, proposed: float | None, book: PortfolioSnapshot, last_close: float,
    allow_short: bool = False, brake: DrawdownBrake | None = None,
) -> RiskCheck:
    """Final target weight after the limits; `proposed` None means the trader holds. `brake` (the agent's
    DrawdownBrake) is fed this step's equity; without one (a one-off check) the drawdown is the snapshot's,
    from its all-time peak -- an agent that trades day after day must pass its brake, or it ratchets."""
    notes: list[str] = []
    target = proposed
    if brake is not None:
        braked, drawdown = brake.update(book.equity, last_close), brake.drawdown  # fed every step, stop-loss days too
    else:
        braked, drawdown = book.drawdown >= profile.drawdown_brake, book.drawdown
    if book.quantity > 0 and book.avg_cost > 0 and last_close <= book.avg_cost * (1 - profile.stop_loss):
        notes.append(f"stop-loss: close {last_close:.2f} <= {1 - profile.stop_loss:.0%} of cost {book.avg_cost:.2f}")
        return RiskCheck(0.0, tuple(notes))
    if book.quantity < 0 and book.avg_cost > 0 and last_close >= book.avg_cost * (1 + profile.stop_loss):
        notes.append(f"stop-loss (short): close {last_close:.2f} >= {1 + profile.stop_loss:.0%} of entry")
        return RiskCheck(0.0, tuple(notes))
    cap = profile.max_position
    if braked:
        cap = min(cap, profile.brake_position)
        notes.append(f"drawdown brake: {drawdown:.1%} from peak, exposure capped at {cap:.0%}")
    floor = -cap if allow_short else 0.0
    if target is None:
        if book.weight > cap + profile.drift_band or book.weight < floor - profile.drift_band:
            target = min(max(book.weight, floor), cap)
            notes.append(f"position limit: weight {book.weight:.0%} trimmed to {target:.0%}")
        return RiskCheck(target, tuple(notes))
    clipped = min(max(target, floor), cap)
    if clipped != target:
        notes.append(f"position limit: proposed {target:.0%} clipped to {clipped:.0%}")
    return RiskCheck(clipped, tuple(notes))
