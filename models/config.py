"""Model settings (`config/models.yaml`), loaded and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jobs.silver.config import ConfigError
from ztlake.spark import REPO_ROOT

DEFAULT_PATH = REPO_ROOT / "config" / "models.yaml"


@dataclass(frozen=True)
class ModelConfig:
    version: str
    seed: int = 7
    retrain_every_days: int = 7
    window_days: int = 28
    holdout_days: int = 2
    budgets: tuple[float, ...] = (0.005, 0.01, 0.05)
    max_training_rows: int = 50_000
    n_estimators: int = 200
    max_samples: int = 256
    top_factors: int = 3
    k_min: int = 2
    k_max: int = 12
    department_weight: float = 1.0
    title_weight: float = 0.5
    outlier_coverage: float = 0.25
    privileged_multiplier: float = 2.0
    min_peers: int = 4


def load(path: str | Path | None = None, **overrides: Any) -> ModelConfig:
    p = Path(path) if path else DEFAULT_PATH
    try:
        raw: dict[str, Any] = yaml.safe_load(p.read_text()) or {}
        b, g = raw.get("behaviour", {}), raw.get("peer_groups", {})
        values: dict[str, Any] = dict(
            version=str(raw["version"]), seed=int(raw.get("seed", 7)), retrain_every_days=int(raw.get("retrain_every_days", 7)),
            window_days=int(raw.get("window_days", 28)), holdout_days=int(raw.get("holdout_days", 2)),
            budgets=tuple(float(x) for x in raw.get("budgets", [0.005, 0.01, 0.05])),
            max_training_rows=int(b.get("max_training_rows", 50_000)), n_estimators=int(b.get("n_estimators", 200)),
            max_samples=int(b.get("max_samples", 256)), top_factors=int(b.get("top_factors", 3)),
            k_min=int(g.get("k_min", 2)), k_max=int(g.get("k_max", 12)), department_weight=float(g.get("department_weight", 1.0)),
            title_weight=float(g.get("title_weight", 0.5)), outlier_coverage=float(g.get("outlier_coverage", 0.25)),
            privileged_multiplier=float(g.get("privileged_multiplier", 2.0)), min_peers=int(g.get("min_peers", 4)),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{p}: invalid model config: {e!r}") from e
    values.update({k: v for k, v in overrides.items() if v is not None})
    cfg = ModelConfig(**values)
    if cfg.retrain_every_days < 1 or cfg.holdout_days < 1 or cfg.window_days <= cfg.holdout_days or not cfg.budgets:
        raise ConfigError(f"{p}: need retrain_every_days >= 1, holdout_days >= 1, window_days > holdout_days and budgets")
    return cfg
