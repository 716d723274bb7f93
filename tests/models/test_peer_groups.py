"""Peer groups on a hand-built org: the finance analyst holding dev-cloud admin ranks first, for that
entitlement; the IT administrator holding the same group is not an outlier."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from models import peer_groups as PG
from models.config import load

NIGHT = dt.date(2026, 11, 5)
ROLES = {  # department: (title, count, groups)
    "Finance": ("Financial Analyst", 8, ["finance-all", "finance-payroll", "bi-analysts"]),
    "IT": ("IT Administrator", 6, ["it-all", "aws-prod-admin", "aws-dev-admin", "okta-admins"]),
    "Engineering": ("Software Engineer", 8, ["eng-all", "aws-dev-developer", "github-users"]),
    "Marketing": ("Content Writer", 5, ["marketing-all", "bi-analysts"]),
}
PRIVILEGED = {"aws-prod-admin", "aws-dev-admin", "okta-admins"}
OUTLIER, ADMIN, DRIFTER = "finance0@example.com", "it0@example.com", "engineering0@example.com"


@pytest.fixture(scope="module")
def org(spark):
    ids, ents = [], []
    def grant(email, group):
        u = "usr_" + email.split("@")[0]
        ents.append((u, f"group:{group}", "group", None, group in PRIVILEGED, "direct", None))
        if group == "aws-dev-admin":  # the permission set the group provisions
            ents.append((u, "aws_permission_set:AdministratorAccess@res-aws-dev", "aws_permission_set", "res-aws-dev", True,
                         "group:aws-dev-admin", None))
    for dept, (title, count, groups) in ROLES.items():
        for i in range(count):
            email = f"{dept.lower()}{i}@example.com"
            ids.append(("usr_" + email.split("@")[0], email, dept, title, "employee", True))
            for g in groups:
                grant(email, g)
    grant(OUTLIER, "aws-dev-admin")
    grant(DRIFTER, "crm-users")  # ordinary drift: one unprivileged group nobody else holds
    identities = spark.createDataFrame(ids, "user_uid string, email string, department string, title string, type string, "
                                            "in_directory boolean")
    entitlements = spark.createDataFrame(ents, "user_uid string, entitlement string, entitlement_type string, resource_uid string, "
                                               "privileged boolean, via string, last_used date")
    cfg = load()
    people = PG.people_frame(entitlements, identities)
    model = PG.fit(people, cfg)
    groups, outliers = PG.score(spark, NIGHT, model, people, entitlements, identities, cfg, "peer", "1")
    return model, groups.cache(), outliers.cache()


def test_k_is_chosen_by_silhouette_and_recorded(org):
    model, _, _ = org
    assert model.silhouettes, "every candidate k must be scored"
    assert model.k == max(model.silhouettes, key=model.silhouettes.get)
    assert model.k >= 4  # four roles are separable


def test_finance_analyst_with_dev_admin_ranks_first_for_that_entitlement(org):
    _, _, outliers = org
    top = outliers.orderBy("rank").first()
    assert top["email"] == OUTLIER and top["rank"] == 1
    first = top["outlier_entitlements"][0]
    assert first["entitlement"] == "group:aws-dev-admin" and first["privileged"] is True
    assert first["peer_coverage"] == 0.0
    assert {e["entitlement"] for e in top["outlier_entitlements"]} == {
        "group:aws-dev-admin", "aws_permission_set:AdministratorAccess@res-aws-dev"}
    assert "group:aws-dev-admin (privileged), held by 0% of its 7 peers" in top["explanation"]


def test_drift_ranks_below_privileged_outlier_and_admin_is_not_an_outlier(org):
    _, _, outliers = org
    by = {r["email"]: r for r in outliers.collect()}
    assert by[DRIFTER]["rank"] == 2 and by[DRIFTER]["outlier_entitlements"][0]["entitlement"] == "group:crm-users"
    assert by[ADMIN]["outlier_score"] == 0.0 and by[ADMIN]["outlier_entitlements"] == []


def test_peer_coverage_of_every_pair(org):
    _, groups, _ = org
    row = groups.where((F.col("email") == ADMIN) & (F.col("entitlement") == "group:aws-dev-admin")).first()
    assert row["peer_coverage"] == 1.0 and row["peers"] == 5 and row["peers_holding"] == 5
    assert groups.where(F.col("entitlement").isNotNull()).count() == groups.where(F.col("peer_coverage").isNotNull()).count()
