"""The feature definitions' versioned settings (`config/features.yaml`), loaded and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jobs.silver.config import ConfigError
from ztlake.spark import REPO_ROOT

DEFAULT_PATH = REPO_ROOT / "config" / "features.yaml"


@dataclass(frozen=True)
class FeatureConfig:
    version: str
    half_life_days: float = 14.0
    max_known: int = 200
    travel_min_distance_km: float = 500.0
    travel_max_kmh: float = 900.0
    rare_hour_share: float = 0.03
    min_baseline_events: float = 20.0
    working_hours_local: tuple[int, int] = (6, 20)
    rare_resource_share: float = 0.10
    sensitive_levels: tuple[str, ...] = ("high", "critical")
    edr_expected_os: tuple[str, ...] = ("windows", "macos", "linux")

    @property
    def decay(self) -> float:
        """Weight kept by yesterday's baseline when one more active day is added."""
        return float(0.5 ** (1.0 / self.half_life_days))


def load(path: str | Path | None = None) -> FeatureConfig:
    p = Path(path) if path else DEFAULT_PATH
    try:
        raw: dict[str, Any] = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{p}: cannot read feature config: {e}") from e
    try:
        base, travel, off, peers = raw.get("baseline", {}), raw.get("impossible_travel", {}), raw.get("off_hours", {}), raw.get("peers", {})
        if "default_working_hours_utc" in off:
            raise ConfigError(f"{p}: off_hours.default_working_hours_utc was replaced in features 2026.11.4 by "
                              "off_hours.working_hours_local: the same [start, end) hours, read in each identity's own time zone")
        start, end = off.get("working_hours_local", [6, 20])
        cfg = FeatureConfig(
            version=str(raw["version"]),
            half_life_days=float(base.get("half_life_days", 14)),
            max_known=int(base.get("max_known", 200)),
            travel_min_distance_km=float(travel.get("min_distance_km", 500)),
            travel_max_kmh=float(travel.get("max_kmh", 900)),
            rare_hour_share=float(off.get("rare_hour_share", 0.03)),
            min_baseline_events=float(off.get("min_baseline_events", 20)),
            working_hours_local=(int(start), int(end)),
            rare_resource_share=float(peers.get("rare_resource_share", 0.10)),
            sensitive_levels=tuple(str(s).lower() for s in raw.get("sensitive_levels", ["high", "critical"])),
            edr_expected_os=tuple(str(s).lower() for s in raw.get("edr_expected_os", ["windows", "macos", "linux"])),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{p}: invalid feature config: {e!r}") from e
    if not 0 < cfg.half_life_days or not 0 <= cfg.working_hours_local[0] < cfg.working_hours_local[1] <= 24:
        raise ConfigError(f"{p}: half_life_days must be > 0 and working hours a range within 0-24")
    return cfg
