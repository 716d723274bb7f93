"""Peer groups: identities clustered by what they hold (and their department and title), peer
coverage of every identity-entitlement pair, and an outlier score that names its entitlements.

Vectors: TF-IDF over each identity's entitlements (an entitlement held by few counts more), then
L2-normalized, next to weighted one-hot department and title. Clustering: k-means (seeded), k chosen
by the best mean cosine silhouette among `k_min..k_max` (capped at identities/5); every candidate's
silhouette is logged. Peers of an identity are the other members of its group; when a group is
smaller than `min_peers + 1`, the identity's department is its peer set instead.

Peer coverage of (identity, entitlement) = share of the identity's peers who hold the entitlement.
Outlier score = sum over pairs with coverage below `outlier_coverage` of
(1 - coverage) x IDF(entitlement) x (privileged_multiplier if privileged). The pairs are listed,
largest contribution first, as the outlier's reasons.

The entitlement matrix of one night is org-sized (identities x entitlements held), so training and
group assignment run on the driver; coverage and scores are Spark joins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

from models.config import ModelConfig

PEER_GROUPS_DDL = (
    "date date, user_uid string, email string, department string, title string, peer_group int, peer_group_size int, "
    "peer_basis string, peers int, entitlement string, entitlement_type string, via string, resource_uid string, privileged boolean, "
    "last_used date, peers_holding int, peer_coverage double, idf double, model_name string, model_version string"
)
OUTLIER_ENTITLEMENTS_TYPE = ("array<struct<entitlement:string,privileged:boolean,peer_coverage:double,peers_holding:int,"
                             "idf:double,contribution:double,last_used:date>>")
PEER_OUTLIERS_DDL = (
    "date date, user_uid string, email string, department string, title string, peer_group int, peer_basis string, peers int, "
    f"outlier_score double, rank int, outlier_entitlements {OUTLIER_ENTITLEMENTS_TYPE}, explanation string, model_name string, "
    "model_version string"
)


# Identity types clustered into peer groups (service accounts and workloads have no peers by role).
PEOPLE = ("employee", "contractor")


def _tokens(x: list[str]) -> list[str]:
    return x


@dataclass
class PeerModel:
    vectorizer: TfidfVectorizer
    departments: list[str]
    titles: list[str]
    kmeans: KMeans
    department_weight: float
    title_weight: float
    silhouettes: dict[int, float] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.kmeans.n_clusters)

    def vectors(self, people: pd.DataFrame) -> sparse.csr_matrix:
        ents = normalize(self.vectorizer.transform(people["entitlements"].tolist()))
        def onehot(values: pd.Series, vocab: list[str], w: float) -> sparse.csr_matrix:
            idx = {v: i for i, v in enumerate(vocab)}
            m = sparse.lil_matrix((len(values), max(1, len(vocab))))
            for r, v in enumerate(values.fillna("")):
                if v in idx:
                    m[r, idx[v]] = w
            return m.tocsr()
        return sparse.hstack([ents, onehot(people["department"], self.departments, self.department_weight),
                              onehot(people["title"], self.titles, self.title_weight)]).tocsr()

    def assign(self, people: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.kmeans.predict(self.vectors(people)))

    def idf(self) -> dict[str, float]:
        return {t: float(w) for t, w in zip(self.vectorizer.get_feature_names_out(), self.vectorizer.idf_, strict=False)}


def people_frame(entitlements: DataFrame, identities: DataFrame) -> pd.DataFrame:
    """(user_uid, department, title, entitlements[]) per identity in the directory (org-sized)."""
    held = entitlements.groupBy("user_uid").agg(F.array_sort(F.collect_set("entitlement")).alias("entitlements"))
    ppl = identities.where(F.coalesce("in_directory", F.lit(False)) & F.col("type").isin(*PEOPLE)).select(
        "user_uid", "department", "title").join(held, "user_uid", "left")
    pdf: pd.DataFrame = ppl.toPandas()
    pdf["entitlements"] = pdf["entitlements"].apply(lambda v: list(v) if v is not None else [])
    return pdf.sort_values("user_uid").reset_index(drop=True)


def fit(people: pd.DataFrame, cfg: ModelConfig) -> PeerModel:
    vec = TfidfVectorizer(analyzer=_tokens, lowercase=False, norm=None, sublinear_tf=False)
    vec.fit(people["entitlements"].tolist())
    depts = sorted(people["department"].dropna().unique().tolist())
    titles = sorted(people["title"].dropna().unique().tolist())
    probe = PeerModel(vec, depts, titles, KMeans(n_clusters=1), cfg.department_weight, cfg.title_weight)
    x = probe.vectors(people)
    n = x.shape[0]
    hi = max(cfg.k_min, min(cfg.k_max, n // 5))
    best: tuple[float, KMeans] | None = None
    sil: dict[int, float] = {}
    for k in range(cfg.k_min, hi + 1):
        if k >= n:
            break
        km = KMeans(n_clusters=k, n_init=10, random_state=cfg.seed).fit(x)
        if len(set(km.labels_)) < 2:
            continue
        sil[k] = float(silhouette_score(x, km.labels_, metric="cosine", random_state=cfg.seed))
        if best is None or sil[k] > best[0] + 1e-9:
            best = (sil[k], km)
    if best is None:  # too few identities to compare clusterings: one group
        km = KMeans(n_clusters=1, n_init=1, random_state=cfg.seed).fit(x)
        best = (float("nan"), km)
    return PeerModel(vec, depts, titles, best[1], cfg.department_weight, cfg.title_weight, sil)


def score(spark: SparkSession, night: dt.date, model: PeerModel, people: pd.DataFrame, entitlements: DataFrame,
          identities: DataFrame, cfg: ModelConfig, model_name: str, model_version: str) -> tuple[DataFrame, DataFrame]:
    """(peer_groups rows, peer_outliers rows) for one night's entitlement snapshot."""
    groups = pd.DataFrame({"user_uid": people["user_uid"], "peer_group": model.assign(people).astype(int) if len(people) else []})
    g = spark.createDataFrame(groups, "user_uid string, peer_group int")
    idf = spark.createDataFrame(list(model.idf().items()) or [("", 0.0)], "entitlement string, idf double")
    ids = identities.select("user_uid", "email", "department", "title")
    members = g.join(ids, "user_uid")
    size = members.groupBy("peer_group").agg(F.count("*").alias("peer_group_size"))
    dsize = members.groupBy("department").agg(F.count("*").alias("_dept_size"))
    members = members.join(size, "peer_group").join(dsize, "department", "left").withColumn(
        "peer_basis", F.when(F.col("peer_group_size") > cfg.min_peers, F.lit("peer_group")).otherwise(F.lit("department")))
    members = members.withColumn("peers", F.when(F.col("peer_basis") == "peer_group", F.col("peer_group_size") - 1).otherwise(
        F.col("_dept_size") - 1))
    held = entitlements.select("user_uid", "entitlement", "entitlement_type", "resource_uid", "privileged", "last_used", "via")
    # Holders per (group, entitlement) and per (department, entitlement), counted once per identity.
    pairs = held.select("user_uid", "entitlement").distinct().join(members.select("user_uid", "peer_group", "department"), "user_uid")
    by_group = pairs.groupBy("peer_group", "entitlement").agg(F.count("*").alias("_g_holders"))
    by_dept = pairs.groupBy("department", "entitlement").agg(F.count("*").alias("_d_holders"))
    rows = (members.join(held, "user_uid", "left").join(by_group, ["peer_group", "entitlement"], "left")
            .join(by_dept, ["department", "entitlement"], "left").join(F.broadcast(idf), "entitlement", "left"))
    holders = F.when(F.col("peer_basis") == "peer_group", F.col("_g_holders")).otherwise(F.col("_d_holders"))
    # The identity itself holds it: peers holding = holders - 1.
    rows = rows.withColumn("peers_holding", F.when(F.col("entitlement").isNotNull(), holders - 1).cast("int")).withColumn(
        "peer_coverage", F.when(F.col("entitlement").isNotNull() & (F.col("peers") > 0), F.col("peers_holding") / F.col("peers")))
    max_idf = max(model.idf().values(), default=1.0)
    rows = rows.withColumn("idf", F.coalesce("idf", F.lit(max_idf)))  # an entitlement unseen in training is as rare as the rarest
    peer_groups = rows.select(
        F.lit(night).alias("date"), "user_uid", "email", "department", "title", "peer_group", "peer_group_size", "peer_basis",
        F.col("peers").cast("int").alias("peers"), "entitlement", "entitlement_type", "resource_uid", "privileged", "last_used",
        "peers_holding", "peer_coverage", "idf", F.lit(model_name).alias("model_name"), F.lit(model_version).alias("model_version"),
        "via")

    mult = F.when(F.coalesce("privileged", F.lit(False)), F.lit(cfg.privileged_multiplier)).otherwise(F.lit(1.0))
    pair = peer_groups.groupBy("date", "user_uid", "entitlement").agg(
        F.first("email").alias("email"), F.first("department").alias("department"), F.first("title").alias("title"),
        F.first("peer_group").alias("peer_group"), F.first("peer_basis").alias("peer_basis"), F.first("peers").alias("peers"),
        F.max(F.coalesce("privileged", F.lit(False))).alias("privileged"), F.min("peer_coverage").alias("peer_coverage"),
        F.min("peers_holding").alias("peers_holding"), F.first("idf").alias("idf"), F.max("last_used").alias("last_used"),
        F.max((F.coalesce("via", F.lit("direct")) == "direct").cast("int")).alias("_direct"))
    outlying = F.col("entitlement").isNotNull() & (F.col("peer_coverage") < cfg.outlier_coverage)
    pair = pair.withColumn("contribution", F.when(outlying, (1 - F.col("peer_coverage")) * F.col("idf") * mult).otherwise(F.lit(0.0)))
    item = F.struct("entitlement", "privileged", "peer_coverage", "peers_holding", "idf", "contribution", "last_used")
    per = pair.groupBy("date", "user_uid").agg(
        F.first("email").alias("email"), F.first("department").alias("department"), F.first("title").alias("title"),
        F.first("peer_group").alias("peer_group"), F.first("peer_basis").alias("peer_basis"), F.first("peers").alias("peers"),
        F.sum("contribution").alias("outlier_score"),
        F.sort_array(F.collect_list(F.when(F.col("contribution") > 0, F.struct(F.col("contribution").alias("c"), F.col("_direct").alias("d"),
                                                                                  item.alias("i")))),
                     asc=False).alias("_items"))
    items = F.transform("_items", lambda x: x["i"])
    first = F.try_element_at(items, F.lit(1))
    explanation = F.when(F.size(items) == 0, F.lit("holds nothing its peers do not")).otherwise(F.concat(
        F.lit("holds "), first["entitlement"], F.when(first["privileged"], F.lit(" (privileged)")).otherwise(F.lit("")),
        F.lit(", held by "), F.format_number(first["peer_coverage"] * 100, 0), F.lit("% of its "), F.col("peers").cast("string"),
        F.lit(" peers ("), F.col("peer_basis"), F.lit(")"),
        F.when(F.size(items) > 1, F.concat(F.lit("; and "), (F.size(items) - 1).cast("string"), F.lit(" more"))).otherwise(F.lit("")),
        F.when(first["last_used"].isNotNull(), F.concat(F.lit("; last used "), first["last_used"].cast("string"))).otherwise(
            F.lit("; never used"))))
    rank = F.row_number().over(Window.partitionBy("date").orderBy(F.desc("outlier_score"), "user_uid"))
    outliers = per.select("date", "user_uid", "email", "department", "title", "peer_group", "peer_basis", "peers", "outlier_score",
                          rank.alias("rank"), items.alias("outlier_entitlements"), explanation.alias("explanation"),
                          F.lit(model_name).alias("model_name"), F.lit(model_version).alias("model_version"))
    return peer_groups, outliers
