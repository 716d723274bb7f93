"""Run nightly partitions through the Dagster `nightly` job, the same job the schedule targets."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance

from ztlake.tables import NIGHTLY_JOB


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


def run_nights(
    landing: str,
    lake: str,
    nights: list[dt.date],
    master: str = "local[*]",
    dagster_home: str | None = None,
    echo: Callable[[str], None] = lambda _: None,
) -> list[NightResult]:
    """Materialize each night in date order; stops at the first failed night (later nights depend on it)."""
    from dagster_project.definitions import build_definitions
    from dagster_project.resources import LakeResource, SparkResource

    defs = build_definitions(SparkResource(master=master), LakeResource(root=lake, landing=landing))
    job = defs.resolve_job_def(NIGHTLY_JOB)
    results: list[NightResult] = []
    with _instance(dagster_home) as instance:
        for night in nights:
            echo(f"night {night}: running job '{NIGHTLY_JOB}'")
            result = job.execute_in_process(partition_key=night.isoformat(), instance=instance, raise_on_error=False)
            if result.success:
                results.append(NightResult(night, True, result.run_id))
                echo(f"night {night}: ok (run {result.run_id})")
                continue
            failure = next(
                (e for e in result.all_events if e.is_step_failure or e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and not e.event_specific_data.evaluation.passed),  # type: ignore[union-attr]
                None,
            )
            step = failure.step_key if failure else None
            message = ""
            if failure is not None and failure.is_step_failure:
                err = failure.step_failure_data.error  # type: ignore[union-attr]
                message = (err.cause.message if err and err.cause else err.message if err else "").strip()
            results.append(NightResult(night, False, result.run_id, step, message.splitlines()[0] if message else ""))
            break
    return results
