"""Run a silver table's suite through a Great Expectations checkpoint, keep the results in
`<lake>/quality/validation_results`, and refresh the Data Docs site under the lake."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from expectations.suites import Thresholds, load_thresholds, suite_for, validation_frame
from ztlake import delta_io
from ztlake.tables import SILVER_EVENT_TABLES, VALIDATION_RESULTS, gx_project_root

RESULTS_SCHEMA = StructType(
    [
        StructField("date", DateType()),
        StructField("run_id", StringType()),
        StructField("suite", StringType()),
        StructField("table", StringType()),
        StructField("expectation", StringType()),
        StructField("expectation_type", StringType()),
        StructField("column", StringType()),
        StructField("observed_value", StringType()),
        StructField("unexpected_percent", DoubleType()),
        StructField("threshold", StringType()),
        StructField("passed", BooleanType()),
        StructField("blocking", BooleanType()),
        StructField("thresholds_version", StringType()),
        StructField("validated_at", TimestampType()),
    ]
)
_LOCK = threading.Lock()


@dataclass
class ExpectationOutcome:
    expectation: str
    expectation_type: str
    column: str | None
    observed: Any
    unexpected_percent: float | None
    threshold: str
    passed: bool

    def describe(self) -> str:
        seen = f"{self.observed:.4f}" if isinstance(self.observed, float) else self.observed
        if self.unexpected_percent is not None and seen is None:
            seen = f"{self.unexpected_percent:.2f}% of rows unexpected"
        return f"{self.expectation} ({self.expectation_type} on {self.column or 'table'}): observed {seen}, expected {self.threshold}"


@dataclass
class SuiteOutcome:
    suite: str
    table: str
    blocking: bool
    thresholds_version: str
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    data_docs: str | None = None

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.passed]


def _threshold(kwargs: dict[str, Any]) -> str:
    parts = []
    for key in ("min_value", "max_value"):
        if kwargs.get(key) is not None:
            parts.append(f"{'>=' if key == 'min_value' else '<='} {kwargs[key]}")
    if "value_set" in kwargs:
        parts.append(f"in {sorted(map(str, kwargs['value_set']))}")
    if not parts:
        parts.append("no unexpected rows")
    return " and ".join(parts)


def _context(project_dir: str) -> Any:
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    Path(project_dir).mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="file", project_root_dir=project_dir)
    ctx.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    return ctx


def _nothing_applies(table: str, frame: DataFrame, suite: Any) -> list[tuple[str, str]]:
    """Joinability shares of an event table that no row tonight applies to (no DNS tonight, say) are
    not measured, rather than failed; they are removed from the suite and recorded as such."""
    if table not in SILVER_EVENT_TABLES:
        return []
    shares = [e for e in suite.expectations if e.meta and str(e.meta.get("id", "")).startswith("joinability.")]
    if not shares:
        return []
    counts = frame.agg(*[F.count(e.column).alias(e.column) for e in shares]).first()
    gone = [(e.meta["id"], e.column) for e in shares if counts is not None and counts[e.column] == 0]
    for e in shares:
        if (e.meta["id"], e.column) in gone:
            suite.expectations.remove(e)
    return gone


class NightGate:
    """The night's joinability gate: one Great Expectations context for every silver table.

    `check(table, rows)` validates rows that are already materialized (each expectation's result is
    stored by Great Expectations as it runs); `finish()` renders the Data Docs once and appends
    every outcome of the night to `<lake>/quality/validation_results` in one commit."""

    def __init__(self, spark: SparkSession, lake: str, night: dt.date, run_id: str, thresholds: Thresholds | None = None):
        self.spark, self.lake, self.night, self.run_id = spark, lake, night, run_id
        self.thresholds = thresholds or load_thresholds()
        local = "://" not in lake or lake.startswith("file:")
        self.project = gx_project_root(lake.removeprefix("file:")) if local else str(Path.home() / ".ztlake" / "quality")
        self.outcomes: list[SuiteOutcome] = []
        self._ctx: Any = None

    def _context(self) -> Any:
        if self._ctx is None:
            self._ctx = _context(self.project)
            self._source = self._ctx.data_sources.add_or_update_spark(name="silver")
        return self._ctx

    def check(self, table: str, df: DataFrame) -> SuiteOutcome:
        """Validate tonight's rows of a silver table; the outcome is recorded by `finish`."""
        import great_expectations as gx

        t = self.thresholds
        suite = suite_for(table, self.night, t)
        frame = validation_frame(table, df)
        not_measured = _nothing_applies(table, frame, suite)
        with _LOCK:  # one GE project per lake; validations of one run never interleave
            ctx = self._context()
            try:
                asset = self._source.get_asset(table)
            except (LookupError, KeyError, ValueError):
                asset = self._source.add_dataframe_asset(name=table)
            try:
                batch = asset.get_batch_definition("night")
            except (LookupError, KeyError, ValueError):
                batch = asset.add_batch_definition_whole_dataframe("night")
            suite = ctx.suites.add_or_update(suite)
            vd = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(name=f"silver.{table}", data=batch, suite=suite))
            result = vd.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
        outcome = SuiteOutcome(suite.name, table, t.blocking(table), t.version)
        for meta_id, column in not_measured:
            outcome.outcomes.append(ExpectationOutcome(meta_id, "expect_column_mean_to_be_between", column,
                                                       "not measured: no rows tonight to which the key applies", None, "n/a", True))
        for r in result.results:
            cfg = r.expectation_config
            res = r.result or {}
            outcome.outcomes.append(ExpectationOutcome(
                expectation=(cfg.meta or {}).get("id", cfg.type), expectation_type=cfg.type, column=cfg.kwargs.get("column"),
                observed=res.get("observed_value"), unexpected_percent=res.get("unexpected_percent"),
                threshold=_threshold(cfg.kwargs), passed=bool(r.success),
            ))
        outcome.outcomes.sort(key=lambda o: o.expectation)
        self.outcomes.append(outcome)
        return outcome

    def finish(self) -> str | None:
        """Render the Data Docs once and record the night's outcomes; returns the Data Docs URL."""
        docs = None
        if self._ctx is not None:
            with _LOCK:
                self._ctx.build_data_docs()
                docs = next((s["site_url"] for s in self._ctx.get_docs_sites_urls()), None)
        for o in self.outcomes:
            o.data_docs = docs
        record(self.spark, self.lake, self.outcomes, self.night, self.run_id)
        return docs


def validate(spark: SparkSession, lake: str, table: str, df: DataFrame, night: dt.date, run_id: str,
             thresholds: Thresholds | None = None) -> SuiteOutcome:
    """Validate one silver table's rows on its own (the nightly job gates a whole night with `NightGate`)."""
    gate = NightGate(spark, lake, night, run_id, thresholds)
    outcome = gate.check(table, df)
    gate.finish()
    return outcome


def record(spark: SparkSession, lake: str, outcomes: list[SuiteOutcome], night: dt.date, run_id: str) -> None:
    """Append the suites' results to `<lake>/quality/validation_results` (every run is kept)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        (night, run_id, outcome.suite, outcome.table, o.expectation, o.expectation_type, o.column,
         None if o.observed is None else str(o.observed), o.unexpected_percent, o.threshold, o.passed, outcome.blocking,
         outcome.thresholds_version, now)
        for outcome in outcomes
        for o in outcome.outcomes
    ]
    df = spark.createDataFrame(rows, RESULTS_SCHEMA)
    delta_io.append(df, VALIDATION_RESULTS.path(lake), ["date"])
