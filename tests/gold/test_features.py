"""Named feature values on the tiny hand-built org (tests/gold/tiny_org.py), and proof that a
night's cost does not grow with the lake's age."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from features.config import load as load_features
from tests.gold import tiny_org as O
from ztlake import delta_io
from ztlake.tables import DEVICE_FEATURES_DAILY, IDENTITY_BASELINES, IDENTITY_FEATURES_DAILY


def features(spark, lake, night, email):
    rows = delta_io.read(spark, IDENTITY_FEATURES_DAILY.path(lake)).where(
        (F.col("date") == night) & (F.col("email") == email)).collect()
    assert len(rows) == 1, f"expected one row for {email} on {night}, got {len(rows)}"
    return rows[0]


def test_first_night_has_no_baseline_so_novelty_is_unknown_not_zero(spark, tiny_lake):
    a = features(spark, tiny_lake.root, O.NIGHTS[0], "alice@example.com")
    assert a["baseline_days"] == 0
    assert a["new_devices"] is None and a["new_resources"] is None and a["rare_resources"] is None
    assert a["export_bytes_ratio"] is None  # nothing to compare against yet
    assert a["signins"] == 1 and a["distinct_devices"] == 1 and a["export_bytes"] == O.ROUTINE_EXPORT_BYTES


def test_alice_night3_travel_device_threat_and_export(spark, tiny_lake):
    a = features(spark, tiny_lake.root, O.N3, "alice@example.com")
    assert a["impossible_travel_pairs"] == 1  # London 09:00 -> Singapore 09:50; London -> London is not
    assert a["max_travel_kmh"] > 10_000
    assert a["new_devices"] == 1 and a["new_device_uids"] == ["dev-x"]
    assert a["unmanaged_devices_used"] == 1 and a["noncompliant_devices_used"] == 1
    assert a["distinct_countries"] == 2 and a["new_countries"] == 1
    assert a["threat_intel_hits"] == 1 and a["threat_intel_indicators"] == ["indicator--bad"]  # the expired one does not count
    assert a["export_bytes"] == O.BIG_EXPORT_BYTES + O.ROUTINE_EXPORT_BYTES
    assert a["export_bytes_baseline"] == pytest.approx(O.ROUTINE_EXPORT_BYTES)
    assert a["export_bytes_ratio"] == pytest.approx((O.BIG_EXPORT_BYTES + O.ROUTINE_EXPORT_BYTES + 1) / (O.ROUTINE_EXPORT_BYTES + 1))
    assert a["signins"] == 3 and a["baseline_days"] == 2
    assert a["sensitive_accesses"] == 3  # res-bi (high) query, routine export, big export


def test_bob_travel_across_midnight_and_rare_resource(spark, tiny_lake):
    b = features(spark, tiny_lake.root, O.N3, "bob@example.com")
    # Last sign-in of night 2 (London 23:50, kept in the baseline) -> New York 00:40.
    assert b["impossible_travel_pairs"] == 1
    assert b["new_resources"] == 1 and b["rare_resources"] == 1 and b["rare_resource_uids"] == ["res-payroll"]
    a = features(spark, tiny_lake.root, O.NIGHTS[3], "alice@example.com")
    assert a["rare_resources"] == 0 and a["impossible_travel_pairs"] == 0 and a["new_devices"] == 0


def test_account_state_termination_and_dormancy(spark, tiny_lake):
    d = features(spark, tiny_lake.root, O.N3, "dave@example.com")
    assert d["active_after_termination"] is True and d["days_after_termination"] == 1
    assert features(spark, tiny_lake.root, O.NIGHTS[1], "dave@example.com")["active_after_termination"] is False  # last day: fine
    c = features(spark, tiny_lake.root, O.N3, "carol@example.com")
    assert c["events_total"] == 0 and c["days_since_last_activity"] == 1
    assert features(spark, tiny_lake.root, O.NIGHTS[4], "dave@example.com")["days_since_last_activity"] == 2
    assert c["idle_since_source"] == "lake" and c["idle_since_date"] == O.NIGHTS[1]


def test_idle_days_reach_back_to_the_identity_providers_last_sign_in(spark, tiny_lake):
    """On the lake's first night only the identity provider knows carol was idle since June; on night
    4 it knows a night-3 sign-in the lake did not see, and the later of the two wins."""
    c1 = features(spark, tiny_lake.root, O.NIGHTS[0], "carol@example.com")
    assert c1["days_since_last_activity"] == (O.NIGHTS[0] - O.CAROL_LAST_LOGIN_BEFORE).days == 153
    assert (c1["idle_since_date"], c1["idle_since_source"]) == (O.CAROL_LAST_LOGIN_BEFORE, "identity_provider")
    c4 = features(spark, tiny_lake.root, O.NIGHTS[3], "carol@example.com")
    assert (c4["days_since_last_activity"], c4["idle_since_source"]) == (1, "identity_provider")  # the lake alone: 2
    a1 = features(spark, tiny_lake.root, O.NIGHTS[0], "alice@example.com")  # nothing known before the lake: since first seen
    assert (a1["days_since_last_activity"], a1["idle_since_source"]) == (0, "first_seen")


def test_privilege_and_token_features(spark, tiny_lake):
    c = features(spark, tiny_lake.root, O.NIGHTS[1], "carol@example.com")
    assert c["role_assumptions"] == 1 and c["iam_actions"] == 1
    assert c["privileged_actions"] == 1  # AssumeRole into AdministratorAccess; the read-only ListUsers is not
    assert c["max_token_age_hours"] == pytest.approx(10 / 60)
    assert c["privileged_actions_baseline"] == pytest.approx(1.0)


def test_off_hours_against_own_profile(spark, tiny_lake):
    b = features(spark, tiny_lake.root, O.N3, "bob@example.com")
    # His baseline's last sign-in is in London; before his profile holds 20 events, 00:40 there is off-hours.
    assert b["off_hours_events"] == 1
    assert b["off_hours_share"] == pytest.approx(1 / 4)  # 00:40 sign-in out of 4 events
    assert features(spark, tiny_lake.root, O.NIGHTS[3], "bob@example.com")["off_hours_events"] == 0


def _night3_features(spark, lake, auth=(), store=(), baseline=lambda b: b):
    """Night 3's identity features computed in memory from the tiny lake's inputs, with extra
    authentication and datastore rows and an edited baseline: {email: row}."""
    from features import build as FB
    from features import identity as ID
    from jobs.silver.build import Night
    from jobs.silver.config import load as load_silver

    cfg = load_features()
    x = FB.inputs(Night(spark, lake, O.N3, load_silver()))
    auth_df = x.auth.unionByName(spark.createDataFrame(list(auth), O.AUTH)) if auth else x.auth
    store_df = x.store.unionByName(spark.createDataFrame(list(store), O.STORE)) if store else x.store
    base = baseline(x.baseline_prev)
    events = ID.activity_events(auth_df, x.api, store_df, x.resources, x.threat, cfg)
    daily = ID.daily_activity(events, auth_df, x.api, store_df, x.devices, ())
    feats = ID.identity_features(O.N3, x.identities, daily, ID.travel(auth_df, base, cfg), base,
                                 ID.peer_resource_share(base, x.identities), True, cfg)
    return {r["email"]: r for r in feats.collect()}


def test_off_hours_read_rows_weigh_volume_not_events(spark, tiny_lake):
    """One 2-million-row query at 00:45 is one event among bob's four, but nearly all of his rows:
    `off_hours_read_rows` counts rows in his off-hours (the same hours as `off_hours_events`)."""
    assert features(spark, tiny_lake.root, O.N3, "bob@example.com")["off_hours_read_rows"] == 0  # his reads are at 10:00 and 11:00
    bulk = (O.uid("bob@example.com"), O.at(O.N3, 0, 45), "dev-b", "res-payroll", "10.0.0.6", "Query", "Success",
            2_000_000, 90_000_000, "ds-bob-night-bulk", O.N3, O.N3)
    got = _night3_features(spark, tiny_lake.root, store=[bulk])
    b = got["bob@example.com"]
    assert b["read_rows"] == 2_000_000 + 1000 + 10
    assert b["off_hours_read_rows"] == 2_000_000
    assert b["off_hours_events"] == 2 and b["off_hours_share"] == pytest.approx(2 / 5)  # by events, well under half
    assert got["alice@example.com"]["off_hours_read_rows"] == 0 and got["alice@example.com"]["read_rows"] > 2_000_000
    assert got["carol@example.com"]["off_hours_read_rows"] == 0  # idle tonight


def test_off_hours_are_read_in_the_identitys_own_time_zone_and_spare_the_hours_it_routinely_works(spark, tiny_lake):
    """Carol is new to sign-ins (no longitude in her baseline); tonight she signs in from New York.
    Her working hours are New York's: 21:00 UTC (16:00 there) is a working hour and 08:30 UTC
    (03:30 there) is not, so of her 500k-row read at 08:40 and 10-row read at 21:10 only the first
    is off-hours. A fixed UTC window said the opposite. Bob (London, from his baseline) routinely
    works at 02:00: his own profile says so, so 02:10 is not off-hours; 14:30 is a working hour
    his profile has never seen, and that is not off-hours either. 00:40 still is."""
    c, b = O.uid("carol@example.com"), O.uid("bob@example.com")
    ny = O.NEW_YORK
    auth = [O._auth("carol@example.com", O.at(O.N3, 21), ny, "dev-c", ip="64.233.160.20"),
            O._auth("carol@example.com", O.at(O.N3, 8, 30), ny, "dev-c", ip="64.233.160.20"),
            O._auth("bob@example.com", O.at(O.N3, 2, 10), O.LONDON, "dev-b"),
            O._auth("bob@example.com", O.at(O.N3, 14, 30), O.LONDON, "dev-b")]
    store = [(c, O.at(O.N3, 8, 40), "dev-c", "res-bi", "10.0.0.7", "Query", "Success", 500_000, 9_000_000, "ds-carol-0840", O.N3, O.N3),
             (c, O.at(O.N3, 21, 10), "dev-c", "res-bi", "10.0.0.7", "Query", "Success", 10, 900, "ds-carol-2110", O.N3, O.N3)]
    night_owl = [30.0 if h == 2 else 0.0 for h in range(24)]  # 30 weighted events, all at 02:00 UTC

    def edit(base):
        return (base.withColumn("last_signin_lon", F.when(F.col("user_uid") == c, F.lit(None)).otherwise(F.col("last_signin_lon")))
                .withColumn("hour_weights", F.when(F.col("user_uid") == b, F.array(*[F.lit(x) for x in night_owl]))
                            .otherwise(F.col("hour_weights"))))

    got = _night3_features(spark, tiny_lake.root, auth=auth, store=store, baseline=edit)
    carol, bob = got["carol@example.com"], got["bob@example.com"]
    assert carol["events_total"] == 4
    assert carol["off_hours_events"] == 2  # the 08:30 sign-in and the 08:40 read
    assert carol["off_hours_read_rows"] == 500_000
    # bob: 00:40 sign-in (off-hours), 02:10 (his routine), 09:00, 11:00 payroll read, 14:30 and 10:00 query
    assert bob["events_total"] == 6
    assert bob["off_hours_events"] == 1


def test_device_features_posture_and_users(spark, tiny_lake):
    rows = {r["device_uid"]: r for r in delta_io.read(spark, DEVICE_FEATURES_DAILY.path(tiny_lake.root)).where(
        F.col("date") == O.N3).collect()}
    x = rows["dev-x"]
    assert x["managed"] is False and x["new_device"] is True and x["users"] == ["usr_alice"]
    assert x["user_emails"] == ["alice@example.com"] and x["sensitive_accesses"] == 1
    assert rows["dev-c"]["user_count"] == 0  # carol idle tonight
    assert rows["dev-b"]["user_count"] == 1 and rows["dev-b"]["new_device"] is False


def test_night_cost_does_not_grow_with_history(spark, tiny_lake):
    """Night 5 reads exactly what night 4 reads (same routine): one baseline row per identity and the
    night's own events, although the feature table holds every earlier night."""
    s4, s5 = tiny_lake.scanned[O.NIGHTS[3]], tiny_lake.scanned[O.NIGHTS[4]]
    assert s4 == s5
    assert s5["baseline_prev"] == len(O.PEOPLE)
    assert s5["auth"] == sum(1 for t, _ in O.events(O.NIGHTS[4]) if t == "authentication")
    assert delta_io.read(spark, IDENTITY_FEATURES_DAILY.path(tiny_lake.root)).count() == len(O.PEOPLE) * len(O.NIGHTS)


