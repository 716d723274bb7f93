"""Identity resolution: who is behind every login, object id, account name and principal ARN.

The directory of record (SCIM) defines people and service accounts; AWS IAM defines workloads.
Every other identifier becomes an alias of one of them only through a named rule, and the rule is
kept with the alias. Aliases roll forward from the previous night's snapshot, so an identifier
learned once (a SID, an Entra object id) stays known, and a leaver stays known after leaving.

| rule | links |
|---|---|
| `directory_of_record` | SCIM `id`, `userName`, `emails`, `externalId` (Okta id), `employeeNumber` |
| `okta_actor_login` | an Okta user id to the identity its login (`actor.alternateId`) names |
| `entra_signin_upn` | an Entra object id to the identity its sign-in UPN names |
| `intune_primary_user` | an Entra object id to the identity an Intune device's primary UPN names |
| `windows_sam_upn_convention` | `DOMAIN\\sam` (and its SID) to `sam@<domain>` (config `windows_domains`) |
| `aws_sso_session_email` | an assumed-role ARN whose session name is an identity's email |
| `iam_user_service_account` | an AWS IAM user named like a directory service account (`svc-x` = `svc-x@…`) |
| `iam_workload` | an AWS IAM user or role used by machines (no directory account; OIDC or service trust) |

Okta's Users API export (`okta_users`) adds no aliases: its `lastLogin` is attached, by Okta id or
login, to the identity those already name (`idp_last_login`, `prior_login_date`).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs.silver.common import Candidate, norm_email, norm_text, resolve, stable_key
from jobs.silver.config import SilverConfig

ALIAS = StructType(
    [
        StructField("alias_type", StringType()),
        StructField("alias_value", StringType()),
        StructField("rule", StringType()),
        StructField("source", StringType()),
    ]
)
ALIASES_SCHEMA = StructType([*ALIAS.fields, StructField("user_uid", StringType())])

IDENTITY_TYPES = ("employee", "contractor", "service", "workload")

IDENTITIES_SCHEMA = StructType(
    [
        StructField("date", DateType()),
        StructField("user_uid", StringType()),
        StructField("email", StringType()),
        StructField("display_name", StringType()),
        StructField("type", StringType()),
        StructField("active", BooleanType()),
        StructField("department", StringType()),
        StructField("title", StringType()),
        StructField("manager_uid", StringType()),
        StructField("employee_number", StringType()),
        StructField("start_date", DateType()),
        StructField("termination_date", DateType()),
        StructField("deprovisioned_date", DateType()),
        StructField("in_directory", BooleanType()),
        StructField("first_seen_date", DateType()),
        StructField("last_seen_date", DateType()),
        StructField("idp_last_login", TimestampType()),
        StructField("prior_login_date", DateType()),
        StructField("sources", ArrayType(StringType())),
        StructField("aliases", ArrayType(ALIAS)),
        StructField("_config_version", StringType()),
    ]
)


def windows_account(domain: Column, sam: Column) -> Column:
    """`CORP\\First.Last5` -> `CORP\\first.last5` (domains upper-case, names case-insensitive)."""
    d, s = F.upper(norm_text(domain)), F.lower(norm_text(sam))
    return F.when(d.isNotNull() & s.isNotNull() & ~s.endswith("$"), F.concat(d, F.lit("\\"), s))


def sam_as_email(domain: Column, sam: Column, domains: dict[str, str]) -> Column:
    mapped = F.try_element_at(F.create_map(*[F.lit(x) for kv in domains.items() for x in kv]), F.upper(domain)) if domains else F.lit(None)
    s = F.lower(norm_text(sam))
    return F.when(mapped.isNotNull() & s.isNotNull() & ~s.contains("@"), F.concat(s, F.lit("@"), mapped))


def session_name(arn: Column) -> Column:
    """`arn:aws:sts::1:assumed-role/Role/alice@x.com` -> `alice@x.com`."""
    return F.when(arn.contains(":assumed-role/"), F.element_at(F.split(arn, "/"), -1))


def _alias(df: DataFrame, alias_type: str, value: Column, user_uid: Column, rule: str, source: str) -> DataFrame:
    return df.select(
        F.lit(alias_type).alias("alias_type"),
        value.cast("string").alias("alias_value"),
        F.lit(rule).alias("rule"),
        F.lit(source).alias("source"),
        user_uid.alias("user_uid"),
    ).where(F.col("alias_value").isNotNull() & F.col("user_uid").isNotNull())


def directory_people(scim_users: DataFrame) -> DataFrame:
    """One row per SCIM user tonight, with its anchor `user_uid`."""
    ent = F.col("enterprise")
    primary = F.coalesce(
        F.try_element_at(F.filter("emails", lambda e: e.getField("primary")), F.lit(1)).getField("value"),
        F.try_element_at(F.col("emails"), F.lit(1)).getField("value"),
        F.col("userName"),
    )
    kind = F.lower(F.coalesce(norm_text(F.col("userType")), F.lit("employee")))
    return scim_users.select(
        stable_key("usr", F.col("id")).alias("user_uid"),
        F.col("id").alias("scim_id"),
        F.coalesce(norm_email(primary), norm_email(F.col("userName"))).alias("email"),
        F.coalesce(norm_text(F.col("displayName")), norm_text(F.col("name.formatted"))).alias("display_name"),
        F.when(kind.isin(*IDENTITY_TYPES), kind).otherwise(F.lit("employee")).alias("type"),
        F.coalesce(F.col("active"), F.lit(True)).alias("active"),
        norm_text(ent.getField("department")).alias("department"),
        norm_text(F.col("title")).alias("title"),
        F.when(norm_text(ent.getField("manager").getField("value")).isNotNull(),
               stable_key("usr", ent.getField("manager").getField("value"))).alias("manager_uid"),
        norm_text(ent.getField("employeeNumber")).alias("employee_number"),
        F.to_date(F.try_to_timestamp(F.col("meta.created"))).alias("created_date"),
        F.col("userName"),
        F.col("emails"),
        F.col("externalId"),
    ).dropDuplicates(["user_uid"])


def _trust_principals(doc: Column) -> Column:
    """Principal types of an assume-role trust policy (JSON text): Service, Federated, AWS."""
    return F.regexp_extract_all(doc, F.lit(r'"(Service|Federated|AWS)"\s*:'), 1)


def workloads(aws_iam: DataFrame, people: DataFrame) -> tuple[DataFrame, DataFrame]:
    """AWS principals that act for themselves: IAM users (unless a directory service account
    names them) and roles trusted by a service or a non-SAML federation (OIDC). Returns
    (workload identities, aliases of IAM users that belong to directory service accounts)."""
    services = people.where(F.col("type") == "service").select(
        "user_uid", F.substring_index("email", "@", 1).alias("local")
    )
    users = aws_iam.where(F.lower("EntryType") == "user").select(
        F.col("Arn").alias("arn"), F.col("UserName").alias("name"), F.col("UserId").alias("aws_id"), F.lit("user").alias("kind")
    )
    owned = users.join(services, F.lower(users["name"]) == F.lower(services["local"]), "left")
    service_aliases = owned.where(F.col("user_uid").isNotNull())
    svc = _alias(service_aliases, "aws_principal_arn", F.col("arn"), F.col("user_uid"), "iam_user_service_account", "aws_iam").unionByName(
        _alias(service_aliases, "aws_principal_id", F.col("aws_id"), F.col("user_uid"), "iam_user_service_account", "aws_iam")
    )
    lone_users = owned.where(F.col("user_uid").isNull()).select("arn", "name", "aws_id", "kind")
    doc = F.coalesce(F.col("AssumeRolePolicyDocument"), F.lit(""))
    principals = _trust_principals(doc)
    machine_trust = F.exists(principals, lambda p: p == "Service") | (
        F.exists(principals, lambda p: p == "Federated") & ~doc.contains("saml-provider")
    )
    roles = aws_iam.where((F.lower("EntryType") == "role") & machine_trust).select(
        F.col("Arn").alias("arn"), F.col("RoleName").alias("name"), F.col("RoleId").alias("aws_id"), F.lit("role").alias("kind")
    )
    wl = lone_users.unionByName(roles).dropDuplicates(["arn"]).withColumn("user_uid", stable_key("wl", F.col("arn")))
    return wl, svc


def tonight_aliases(b: dict[str, DataFrame], people: DataFrame, wl: DataFrame, svc_aliases: DataFrame,
                    cfg: SilverConfig) -> DataFrame:
    """Every alias tonight's sources prove, each with its rule."""
    directory = [
        _alias(people, "scim_id", F.col("scim_id"), F.col("user_uid"), "directory_of_record", "scim_users"),
        _alias(people, "email", F.col("email"), F.col("user_uid"), "directory_of_record", "scim_users"),
        _alias(people, "email", norm_email(F.col("userName")), F.col("user_uid"), "directory_of_record", "scim_users"),
        _alias(people.select("user_uid", F.explode_outer("emails").alias("e")), "email", norm_email(F.col("e.value")),
               F.col("user_uid"), "directory_of_record", "scim_users"),
        _alias(people, "okta_id", norm_text(F.col("externalId")), F.col("user_uid"), "directory_of_record", "scim_users"),
        _alias(people, "employee_number", F.col("employee_number"), F.col("user_uid"), "directory_of_record", "scim_users"),
        _alias(wl, "aws_principal_arn", F.col("arn"), F.col("user_uid"), "iam_workload", "aws_iam"),
        _alias(wl, "aws_principal_id", F.col("aws_id"), F.col("user_uid"), "iam_workload", "aws_iam"),
        svc_aliases,
    ]
    base = directory[0]
    for d in directory[1:]:
        base = base.unionByName(d)
    by_email = base.where(F.col("alias_type") == "email").select(
        F.col("alias_value").alias("email"), F.col("user_uid")
    ).dropDuplicates()

    def learned(df: DataFrame, email: Column, alias_type: str, value: Column, rule: str, source: str) -> DataFrame:
        pairs = df.select(email.alias("email"), value.cast("string").alias("v")).where(
            F.col("email").isNotNull() & F.col("v").isNotNull()
        ).dropDuplicates()
        return _alias(pairs.join(by_email, "email"), alias_type, F.col("v"), F.col("user_uid"), rule, source)

    okta = b["okta"].where(F.lower(F.col("actor.type")) == "user")
    entra = b["entra_signin"]
    intune = b["intune_devices"]
    win = b["windows_security"]
    ct = b["cloudtrail"]
    win_pairs = win.select(
        F.col("TargetDomainName").alias("d"), F.col("TargetUserName").alias("s"), F.col("TargetUserSid").alias("sid")
    ).unionByName(
        win.select(F.col("SubjectDomainName").alias("d"), F.col("SubjectUserName").alias("s"), F.col("SubjectUserSid").alias("sid"))
    ).dropDuplicates()
    win_email = sam_as_email(F.col("d"), F.col("s"), cfg.windows_domains)
    ct_arn = F.col("userIdentity.arn")
    out = base
    for extra in (
        learned(okta, norm_email(F.col("actor.alternateId")), "okta_id", norm_text(F.col("actor.id")), "okta_actor_login", "okta"),
        learned(entra, norm_email(F.col("userPrincipalName")), "entra_object_id", F.lower(norm_text(F.col("userId"))),
                "entra_signin_upn", "entra_signin"),
        learned(intune, norm_email(F.col("userPrincipalName")), "entra_object_id", F.lower(norm_text(F.col("userId"))),
                "intune_primary_user", "intune_devices"),
        learned(win_pairs, win_email, "windows_account", windows_account(F.col("d"), F.col("s")), "windows_sam_upn_convention",
                "windows_security"),
        learned(win_pairs, win_email, "sid", F.upper(norm_text(F.col("sid"))), "windows_sam_upn_convention", "windows_security"),
        learned(ct, norm_email(session_name(ct_arn)), "aws_principal_arn", ct_arn, "aws_sso_session_email", "cloudtrail"),
    ):
        out = out.unionByName(extra)
    return out.where(F.col("alias_value").isNotNull()).dropDuplicates(["alias_type", "alias_value", "user_uid", "rule"])


