"""Run nightly partitions through the Dagster `nightly` job, the same job the schedule targets."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from ztlake.tables import GOLD, LAYERS, NIGHTLY_JOB, REPORTS_DIR


@dataclass
class NightResult:
    night: dt.date
    success: bool
    run_id: str
    failed_step: str | None = None
    message: str = ""


def _instance(dagster_home: str | None) -> DagsterInstance:
    home = dagster_home or os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.ephemeral()
    path = Path(home).resolve()
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").touch(exist_ok=True)
    return DagsterInstance.from_config(str(path))


def _first_failure(events: Sequence[Any]) -> tuple[str | None, str]:
    """The first failed gate (asset check) or step of a run, as (step, one-line reason)."""
    for e in events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = e.event_specific_data
            if not ev.passed:
                return e.step_key, (f"check {ev.check_name} on {ev.asset_key.to_user_string()} failed: "
                                    f"{(ev.description or '').splitlines()[0] if ev.description else ''}")
    for e in events:
        if e.is_step_failure:
            err = e.step_failure_data.error
            message = (err.cause.message if err and err.cause else err.message if err else "").strip()
            return e.step_key, message.splitlines()[0] if message else ""
    return None, ""


def run_nights(
    landing: str,
    lake: str,
    nights: list[dt.date],
    master: str = "local[*]",
    dagster_home: str | None = None,
    echo: Callable[[str], None] = lambda _: None,
    layers: tuple[str, ...] | None = None,
    labels: str | None = None,
    retrain_every_days: int | None = None,
) -> list[NightResult]:
    """Materialize each night in date order; stops at the first failed night (later nights depend on it).

    `layers` limits the run to those layers' assets (for example `("bronze",)` to land only).
    `labels` (labelled episodes, JSON lines) feeds the models' backtests; `retrain_every_days`
    overrides config/models.yaml."""
    from dagster_project.definitions import build_definitions
    from dagster_project.resources import LakeResource, ModelsResource, SparkResource

    defs = build_definitions(SparkResource(master=master), LakeResource(root=lake, landing=landing),
                             ModelsResource(labels=labels, retrain_every_days=retrain_every_days))
    job = defs.resolve_job_def(NIGHTLY_JOB)
    selection = None
    if layers:
        unknown = set(layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {', '.join(LAYERS)}")
        # The nightly report is rendered from gold: it runs with the gold layer.
        wanted = set(layers) | ({REPORTS_DIR} if GOLD in layers else set())
        selection = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] in wanted]
    results: list[NightResult] = []
    with _instance(dagster_home) as instance:
        for night in nights:
            echo(f"night {night}: running job '{NIGHTLY_JOB}'")
            result = job.execute_in_process(partition_key=night.isoformat(), instance=instance, raise_on_error=False,
                                            asset_selection=selection)
            if result.success:
                results.append(NightResult(night, True, result.run_id))
                echo(f"night {night}: ok (run {result.run_id})")
                continue
            step, message = _first_failure(result.all_events)
            results.append(NightResult(night, False, result.run_id, step, message))
            break
    return results