def test_baseline_rolled_forward_equals_recomputation_from_history(spark, tiny_lake):
    """The incremental baseline after night 5 equals the weighted mean recomputed over all nights."""
    d = load_features().decay
    daily = [O.ROUTINE_EXPORT_BYTES, O.ROUTINE_EXPORT_BYTES, O.BIG_EXPORT_BYTES + O.ROUTINE_EXPORT_BYTES,
             O.ROUTINE_EXPORT_BYTES, O.ROUTINE_EXPORT_BYTES]
    weights = [d ** (len(daily) - 1 - i) for i in range(len(daily))]
    expected = sum(w * x for w, x in zip(weights, daily, strict=False)) / sum(weights)
    b = delta_io.read(spark, IDENTITY_BASELINES.path(tiny_lake.root)).where(
        (F.col("date") == O.NIGHTS[4]) & (F.col("user_uid") == "usr_alice")).first()
    assert b["ew_export_bytes"] == pytest.approx(expected)
    assert b["active_days"] == 5 and sorted(b["known_devices"]) == ["dev-a", "dev-x"]
    assert b["last_activity_date"] == O.NIGHTS[4]


def test_a_feature_config_with_the_retired_utc_working_hours_is_refused_with_its_replacement(tmp_path):
    """`default_working_hours_utc` meant UTC; its replacement means each identity's own time zone.
    A config still naming the old key is refused, not silently read with the default hours."""
    from features.config import ConfigError

    cfg = tmp_path / "features.yaml"
    cfg.write_text('version: "x"\noff_hours:\n  default_working_hours_utc: [6, 20]\n')
    with pytest.raises(ConfigError, match="working_hours_local"):
        load_features(cfg)
    cfg.write_text('version: "x"\noff_hours:\n  working_hours_local: [7, 19]\n')
    assert load_features(cfg).working_hours_local == (7, 19)
    assert load_features().working_hours_local == (6, 20)