def previous_aliases(prev: DataFrame) -> DataFrame:
    return prev.select("user_uid", F.explode("aliases").alias("a")).select(
        "a.alias_type", "a.alias_value", "a.rule", "a.source", "user_uid"
    )


def all_aliases(tonight: DataFrame, prev: DataFrame) -> DataFrame:
    """Tonight's aliases plus every alias an earlier night proved (first proof's rule kept)."""
    both = tonight.withColumn("_tonight", F.lit(1)).unionByName(previous_aliases(prev).withColumn("_tonight", F.lit(0)))
    return (
        both.groupBy("alias_type", "alias_value", "user_uid")
        .agg(F.min_by(F.struct("rule", "source"), F.col("_tonight")).alias("w"))
        .select("alias_type", "alias_value", F.col("w.rule").alias("rule"), F.col("w.source").alias("source"), "user_uid")
    )


def _unique(aliases: DataFrame, alias_type: str, key: str) -> DataFrame:
    """(key, user_uid) for alias values of one type that name exactly one identity."""
    return (aliases.where(F.col("alias_type") == alias_type).groupBy(F.col("alias_value").alias(key))
            .agg(F.min("user_uid").alias("user_uid"), F.count_distinct("user_uid").alias("_n")).where(F.col("_n") == 1).drop("_n"))


