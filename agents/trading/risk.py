"""Risk profiles (the trader's character) and the risk manager that overrides the trader.

The risk manager runs after the trader on every step, in code: position limit, stop-loss on the
average cost (checked on the last visible close, so it exits at the next open, not intraday) and a
drawdown brake that caps exposure while equity is far below its peak.
"""

from __future__ import annotations

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
    drift_band: float = 0.05  # a held book is trimmed only when it drifts this far past a cap (no daily churn)
    size_steps: dict[str, float] = field(
        default_factory=lambda: {"small": 0.25, "medium": 0.5, "large": 1.0})  # share of max_position

    def __post_init__(self) -> None:
        for name in ("max_position", "stop_loss", "drawdown_brake", "brake_position"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"risk profile {self.name!r}: {name}={value} must be in (0, 1]")


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


@dataclass(frozen=True)
class RiskCheck:
    weight: float | None  # None: keep the book as it is
    interventions: tuple[str, ...]


def apply_risk(
    profile: RiskProfile, proposed: float | None, book: PortfolioSnapshot, last_close: float,
    allow_short: bool = False,
) -> RiskCheck:
    """Final target weight after the limits; `proposed` None means the trader holds."""
    notes: list[str] = []
    target = proposed
    if book.quantity > 0 and book.avg_cost > 0 and last_close <= book.avg_cost * (1 - profile.stop_loss):
        notes.append(f"stop-loss: close {last_close:.2f} <= {1 - profile.stop_loss:.0%} of cost {book.avg_cost:.2f}")
        return RiskCheck(0.0, tuple(notes))
    if book.quantity < 0 and book.avg_cost > 0 and last_close >= book.avg_cost * (1 + profile.stop_loss):
        notes.append(f"stop-loss (short): close {last_close:.2f} >= {1 + profile.stop_loss:.0%} of entry")
        return RiskCheck(0.0, tuple(notes))
    cap = profile.max_position
    if book.drawdown >= profile.drawdown_brake:
        cap = min(cap, profile.brake_position)
        notes.append(f"drawdown brake: {book.drawdown:.1%} from peak, exposure capped at {cap:.0%}")
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
