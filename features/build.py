"""Feature IO: read one night's silver (and yesterday's baseline), run the pure transforms in
`features.identity` / `features.device`, write the night's gold partitions. Dagster assets call these.

What a night reads is bounded by that night: tonight's landed events, tonight's snapshots and one
baseline partition. `scanned` reports those row counts so operators (and a test) can see that
night N reads what night 3 reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features import device as DV
from features import identity as ID
from features.config import FeatureConfig
from jobs.silver.build import Night, conform, materialize, tonight_events, with_schema, write_snapshot
from jobs.silver.identities import IDENTITIES_SCHEMA
from ztlake import delta_io
from ztlake.tables import DEVICE_FEATURES_DAILY, IDENTITY_BASELINES, IDENTITY_FEATURES_DAILY, silver


@dataclass
class FeatureInputs:
    auth: DataFrame
    api: DataFrame
    store: DataFrame
    identities: DataFrame
    devices: DataFrame
    resources: DataFrame
    threat: DataFrame
    baseline_prev: DataFrame

    def scanned(self) -> dict[str, int]:
        """Rows each input holds for this night (what the night reads)."""
        return {name: getattr(self, name).count() for name in ("auth", "api", "store", "identities", "devices", "baseline_prev")}


def inputs(n: Night) -> FeatureInputs:
    return FeatureInputs(
        auth=tonight_events(n, "authentication"), api=tonight_events(n, "api_activity"), store=tonight_events(n, "datastore_activity"),
        identities=with_schema(n.silver(silver("identities")), IDENTITIES_SCHEMA), devices=n.silver(silver("devices")), resources=n.silver(silver("resources")),
        threat=n.silver(silver("threat_indicators")), baseline_prev=n.previous(IDENTITY_BASELINES, ID.BASELINE_DDL),
    )


def build_identity_features(n: Night, cfg: FeatureConfig) -> tuple[DataFrame, dict[str, int]]:
    """Writes gold/identity_features_daily and gold/identity_baselines for the night."""
    x = inputs(n)
    scanned = x.scanned()
    events = ID.activity_events(x.auth, x.api, x.store, x.resources, x.threat, cfg)
    daily = ID.daily_activity(events, x.auth, x.api, x.store, x.devices, n.cfg.privileged_policies).localCheckpoint()
    trips = ID.travel(x.auth, x.baseline_prev, cfg).localCheckpoint()
    peers = ID.peer_resource_share(x.baseline_prev, x.identities)
    has_history = scanned["baseline_prev"] > 0
    feats = materialize(conform(ID.identity_features(n.night, x.identities, daily, trips, x.baseline_prev, peers, has_history, cfg),
                                ID.IDENTITY_FEATURES_DDL))
    write_snapshot(n, IDENTITY_FEATURES_DAILY, feats)
    write_snapshot(n, IDENTITY_BASELINES, conform(ID.roll_baseline(n.night, x.baseline_prev, daily, trips, feats, cfg), ID.BASELINE_DDL))
    return n.keep(IDENTITY_FEATURES_DAILY, feats), scanned


def build_device_features(n: Night, cfg: FeatureConfig) -> DataFrame:
    x = inputs(n)
    events = ID.activity_events(x.auth, x.api, x.store, x.resources, x.threat, cfg)
    df = materialize(conform(DV.device_features(n.night, x.devices, events, x.identities, cfg.version), DV.DEVICE_FEATURES_DDL))
    write_snapshot(n, DEVICE_FEATURES_DAILY, df)
    return n.keep(DEVICE_FEATURES_DAILY, df)


def read_window(n: Night, days: int) -> DataFrame:
    """Identity features of the `days` nights ending tonight (for training; partition-pruned)."""
    start = n.night - dt.timedelta(days=days - 1)
    return delta_io.read(n.spark, IDENTITY_FEATURES_DAILY.path(n.lake)).where(
        (F.col("date") >= F.lit(start)) & (F.col("date") <= F.lit(n.night)))