def idp_last_logins(okta_users: DataFrame, aliases: DataFrame) -> DataFrame:
    """(user_uid, idp_last_login): tonight's Okta Users API `lastLogin` per identity, resolved by the
    Okta user id (an alias from the directory of record) or else by the login (an email alias)."""
    u = okta_users.select(norm_text(F.col("id")).alias("okta_id"), norm_email(F.col("profile.login")).alias("login"),
                          F.try_to_timestamp(F.col("lastLogin")).alias("last_login")).where(F.col("last_login").isNotNull())
    by_id = _unique(aliases, "okta_id", "okta_id").withColumnRenamed("user_uid", "by_id")
    by_login = _unique(aliases, "email", "login").withColumnRenamed("user_uid", "by_login")
    return (u.join(by_id, "okta_id", "left").join(by_login, "login", "left")
            .select(F.coalesce("by_id", "by_login").alias("user_uid"), "last_login").where(F.col("user_uid").isNotNull())
            .groupBy("user_uid").agg(F.max("last_login").alias("idp_last_login")))


# Directory lifecycle events that end an identity's ability to sign in.
DEPROVISION_EVENTS = ("Disable account", "Delete user", "Hard delete user")
OKTA_DEPROVISION = ("user.lifecycle.deactivate", "user.lifecycle.suspend", "user.lifecycle.delete.initiated")


