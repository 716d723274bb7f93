"""The silver layer's versioned rules (`config/silver.yaml`), loaded and checked once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ztlake.spark import REPO_ROOT

DEFAULT_PATH = REPO_ROOT / "config" / "silver.yaml"


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class GroupGrant:
    resource: str | None = None
    aws_permission_set: str | None = None
    privileged: bool = False


@dataclass(frozen=True)
class SilverConfig:
    version: str
    windows_domains: dict[str, str] = field(default_factory=dict)
    internal_cidrs: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    edr_healthy_within_days: int = 7
    groups: dict[str, GroupGrant] = field(default_factory=dict)
    just_in_time_groups: tuple[str, ...] = ()
    privileged_policies: tuple[str, ...] = ("AdministratorAccess",)


def load(path: str | Path | None = None) -> SilverConfig:
    p = Path(path) if path else DEFAULT_PATH
    try:
        raw: dict[str, Any] = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: {exc}") from exc
    if not raw.get("version"):
        raise ConfigError(f"{p}: `version` is required")
    ident, net, dev, ent = (raw.get(k) or {} for k in ("identities", "network", "devices", "entitlements"))
    try:
        groups = {str(g): GroupGrant(**(v or {})) for g, v in (ent.get("groups") or {}).items()}
    except TypeError as exc:
        raise ConfigError(f"{p}: entitlements.groups: {exc}") from exc
    return SilverConfig(
        version=str(raw["version"]),
        windows_domains={str(k).upper(): str(v).lower() for k, v in (ident.get("windows_domains") or {}).items()},
        internal_cidrs=tuple(net.get("internal_cidrs") or SilverConfig.internal_cidrs),
        edr_healthy_within_days=int(dev.get("edr_healthy_within_days", 7)),
        groups=groups,
        just_in_time_groups=tuple(ent.get("just_in_time_groups") or ()),
        privileged_policies=tuple(ent.get("privileged_policies") or ("AdministratorAccess",)),
    )