def lifecycle_targets(b: dict[str, DataFrame], aliases: DataFrame) -> DataFrame:
    """(user_uid, kind) for tonight's joiner and deprovisioning events (Entra audit, Okta)."""
    audit = b["entra_audit"].select(
        "source", "_event_id", F.col("activityDisplayName").alias("activity"),
        F.try_element_at("targetResources", F.lit(1)).alias("t"),
    )
    audit = audit.select(
        "source", "_event_id",
        F.when(F.col("activity").isin(*DEPROVISION_EVENTS), F.lit("deprovisioned"))
        .when(F.col("activity") == "Add user", F.lit("joined")).alias("kind"),
        F.lower(norm_text(F.col("t.id"))).alias("tid"),
        norm_email(F.coalesce(F.col("t.userPrincipalName"), F.col("t.displayName"))).alias("temail"),
    ).where(F.col("kind").isNotNull())
    audit = resolve(audit, [Candidate("entra_object_id", F.col("tid")), Candidate("email", F.col("temail"))], aliases, "user")
    okta = b["okta"].where(F.col("eventType").isin(*OKTA_DEPROVISION)).select(
        "source", "_event_id", F.lit("deprovisioned").alias("kind"), F.explode_outer("target").alias("t")
    ).where(F.lower(F.col("t.type")) == "user")
    okta = resolve(
        okta.select("source", "_event_id", "kind", F.col("t.id").alias("tid"), norm_email(F.col("t.alternateId")).alias("temail")),
        [Candidate("okta_id", F.col("tid")), Candidate("email", F.col("temail"))], aliases, "user",
    )
    return audit.select("user_uid", "kind").unionByName(okta.select("user_uid", "kind")).where(F.col("user_uid").isNotNull()).distinct()


def vouching(b: dict[str, DataFrame], aliases: DataFrame) -> DataFrame:
    """(user_uid, source) for every source that named the identity tonight."""
    ct = b["cloudtrail"]
    named = [
        ("okta", b["okta"], [Candidate("okta_id", norm_text(F.col("actor.id"))), Candidate("email", norm_email(F.col("actor.alternateId")))]),
        ("entra_signin", b["entra_signin"], [Candidate("entra_object_id", F.lower(norm_text(F.col("userId")))),
                                             Candidate("email", norm_email(F.col("userPrincipalName")))]),
        ("intune_devices", b["intune_devices"], [Candidate("entra_object_id", F.lower(norm_text(F.col("userId")))),
                                                 Candidate("email", norm_email(F.col("userPrincipalName")))]),
        ("windows_security", b["windows_security"], [Candidate("windows_account", windows_account(F.col("TargetDomainName"), F.col("TargetUserName")))]),
        ("cloudtrail", ct, [Candidate("aws_principal_arn", F.col("userIdentity.arn")),
                            Candidate("email", norm_email(session_name(F.col("userIdentity.arn")))),
                            Candidate("email", norm_email(F.col("userIdentity.userName"))),
                            Candidate("aws_principal_arn", F.col("userIdentity.sessionContext.sessionIssuer.arn"))]),
    ]
    out = None
    for source, df, cands in named:
        # One lookup per distinct identifier tuple, not per event.
        keys = df.select(*[c.value.alias(f"k{i}") for i, c in enumerate(cands)]).distinct().withColumn(
            "_event_id", F.sha2(F.to_json(F.struct("*")), 256)).withColumn("source", F.lit(source))
        res = resolve(keys, [Candidate(c.alias_type, F.col(f"k{i}")) for i, c in enumerate(cands)], aliases, "user")
        part = res.select("user_uid", F.lit(source).alias("source")).where(F.col("user_uid").isNotNull()).distinct()
        out = part if out is None else out.unionByName(part)
    assert out is not None
    return out


def identities_snapshot(
    night: dt.date,
    people: DataFrame,
    wl: DataFrame,
    aliases: DataFrame,
    prev: DataFrame,
    lifecycle: DataFrame,
    vouched: DataFrame,
    cfg: SilverConfig,
    logins: DataFrame | None = None,
) -> DataFrame:
    """Tonight's identities: the directory and workloads as of tonight, plus every identity an
    earlier night knew (kept with `in_directory = false`), with dates rolled forward.

    `logins` (user_uid, idp_last_login) is the identity provider's own last sign-in. It gives
    `prior_login_date`, the last sign-in on a day before tonight: tonight's `lastLogin` when it is
    earlier than tonight, or else what earlier nights knew. A young lake thereby knows that an
    account idle for months was idle, which its own few nights of events cannot show."""
    d = F.lit(night)
    now = people.select(
        "user_uid", "email", "display_name", "type", "active", "department", "title", "manager_uid", "employee_number",
        "created_date", F.lit(True).alias("in_directory"),
    ).unionByName(
        wl.select(
            "user_uid", F.col("arn").alias("email"), F.col("name").alias("display_name"), F.lit("workload").alias("type"),
            F.lit(True).alias("active"), F.lit(None).cast("string").alias("department"),
            F.concat(F.lit("AWS IAM "), F.col("kind")).alias("title"), F.lit(None).cast("string").alias("manager_uid"),
            F.lit(None).cast("string").alias("employee_number"), F.lit(None).cast("date").alias("created_date"),
            F.lit(True).alias("in_directory"),
        )
    )
    life = lifecycle.groupBy("user_uid").agg(
        F.max(F.col("kind") == "joined").alias("joined_tonight"), F.max(F.col("kind") == "deprovisioned").alias("deprov_tonight")
    )
    src = vouched.groupBy("user_uid").agg(F.collect_set("source").alias("tonight_sources"))
    p = prev.select(*[F.col(c).alias("p_" + c) for c in prev.columns])
    joined = now.join(p, now["user_uid"] == p["p_user_uid"], "full_outer").withColumn(
        "uid", F.coalesce("user_uid", "p_user_uid")
    )
    joined = joined.join(life, joined["uid"] == life["user_uid"], "left").drop(life["user_uid"])
    joined = joined.join(src, joined["uid"] == src["user_uid"], "left").drop(src["user_uid"])
    if logins is not None:
        joined = joined.join(logins, joined["uid"] == logins["user_uid"], "left").drop(logins["user_uid"])
    else:
        joined = joined.withColumn("idp_last_login", F.lit(None).cast("timestamp"))
    al = aliases.groupBy("user_uid").agg(
        F.array_sort(F.collect_set(F.struct("alias_type", "alias_value", "rule", "source"))).alias("al")
    )
    joined = joined.join(al, joined["uid"] == al["user_uid"], "left").drop(al["user_uid"])
    here = F.col("in_directory").isNotNull()
    active = F.when(here, F.col("active")).otherwise(F.col("p_active"))
    directory_source = F.when(F.col("type") == "workload", F.lit("aws_iam")).otherwise(F.lit("scim_users"))
    sources = F.array_sort(F.array_distinct(F.concat(
        F.coalesce(F.col("tonight_sources"), F.array().cast("array<string>")),
        F.when(here, F.array(directory_source)).otherwise(F.array().cast("array<string>")),
    )))
    seen_tonight = here | (F.size(sources) > 0)
    pick = lambda c: F.when(here, F.col(c)).otherwise(F.col("p_" + c))  # noqa: E731
    before_tonight = lambda c: F.when(c < d, c)  # noqa: E731
    return joined.select(
        d.alias("date"),
        F.col("uid").alias("user_uid"),
        pick("email").alias("email"),
        pick("display_name").alias("display_name"),
        pick("type").alias("type"),
        active.alias("active"),
        pick("department").alias("department"),
        pick("title").alias("title"),
        pick("manager_uid").alias("manager_uid"),
        pick("employee_number").alias("employee_number"),
        F.coalesce(F.col("p_start_date"), F.when(F.col("joined_tonight"), d), F.col("created_date"),
                   F.when(here & F.col("p_user_uid").isNull(), d)).alias("start_date"),
        F.when(active, F.lit(None).cast("date")).otherwise(F.coalesce(F.col("p_termination_date"), d)).alias("termination_date"),
        F.coalesce(F.col("p_deprovisioned_date"), F.when(F.col("deprov_tonight"), d)).alias("deprovisioned_date"),
        F.coalesce(F.col("in_directory"), F.lit(False)).alias("in_directory"),
        F.coalesce(F.col("p_first_seen_date"), d).alias("first_seen_date"),
        F.when(seen_tonight, d).otherwise(F.col("p_last_seen_date")).alias("last_seen_date"),
        F.coalesce(F.col("idp_last_login"), F.col("p_idp_last_login")).alias("idp_last_login"),
        F.greatest(before_tonight(F.to_date("idp_last_login")), before_tonight(F.to_date("p_idp_last_login")),
                   before_tonight(F.col("p_prior_login_date"))).alias("prior_login_date"),
        F.when(F.size(sources) > 0, sources).otherwise(F.coalesce(F.col("p_sources"), F.array().cast("array<string>"))).alias("sources"),
        F.coalesce(F.col("al"), F.col("p_aliases"), F.array().cast(ArrayType(ALIAS))).alias("aliases"),
        F.lit(cfg.version).alias("_config_version"),
    )
