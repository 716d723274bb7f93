"""Bronze vendor events -> OCSF-aligned silver event tables (pure DataFrame transforms).

Each builder maps one vendor's bronze rows into one class's columns and declares how the rows name
their user, device and resource (`Candidate`s tried in order). `finish` resolves those against the
night's alias tables, so every row carries `user_uid`, `device_uid` and `resource_uid` with the rule
that linked each (or why it could not), and its bronze `source` and `_event_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType

from jobs.silver.common import LINEAGE, Candidate, norm_email, norm_text, resolve, short_host
from jobs.silver.identities import session_name, windows_account
from jobs.silver.resources import uncatalogued_uid

# Authentication factors that resist phishing (origin-bound or certificate-based).
PHISHING_RESISTANT = (
    "FIDO2_WEBAUTHN", "WEBAUTHN", "FIDO_WEBAUTHN", "SIGNED_NONCE", "U2F", "PIV", "SMART_CARD", "CERTIFICATE",
    "FIDO2 SECURITY KEY", "WINDOWS HELLO FOR BUSINESS", "PASSKEY", "PASSKEY (DEVICE-BOUND)", "PASSKEY (MICROSOFT AUTHENTICATOR)",
    "CERTIFICATE-BASED AUTHENTICATION", "X.509 CERTIFICATE",
)
STATUS_ID = {"Success": 1, "Failure": 2, "Other": 99}

COMMON = (
    "time", "event_date", "class_uid", "class_name", "activity_id", "activity_name", "type_uid", "status", "status_id",
    "status_detail", "vendor_event_type",
)
RESOLVED = ("user_uid", "user_resolution", "device_uid", "device_resolution", "resource_uid", "resource_resolution",
            "resource_in_catalog")

AUTHENTICATION = (*COMMON, "actor_user_name", "actor_user_vendor_uid", "src_ip", "src_country", "src_city", "src_lat", "src_lon",
                  "session_uid", "auth_protocol", "logon_type", "mfa_factor", "is_mfa", "is_phishing_resistant", "is_new_logon",
                  "is_interactive", "service_name", "device_name", "dst_hostname", *RESOLVED, *LINEAGE)
API_ACTIVITY = (*COMMON, "api_operation", "api_service", "api_request_uid", "error_code", "error_message", "principal_type",
                "principal_arn", "principal_id", "principal_name", "access_key_id", "is_long_lived_key", "session_issuer_arn",
                "session_issuer_type", "session_name", "session_created", "session_mfa", "assumed_role_arn", "src_ip", "user_agent",
                "region", "cloud_account_uid", "is_read_only", "resources", "request_parameters", *RESOLVED, *LINEAGE)
CHANGE = (*COMMON, "change", "actor_user_name", "target_user_name", "target_type", "target_user_uid", "target_user_resolution",
          "entitlement", "privileges", "src_ip", *RESOLVED, *LINEAGE)
DNS_ACTIVITY = (*COMMON, "connection_uid", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "query_hostname", "query_type",
                "rcode", "rcode_id", "answers", "rtt", *RESOLVED, *LINEAGE)
NETWORK_ACTIVITY = (*COMMON, "connection_uid", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "service", "duration",
                    "bytes_out", "bytes_in", "packets_out", "packets_in", "conn_state", *RESOLVED, *LINEAGE)
DATASTORE_ACTIVITY = (*COMMON, "database_name", "database_uid", "table_name", "query", "rows", "bytes", "src_ip", "src_hostname",
                      "tool", "session_uid", "actor_user_name", *RESOLVED, *LINEAGE)


@dataclass
class Built:
    """One source's rows in a class's columns, and how they name their user, device and resource.

    Resource naming columns (`_res_id`, `_res_account`, `_res_host`, `_res_name`, `_res_kind`) are
    present when the class has resources; a named resource the catalog lacks gets a stable
    uncatalogued key and `resource_in_catalog = false`.
    """

    df: DataFrame
    users: Sequence[Candidate] = ()
    devices: Sequence[Candidate] = ()
    targets: Sequence[Candidate] = ()
    device_owner: bool = False
    resources: bool = True  # False: the class names no resource (skip the catalog lookup)


def _ocsf(class_uid: int, class_name: str, activity_id: Column, activity_name: Column, status: Column,
          status_detail: Column, vendor_type: Column) -> list[Column]:
    return [
        F.col("_event_time").alias("time"), F.to_date("_event_time").alias("event_date"),
        F.lit(class_uid).alias("class_uid"), F.lit(class_name).alias("class_name"),
        activity_id.cast("int").alias("activity_id"), activity_name.alias("activity_name"),
        (F.lit(class_uid * 100) + activity_id).cast("long").alias("type_uid"),
        status.alias("status"),
        F.when(status == "Success", 1).when(status == "Failure", 2).otherwise(99).alias("status_id"),
        status_detail.cast("string").alias("status_detail"), vendor_type.cast("string").alias("vendor_event_type"),
    ]


def _res(id_: Column | None = None, account: Column | None = None, host: Column | None = None, name: Column | None = None,
         kind: Column | str = "app") -> list[Column]:
    null = F.lit(None).cast("string")
    return [
        (id_ if id_ is not None else null).alias("_res_id"), (account if account is not None else null).alias("_res_account"),
        (host if host is not None else null).alias("_res_host"), (name if name is not None else null).alias("_res_name"),
        (F.lit(kind) if isinstance(kind, str) else kind).alias("_res_kind"),
    ]


def _lineage() -> list[Column]:
    return [F.col("source"), F.col("_event_id"), F.col("_landing_date")]


def _case(col: Column, mapping: dict, default: object = None) -> Column:
    expr = None
    for k, v in mapping.items():
        expr = (F.when(col == k, F.lit(v)) if expr is None else expr.when(col == k, F.lit(v)))
    assert expr is not None
    return expr.otherwise(F.lit(default))


def _phishing_resistant(factor: Column) -> Column:
    return F.when(factor.isNotNull(), F.upper(factor).isin(*PHISHING_RESISTANT))


# --- authentication (OCSF 3002) ----------------------------------------------------------------

OKTA_AUTH = ("user.session.start", "user.session.end", "user.authentication.sso", "user.authentication.auth_via_mfa",
             "user.authentication.verify", "user.authentication.auth_via_richclient", "user.authentication.auth_via_IDP",
             "user.authentication.authenticate", "user.mfa.okta_verify.deny_push", "user.mfa.attempt_bypass")


def okta_authentication(okta: DataFrame) -> Built:
    et = F.col("eventType")
    df = okta.where(et.isin(*OKTA_AUTH) | et.startswith("user.authentication."))
    result = F.upper(F.col("outcome.result"))
    status = F.when(result.isin("SUCCESS", "ALLOW"), "Success").when(result.isin("FAILURE", "DENY", "REJECT"), "Failure").otherwise("Other")
    # A push the user rejected is a failed MFA, whatever the outcome says.
    status = F.when(et == "user.mfa.okta_verify.deny_push", "Failure").otherwise(status)
    activity = F.when(et == "user.session.end", 2).when(et.isin("user.session.start", "user.authentication.sso"), 1).otherwise(99)
    activity_name = F.when(activity == 1, "Logon").when(activity == 2, "Logoff").otherwise(
        F.when(et.contains("mfa") | (et == "user.authentication.verify"), "MFA Verification").otherwise("Other"))
    debug = F.col("debugContext.debugData")
    factor = F.coalesce(norm_text(F.col("authenticationContext.credentialType")), norm_text(debug.getItem("factor")))
    is_mfa = et.isin("user.authentication.auth_via_mfa", "user.authentication.verify", "user.mfa.okta_verify.deny_push")
    geo = F.col("client.geographicalContext")
    sso_app = F.try_element_at(F.filter("target", lambda t: t.getField("type") == "AppInstance"), F.lit(1))
    app_name = F.when(et == "user.authentication.sso", F.coalesce(sso_app.getField("displayName"), sso_app.getField("alternateId"))
                      ).otherwise(F.lit("Okta"))
    behaviors = F.coalesce(debug.getItem("behaviors"), F.lit(""))
    out = df.select(
        *_ocsf(3002, "Authentication", activity, activity_name, status, F.col("outcome.reason"), et),
        F.col("actor.alternateId").alias("actor_user_name"), F.col("actor.id").alias("actor_user_vendor_uid"),
        F.col("client.ipAddress").alias("src_ip"), geo.getField("country").alias("src_country"), geo.getField("city").alias("src_city"),
        geo.getField("geolocation").getField("lat").alias("src_lat"), geo.getField("geolocation").getField("lon").alias("src_lon"),
        F.coalesce(F.col("authenticationContext.rootSessionId"), F.col("authenticationContext.externalSessionId")).alias("session_uid"),
        F.coalesce(F.col("authenticationContext.credentialProvider"), F.lit("OKTA")).alias("auth_protocol"),
        F.lit(None).cast("int").alias("logon_type"), factor.alias("mfa_factor"), is_mfa.alias("is_mfa"),
        _phishing_resistant(factor).alias("is_phishing_resistant"),
        F.when(behaviors.contains("New Device=POSITIVE"), True).when(behaviors.contains("New Device=NEGATIVE"), False).alias("is_new_logon"),
        F.lit(True).alias("is_interactive"), app_name.alias("service_name"), F.col("device.name").alias("device_name"),
        F.lit(None).cast("string").alias("dst_hostname"),
        *_res(name=app_name, kind="app"), *_lineage(),
        norm_text(F.col("actor.id")).alias("_c_okta"), norm_email(F.col("actor.alternateId")).alias("_c_login"),
        norm_text(F.col("device.id")).alias("_c_dev_okta"), short_host(F.col("device.name")).alias("_c_dev_host"),
    )
    return Built(out, users=[Candidate("okta_id", F.col("_c_okta")), Candidate("email", F.col("_c_login"))],
                 devices=[Candidate("okta_device_id", F.col("_c_dev_okta")), Candidate("hostname", F.col("_c_dev_host"))])


def entra_authentication(entra: DataFrame) -> Built:
    code = F.col("status.errorCode")
    status = F.when(code == 0, "Success").when(code.isNotNull(), "Failure").otherwise("Other")
    step = F.try_element_at(F.filter("authenticationDetails", lambda a: F.coalesce(a.getField("succeeded"), F.lit(False))
                                     & ~F.lower(a.getField("authenticationMethod")).isin("password", "previously satisfied")), F.lit(1))
    factor = F.coalesce(norm_text(F.col("mfaDetail.authMethod")), norm_text(step.getField("authenticationMethod")))
    loc = F.col("location")
    app = F.coalesce(norm_text(F.col("appDisplayName")), norm_text(F.col("resourceDisplayName")))
    out = entra.select(
        *_ocsf(3002, "Authentication", F.lit(1), F.lit("Logon"), status,
               F.when(code != 0, F.col("status.failureReason")), F.coalesce(F.col("diagnostic_category"), F.lit("signIn"))),
        F.col("userPrincipalName").alias("actor_user_name"), F.col("userId").alias("actor_user_vendor_uid"),
        F.col("ipAddress").alias("src_ip"), loc.getField("countryOrRegion").alias("src_country"), loc.getField("city").alias("src_city"),
        loc.getField("geoCoordinates").getField("latitude").alias("src_lat"),
        loc.getField("geoCoordinates").getField("longitude").alias("src_lon"),
        F.coalesce(F.col("sessionId"), F.col("correlationId")).alias("session_uid"),
        F.coalesce(F.col("authenticationProtocol"), F.lit("entra")).alias("auth_protocol"), F.lit(None).cast("int").alias("logon_type"),
        factor.alias("mfa_factor"),
        (F.lower(F.col("authenticationRequirement")) == "multifactorauthentication").alias("is_mfa"),
        _phishing_resistant(factor).alias("is_phishing_resistant"), F.lit(None).cast("boolean").alias("is_new_logon"),
        F.col("isInteractive").alias("is_interactive"), app.alias("service_name"),
        norm_text(F.col("deviceDetail.displayName")).alias("device_name"), F.lit(None).cast("string").alias("dst_hostname"),
        *_res(name=app, kind="app"), *_lineage(),
        F.lower(norm_text(F.col("userId"))).alias("_c_oid"), norm_email(F.col("userPrincipalName")).alias("_c_upn"),
        F.lower(norm_text(F.col("deviceDetail.deviceId"))).alias("_c_dev_entra"), short_host(F.col("deviceDetail.displayName")).alias("_c_dev_host"),
    )
    return Built(out, users=[Candidate("entra_object_id", F.col("_c_oid")), Candidate("email", F.col("_c_upn"))],
                 devices=[Candidate("entra_device_id", F.col("_c_dev_entra")), Candidate("hostname", F.col("_c_dev_host"))])


WINDOWS_AUTH = {4624: (1, "Logon"), 4625: (1, "Logon"), 4634: (2, "Logoff"), 4647: (2, "Logoff"), 4648: (1, "Logon"),
                4768: (3, "Authentication Ticket"), 4769: (4, "Service Ticket Request"), 4771: (6, "Preauth"),
                4776: (99, "Credential Validation")}


def windows_authentication(win: DataFrame) -> Built:
    eid = F.col("EventID")
    df = win.where(eid.isin(*WINDOWS_AUTH))
    ok_code = F.lower(F.coalesce(F.col("Status"), F.lit("0x0"))).isin("0x0", "0", "-")
    status = F.when(eid.isin(4625, 4771), "Failure").when(eid.isin(4768, 4769, 4776) & ~ok_code, "Failure").otherwise("Success")
    activity = _case(eid, {k: v[0] for k, v in WINDOWS_AUTH.items()}, 99)
    name = _case(eid, {k: v[1] for k, v in WINDOWS_AUTH.items()}, "Other")
    local = F.col("LogonType").isin(2, 7, 11)
    network = F.coalesce(F.col("LogonType") == 3, eid.isin(4768, 4769, 4771, 4776))
    host = short_host(F.col("Hostname"))
    client = short_host(F.coalesce(F.col("WorkstationName"), F.col("Workstation")))
    ip = norm_text(F.col("IpAddress"))
    out = df.select(
        *_ocsf(3002, "Authentication", activity, name, status,
               F.coalesce(F.col("FailureReason"), F.when(~ok_code, F.col("Status")), F.col("SubStatus")), eid),
        F.concat_ws("\\", F.col("TargetDomainName"), F.col("TargetUserName")).alias("actor_user_name"),
        F.col("TargetUserSid").alias("actor_user_vendor_uid"),
        F.when(~ip.isin("127.0.0.1", "::1"), ip).alias("src_ip"),
        *[F.lit(None).cast(t).alias(c) for c, t in (("src_country", "string"), ("src_city", "string"), ("src_lat", "double"),
                                                     ("src_lon", "double"))],
        F.col("TargetLogonId").alias("session_uid"), F.coalesce(F.col("AuthenticationPackageName"), F.lit("Kerberos")).alias("auth_protocol"),
        F.col("LogonType").alias("logon_type"), F.lit(None).cast("string").alias("mfa_factor"), F.lit(False).alias("is_mfa"),
        F.lit(None).cast("boolean").alias("is_phishing_resistant"), F.lit(None).cast("boolean").alias("is_new_logon"),
        F.col("LogonType").isin(2, 10, 11).alias("is_interactive"),
        F.coalesce(F.col("ServiceName"), F.col("TargetServerName")).alias("service_name"),
        F.when(local, host).otherwise(client).alias("device_name"), F.col("Hostname").alias("dst_hostname"),
        *_res(host=F.when(network, host), name=F.when(network, F.lower(F.col("Hostname"))), kind="host"), *_lineage(),
        windows_account(F.col("TargetDomainName"), F.col("TargetUserName")).alias("_c_acct"),
        F.upper(norm_text(F.col("TargetUserSid"))).alias("_c_sid"),
        F.when(local, host).otherwise(client).alias("_c_dev_host"), F.when(~local, ip).alias("_c_dev_ip"),
    )
    return Built(out, users=[Candidate("sid", F.col("_c_sid")), Candidate("windows_account", F.col("_c_acct"))],
                 devices=[Candidate("hostname", F.col("_c_dev_host")), Candidate("ip", F.col("_c_dev_ip"))])


# --- API activity (OCSF 6003) ------------------------------------------------------------------

def _api_activity_id(name: Column) -> Column:
    return (F.when(name.rlike(r"^(Create|Put|Add|Attach|Run|Start|Register|Import|Upload)"), 1)
            .when(name.rlike(r"^(Get|List|Describe|Lookup|Filter|Head|Select|Search|Scan|Query)"), 2)
            .when(name.rlike(r"^(Update|Modify|Set|Change|Enable|Disable|Tag|Untag|Assume|Reset|Rotate)"), 3)
            .when(name.rlike(r"^(Delete|Remove|Detach|Terminate|Revoke|Deregister|Stop)"), 4).otherwise(99))


def cloudtrail_api_activity(ct: DataFrame) -> Built:
    ui = F.col("userIdentity")
    name = F.col("eventName")
    activity = _api_activity_id(name)
    arn = ui.getField("arn")
    issuer = ui.getField("sessionContext").getField("sessionIssuer")
    email = F.coalesce(norm_email(session_name(arn)), norm_email(ui.getField("userName")),
                       norm_email(F.element_at(F.split(ui.getField("principalId"), ":"), -1)))
    out = ct.select(
        *_ocsf(6003, "API Activity", activity,
               _case(activity, {1: "Create", 2: "Read", 3: "Update", 4: "Delete"}, "Other"),
               F.when(F.col("errorCode").isNull(), "Success").otherwise("Failure"), F.col("errorMessage"), F.col("eventType")),
        name.alias("api_operation"), F.col("eventSource").alias("api_service"), F.col("requestID").alias("api_request_uid"),
        F.col("errorCode").alias("error_code"), F.col("errorMessage").alias("error_message"),
        ui.getField("type").alias("principal_type"), arn.alias("principal_arn"), ui.getField("principalId").alias("principal_id"),
        F.coalesce(ui.getField("userName"), session_name(arn)).alias("principal_name"),
        ui.getField("accessKeyId").alias("access_key_id"),
        ui.getField("accessKeyId").startswith("AKIA").alias("is_long_lived_key"),
        issuer.getField("arn").alias("session_issuer_arn"), issuer.getField("type").alias("session_issuer_type"),
        session_name(arn).alias("session_name"),
        F.try_to_timestamp(ui.getField("sessionContext").getField("attributes").getField("creationDate")).alias("session_created"),
        (F.lower(ui.getField("sessionContext").getField("attributes").getField("mfaAuthenticated")) == "true").alias("session_mfa"),
        F.when(name.startswith("AssumeRole"), F.get_json_object("requestParameters", "$.roleArn")).alias("assumed_role_arn"),
        F.col("sourceIPAddress").alias("src_ip"), F.col("userAgent").alias("user_agent"), F.col("awsRegion").alias("region"),
        F.col("recipientAccountId").alias("cloud_account_uid"), F.col("readOnly").alias("is_read_only"),
        F.coalesce(F.transform("resources", lambda r: r.getField("ARN")), F.array().cast(ArrayType(StringType()))).alias("resources"),
        F.col("requestParameters").alias("request_parameters"),
        *_res(account=F.col("recipientAccountId"), name=F.concat(F.lit("aws account "), F.col("recipientAccountId")), kind="cloud_account"),
        *_lineage(),
        arn.alias("_c_arn"), email.alias("_c_email"), ui.getField("principalId").alias("_c_pid"), issuer.getField("arn").alias("_c_issuer"),
    )
    return Built(out, users=[Candidate("aws_principal_arn", F.col("_c_arn")), Candidate("email", F.col("_c_email")),
                             Candidate("aws_principal_id", F.col("_c_pid")), Candidate("aws_principal_arn", F.col("_c_issuer"))])


# --- account_change (3001) and entitlement_change (3005/3006) -----------------------------------

# (table, activity_id, activity_name, change)
OKTA_CHANGES = {
    "user.lifecycle.create": ("account", 1, "Create", None), "user.lifecycle.activate": ("account", 2, "Enable", None),
    "user.lifecycle.unsuspend": ("account", 2, "Enable", None), "user.account.update_password": ("account", 3, "Password Change", None),
    "user.account.reset_password": ("account", 4, "Password Reset", None), "user.lifecycle.password_reset": ("account", 4, "Password Reset", None),
    "user.lifecycle.deactivate": ("account", 5, "Disable", None), "user.lifecycle.suspend": ("account", 5, "Disable", None),
    "user.lifecycle.delete.initiated": ("account", 6, "Delete", None), "user.account.lock": ("account", 9, "Lock", None),
    "user.mfa.factor.activate": ("account", 10, "MFA Factor Enable", None), "user.mfa.factor.deactivate": ("account", 11, "MFA Factor Disable", None),
    "user.mfa.factor.reset_all": ("account", 11, "MFA Factor Disable", None), "user.account.update_profile": ("account", 99, "Update", None),
    "group.user_membership.add": ("entitlement", 3, "Add User", "grant"), "group.user_membership.remove": ("entitlement", 4, "Remove User", "revoke"),
    "application.user_membership.add": ("entitlement", 1, "Assign Privileges", "grant"),
    "application.user_membership.remove": ("entitlement", 2, "Revoke Privileges", "revoke"),
    "user.account.privilege.grant": ("entitlement", 1, "Assign Privileges", "grant"),
    "user.account.privilege.revoke": ("entitlement", 2, "Revoke Privileges", "revoke"),
    "app.oauth2.as.consent.grant": ("entitlement", 1, "Assign Privileges", "grant"),
}
ENTRA_CHANGES = {
    "Add user": ("account", 1, "Create", None), "Enable account": ("account", 2, "Enable", None),
    "Change user password": ("account", 3, "Password Change", None), "Change password (self-service)": ("account", 3, "Password Change", None),
    "Reset user password": ("account", 4, "Password Reset", None), "Reset password (by admin)": ("account", 4, "Password Reset", None),
    "Disable account": ("account", 5, "Disable", None), "Delete user": ("account", 6, "Delete", None),
    "Hard delete user": ("account", 6, "Delete", None), "Update user": ("account", 99, "Update", None),
    "User registered security info": ("account", 10, "MFA Factor Enable", None),
    "User deleted security info": ("account", 11, "MFA Factor Disable", None),
    "Add member to group": ("entitlement", 3, "Add User", "grant"), "Remove member from group": ("entitlement", 4, "Remove User", "revoke"),
    "Add member to role": ("entitlement", 1, "Assign Privileges", "grant"),
    "Add eligible member to role": ("entitlement", 1, "Assign Privileges", "grant"),
    "Remove member from role": ("entitlement", 2, "Revoke Privileges", "revoke"),
    "Add app role assignment to user": ("entitlement", 1, "Assign Privileges", "grant"),
    "Add app role assignment grant to user": ("entitlement", 1, "Assign Privileges", "grant"),
    "Consent to application": ("entitlement", 1, "Assign Privileges", "grant"),
    "Add delegated permission grant": ("entitlement", 1, "Assign Privileges", "grant"),
}
WINDOWS_CHANGES = {
    4720: ("account", 1, "Create", None), 4722: ("account", 2, "Enable", None), 4723: ("account", 3, "Password Change", None),
    4724: ("account", 4, "Password Reset", None), 4725: ("account", 5, "Disable", None), 4726: ("account", 6, "Delete", None),
    4738: ("account", 99, "Update", None), 4740: ("account", 9, "Lock", None), 4767: ("account", 99, "Unlock", None),
    4781: ("account", 99, "Rename", None),
    4728: ("entitlement", 3, "Add User", "grant"), 4732: ("entitlement", 3, "Add User", "grant"), 4756: ("entitlement", 3, "Add User", "grant"),
    4729: ("entitlement", 4, "Remove User", "revoke"), 4733: ("entitlement", 4, "Remove User", "revoke"),
    4757: ("entitlement", 4, "Remove User", "revoke"), 4727: ("entitlement", 6, "Create", None), 4731: ("entitlement", 6, "Create", None),
    4754: ("entitlement", 6, "Create", None), 4730: ("entitlement", 5, "Delete", None), 4734: ("entitlement", 5, "Delete", None),
    4758: ("entitlement", 5, "Delete", None), 4735: ("entitlement", 99, "Update", None), 4737: ("entitlement", 99, "Update", None),
    4755: ("entitlement", 99, "Update", None),
}
CLOUDTRAIL_CHANGES = {
    "CreateUser": ("account", 1, "Create", None), "DeleteUser": ("account", 6, "Delete", None),
    "CreateLoginProfile": ("account", 99, "Create Login Profile", None), "UpdateLoginProfile": ("account", 3, "Password Change", None),
    "CreateAccessKey": ("account", 99, "Create Access Key", None), "UpdateAccessKey": ("account", 99, "Update Access Key", None),
    "DeleteAccessKey": ("account", 99, "Delete Access Key", None), "EnableMFADevice": ("account", 10, "MFA Factor Enable", None),
    "DeactivateMFADevice": ("account", 11, "MFA Factor Disable", None),
    "AttachUserPolicy": ("entitlement", 1, "Assign Privileges", "grant"), "AttachGroupPolicy": ("entitlement", 1, "Assign Privileges", "grant"),
    "AttachRolePolicy": ("entitlement", 1, "Assign Privileges", "grant"), "PutUserPolicy": ("entitlement", 1, "Assign Privileges", "grant"),
    "PutGroupPolicy": ("entitlement", 1, "Assign Privileges", "grant"), "PutRolePolicy": ("entitlement", 1, "Assign Privileges", "grant"),
    "DetachUserPolicy": ("entitlement", 2, "Revoke Privileges", "revoke"),
    "DetachGroupPolicy": ("entitlement", 2, "Revoke Privileges", "revoke"),
    "DetachRolePolicy": ("entitlement", 2, "Revoke Privileges", "revoke"),
    "DeleteUserPolicy": ("entitlement", 2, "Revoke Privileges", "revoke"),
    "DeleteRolePolicy": ("entitlement", 2, "Revoke Privileges", "revoke"),
    "AddUserToGroup": ("entitlement", 3, "Add User", "grant"), "RemoveUserFromGroup": ("entitlement", 4, "Remove User", "revoke"),
    "CreateRole": ("entitlement", 6, "Create", None), "DeleteRole": ("entitlement", 5, "Delete", None),
    "UpdateAssumeRolePolicy": ("entitlement", 99, "Update Trust Policy", "grant"),
}


def _change_cols(key: Column, mapping: dict) -> tuple[Column, Column, Column, Column]:
    kinds = _case(key, {k: v[0] for k, v in mapping.items()})
    return (kinds, _case(key, {k: v[1] for k, v in mapping.items()}, 99), _case(key, {k: v[2] for k, v in mapping.items()}, "Other"),
            _case(key, {k: v[3] for k, v in mapping.items() if v[3]}))


def _change_class(table: Column) -> tuple[Column, Column]:
    return (F.when(table == "account", 3001).otherwise(3005),
            F.when(table == "account", "Account Change").otherwise("User Access Management"))


def _change_select(df: DataFrame, table: Column, activity: Column, name: Column, change: Column, status: Column, detail: Column,
                   vendor: Column, rest: list[Column]) -> DataFrame:
    cls, cls_name = _change_class(table)
    return df.select(
        F.col("_event_time").alias("time"), F.to_date("_event_time").alias("event_date"), cls.alias("class_uid"), cls_name.alias("class_name"),
        activity.cast("int").alias("activity_id"), name.alias("activity_name"), (cls * 100 + activity).cast("long").alias("type_uid"),
        status.alias("status"), F.when(status == "Success", 1).when(status == "Failure", 2).otherwise(99).alias("status_id"),
        detail.cast("string").alias("status_detail"), vendor.cast("string").alias("vendor_event_type"), change.alias("change"),
        table.alias("_table"), *rest, *_lineage(),
    )


def okta_changes(okta: DataFrame) -> Built:
    et = F.col("eventType")
    table, activity, name, change = _change_cols(et, OKTA_CHANGES)
    df = okta.where(et.isin(*OKTA_CHANGES))
    user_t = F.try_element_at(F.filter("target", lambda t: t.getField("type") == "User"), F.lit(1))
    grant_t = F.try_element_at(F.filter("target", lambda t: t.getField("type").isin("UserGroup", "AppInstance", "ROLE", "PolicyEntity")), F.lit(1))
    result = F.upper(F.col("outcome.result"))
    out = _change_select(
        df, table, activity, name, change,
        F.when(result.isin("SUCCESS", "ALLOW"), "Success").when(result.isin("FAILURE", "DENY"), "Failure").otherwise("Other"),
        F.col("outcome.reason"), et,
        [F.col("actor.alternateId").alias("actor_user_name"),
         F.coalesce(user_t.getField("alternateId"), F.col("actor.alternateId")).alias("target_user_name"),
         F.coalesce(grant_t.getField("type"), F.lit("User")).alias("target_type"),
         grant_t.getField("displayName").alias("entitlement"), F.col("authenticationContext.credentialType").alias("privileges"),
         F.col("client.ipAddress").alias("src_ip"),
         *_res(name=grant_t.getField("displayName"), kind=F.lower(F.coalesce(grant_t.getField("type"), F.lit("app")))),
         norm_text(F.col("actor.id")).alias("_c_okta"), norm_email(F.col("actor.alternateId")).alias("_c_login"),
         norm_text(F.coalesce(user_t.getField("id"), F.col("actor.id"))).alias("_t_okta"),
         norm_email(F.coalesce(user_t.getField("alternateId"), F.col("actor.alternateId"))).alias("_t_login")],
    )
    return Built(out, users=[Candidate("okta_id", F.col("_c_okta")), Candidate("email", F.col("_c_login"))],
                 targets=[Candidate("okta_id", F.col("_t_okta")), Candidate("email", F.col("_t_login"))])


def entra_changes(audit: DataFrame) -> Built:
    act = F.col("activityDisplayName")
    table, activity, name, change = _change_cols(act, ENTRA_CHANGES)
    df = audit.where(act.isin(*ENTRA_CHANGES))
    user_t = F.try_element_at(F.filter("targetResources", lambda t: t.getField("type") == "User"), F.lit(1))
    grant_t = F.try_element_at(F.filter("targetResources", lambda t: t.getField("type") != "User"), F.lit(1))
    perms = F.try_element_at(F.filter(F.flatten(F.transform("targetResources", lambda t: F.coalesce(
        t.getField("modifiedProperties"), F.array().cast("array<struct<displayName:string,oldValue:string,newValue:string>>")))),
        lambda m: F.lower(m.getField("displayName")).contains("permission")), F.lit(1)).getField("newValue")
    initiator = F.col("initiatedBy.user")
    consent = act.isin("Consent to application", "Add delegated permission grant")
    out = _change_select(
        df, table, activity, name, change,
        F.when(F.lower("result") == "success", "Success").when(F.lower("result").isin("failure", "timeout"), "Failure").otherwise("Other"),
        F.col("resultReason"), act,
        [F.coalesce(initiator.getField("userPrincipalName"), F.col("initiatedBy.app.displayName")).alias("actor_user_name"),
         F.when(consent, initiator.getField("userPrincipalName")).otherwise(
             F.coalesce(user_t.getField("userPrincipalName"), user_t.getField("displayName"))).alias("target_user_name"),
         F.coalesce(grant_t.getField("type"), F.lit("User")).alias("target_type"),
         grant_t.getField("displayName").alias("entitlement"), perms.alias("privileges"), initiator.getField("ipAddress").alias("src_ip"),
         *_res(name=grant_t.getField("displayName"), kind=F.lower(F.coalesce(grant_t.getField("type"), F.lit("app")))),
         F.lower(norm_text(initiator.getField("id"))).alias("_c_oid"), norm_email(initiator.getField("userPrincipalName")).alias("_c_upn"),
         F.lower(norm_text(F.when(consent, initiator.getField("id")).otherwise(user_t.getField("id")))).alias("_t_oid"),
         norm_email(F.when(consent, initiator.getField("userPrincipalName")).otherwise(
             F.coalesce(user_t.getField("userPrincipalName"), user_t.getField("displayName")))).alias("_t_upn")],
    )
    return Built(out, users=[Candidate("entra_object_id", F.col("_c_oid")), Candidate("email", F.col("_c_upn"))],
                 targets=[Candidate("entra_object_id", F.col("_t_oid")), Candidate("email", F.col("_t_upn"))])


def windows_changes(win: DataFrame) -> Built:
    eid = F.col("EventID")
    table, activity, name, change = _change_cols(eid, WINDOWS_CHANGES)
    df = win.where(eid.isin(*WINDOWS_CHANGES))
    group_event = table == "entitlement"
    member = F.regexp_extract(F.coalesce(F.col("MemberName"), F.lit("")), r"^CN=([^,]+)", 1)
    out = _change_select(
        df, table, activity, name, change, F.lit("Success"), F.lit(None), eid,
        [F.concat_ws("\\", F.col("SubjectDomainName"), F.col("SubjectUserName")).alias("actor_user_name"),
         F.when(group_event, F.coalesce(F.nullif(member, F.lit("")), F.col("MemberSid"))).otherwise(
             F.concat_ws("\\", F.col("TargetDomainName"), F.col("TargetUserName"))).alias("target_user_name"),
         F.when(group_event, F.lit("Group")).otherwise(F.lit("User")).alias("target_type"),
         F.when(group_event, F.concat_ws("\\", F.col("TargetDomainName"), F.col("TargetUserName"))).alias("entitlement"),
         F.col("PrivilegeList").alias("privileges"), F.lit(None).cast("string").alias("src_ip"),
         *_res(), F.upper(norm_text(F.col("SubjectUserSid"))).alias("_c_sid"),
         windows_account(F.col("SubjectDomainName"), F.col("SubjectUserName")).alias("_c_acct"),
         F.upper(norm_text(F.when(group_event, F.col("MemberSid")).otherwise(F.coalesce(F.col("TargetSid"), F.col("TargetUserSid"))))).alias("_t_sid"),
         F.when(~group_event, windows_account(F.col("TargetDomainName"), F.col("TargetUserName"))).alias("_t_acct")],
    )
    return Built(out, users=[Candidate("sid", F.col("_c_sid")), Candidate("windows_account", F.col("_c_acct"))],
                 targets=[Candidate("sid", F.col("_t_sid")), Candidate("windows_account", F.col("_t_acct"))], resources=False)


def cloudtrail_changes(ct: DataFrame) -> Built:
    name = F.col("eventName")
    table, activity, aname, change = _change_cols(name, CLOUDTRAIL_CHANGES)
    df = ct.where((F.col("eventSource") == "iam.amazonaws.com") & name.isin(*CLOUDTRAIL_CHANGES))
    rp = F.col("requestParameters")
    target = F.coalesce(F.get_json_object(rp, "$.userName"), F.get_json_object(rp, "$.roleName"), F.get_json_object(rp, "$.groupName"))
    ttype = (F.when(F.get_json_object(rp, "$.userName").isNotNull(), "AWS IAM User")
             .when(F.get_json_object(rp, "$.roleName").isNotNull(), "AWS IAM Role").otherwise("AWS IAM Group"))
    ent = F.coalesce(F.get_json_object(rp, "$.policyArn"), F.get_json_object(rp, "$.policyName"),
                     F.when(name.contains("Group"), F.get_json_object(rp, "$.groupName")))
    arn = F.col("userIdentity.arn")
    email = F.coalesce(norm_email(session_name(arn)), norm_email(F.col("userIdentity.userName")))
    out = _change_select(
        df, table, activity, aname, change, F.when(F.col("errorCode").isNull(), "Success").otherwise("Failure"),
        F.col("errorCode"), name,
        [F.coalesce(F.col("userIdentity.userName"), session_name(arn)).alias("actor_user_name"), target.alias("target_user_name"),
         ttype.alias("target_type"), ent.alias("entitlement"), F.get_json_object(rp, "$.policyDocument").alias("privileges"),
         F.col("sourceIPAddress").alias("src_ip"),
         *_res(account=F.col("recipientAccountId"), name=F.concat(F.lit("aws account "), F.col("recipientAccountId")), kind="cloud_account"),
         arn.alias("_c_arn"), email.alias("_c_email"), F.col("userIdentity.sessionContext.sessionIssuer.arn").alias("_c_issuer"),
         norm_email(target).alias("_t_email")],
    )
    return Built(out, users=[Candidate("aws_principal_arn", F.col("_c_arn")), Candidate("email", F.col("_c_email")),
                             Candidate("aws_principal_arn", F.col("_c_issuer"))],
                 targets=[Candidate("email", F.col("_t_email"))])


# --- network (4003 DNS, 4001 network) and datastore (6005) ---------------------------------------

def zeek_dns_activity(dns: DataFrame) -> Built:
    rcode = F.col("rcode_name")
    out = dns.select(
        *_ocsf(4003, "DNS Activity", F.lit(6), F.lit("Traffic"),
               F.when(rcode == "NOERROR", "Success").when(rcode.isNotNull(), "Failure").otherwise("Other"), rcode, F.lit("dns")),
        F.col("uid").alias("connection_uid"), F.col("id_orig_h").alias("src_ip"), F.col("id_orig_p").alias("src_port"),
        F.col("id_resp_h").alias("dst_ip"), F.col("id_resp_p").alias("dst_port"), F.col("proto").alias("protocol"),
        F.lower(F.col("query")).alias("query_hostname"), F.col("qtype_name").alias("query_type"), rcode.alias("rcode"),
        F.col("rcode").alias("rcode_id"), F.col("answers").alias("answers"), F.col("rtt").alias("rtt"), *_res(), *_lineage(),
        F.trim("id_orig_h").alias("_c_dev_ip"),
    )
    return Built(out, devices=[Candidate("ip", F.col("_c_dev_ip"))], device_owner=True, resources=False)


def zeek_network_activity(conn: DataFrame) -> Built:
    state = F.col("conn_state")
    out = conn.select(
        *_ocsf(4001, "Network Activity", F.lit(6), F.lit("Traffic"),
               F.when(state.isin("SF", "S1", "S2", "S3", "RSTO", "RSTR"), "Success").when(state.isin("REJ", "S0", "OTH"), "Failure")
               .otherwise("Other"), state, F.lit("conn")),
        F.col("uid").alias("connection_uid"), F.col("id_orig_h").alias("src_ip"), F.col("id_orig_p").alias("src_port"),
        F.col("id_resp_h").alias("dst_ip"), F.col("id_resp_p").alias("dst_port"), F.col("proto").alias("protocol"),
        F.col("service").alias("service"), F.col("duration").alias("duration"), F.col("orig_bytes").alias("bytes_out"),
        F.col("resp_bytes").alias("bytes_in"), F.col("orig_pkts").alias("packets_out"), F.col("resp_pkts").alias("packets_in"),
        state.alias("conn_state"), *_res(), *_lineage(), F.trim("id_orig_h").alias("_c_dev_ip"),
    )
    return Built(out, devices=[Candidate("ip", F.col("_c_dev_ip"))], device_owner=True, resources=False)


def datastore_activity(da: DataFrame) -> Built:
    user = F.col("actor.user")
    status = F.when(F.col("status_id") == 1, "Success").when(F.col("status_id") == 2, "Failure").otherwise(
        F.when(F.lower("status") == "success", "Success").when(F.lower("status") == "failure", "Failure").otherwise("Other"))
    db = F.coalesce(F.col("database"), F.col("databucket"))
    out = da.select(
        *_ocsf(6005, "Datastore Activity", F.coalesce(F.col("activity_id"), F.lit(99)), F.coalesce(F.col("activity_name"), F.lit("Other")),
               status, F.col("status"), F.col("activity_name")),
        db.getField("name").alias("database_name"), db.getField("uid").alias("database_uid"), F.col("table.name").alias("table_name"),
        F.col("query_info.query_string").alias("query"), F.col("unmapped.rows").alias("rows"), F.col("query_info.bytes").alias("bytes"),
        F.col("src_endpoint.ip").alias("src_ip"), F.col("src_endpoint.hostname").alias("src_hostname"),
        F.coalesce(F.col("unmapped.tool"), F.col("metadata.product.name")).alias("tool"), F.col("actor.session.uid").alias("session_uid"),
        F.coalesce(user.getField("email_addr"), user.getField("name")).alias("actor_user_name"),
        *_res(id_=F.lower(db.getField("uid")), name=F.lower(db.getField("name")), kind="datastore"), *_lineage(),
        norm_email(user.getField("email_addr")).alias("_c_email"), norm_text(user.getField("uid")).alias("_c_uid"),
        short_host(F.col("src_endpoint.hostname")).alias("_c_dev_host"), F.trim("src_endpoint.ip").alias("_c_dev_ip"),
    )
    return Built(out, users=[Candidate("email", F.col("_c_email")), Candidate("okta_id", F.col("_c_uid"))],
                 devices=[Candidate("hostname", F.col("_c_dev_host")), Candidate("ip", F.col("_c_dev_ip"))])


# --- resolution ----------------------------------------------------------------------------------

def finish(built: Built, columns: Sequence[str], user_aliases: DataFrame, device_aliases: DataFrame, resource_aliases: DataFrame,
           device_owners: DataFrame) -> DataFrame:
    """Resolve user, device, resource (and change target) keys; return the class's columns."""
    df = resolve(built.df, built.users, user_aliases, "user", entity_col="user_uid") if built.users else (
        built.df.withColumn("user_uid", F.lit(None).cast("string")).withColumn("user_resolution", F.lit("not_applicable")))
    df = resolve(df, built.devices, device_aliases, "device") if built.devices else (
        df.withColumn("device_uid", F.lit(None).cast("string")).withColumn("device_resolution", F.lit("not_applicable")))
    if built.device_owner:
        owners = device_owners.select(F.col("device_uid").alias("_o_dev"), F.col("owner_user_uid").alias("_owner"))
        df = df.join(owners, df["device_uid"] == owners["_o_dev"], "left").withColumn(
            "user_resolution", F.when(F.col("_owner").isNotNull(), F.lit("device_owner")).otherwise(F.lit("no_device_owner"))
        ).withColumn("user_uid", F.col("_owner")).drop("_o_dev", "_owner")
    if built.targets:
        df = resolve(df, built.targets, user_aliases, "target_user", entity_col="user_uid")
    res = [Candidate("resource_id", F.col("_res_id")), Candidate("aws_account", F.col("_res_account")),
           Candidate("hostname", F.col("_res_host")), Candidate("name", F.lower(F.col("_res_name")))]
    if built.resources:
        df = resolve(df, res, resource_aliases, "_res")
    else:
        df = df.withColumn("_res_uid", F.lit(None).cast("string")).withColumn("_res_resolution", F.lit(None).cast("string"))
    named = F.coalesce(F.col("_res_id"), F.col("_res_account"), F.col("_res_host"), F.col("_res_name"))
    df = df.withColumn("resource_uid", F.coalesce(F.col("_res_uid"), F.when(named.isNotNull(), uncatalogued_uid(F.col("_res_kind"), named))))
    df = df.withColumn("resource_in_catalog", F.when(named.isNotNull(), F.col("_res_uid").isNotNull()))
    df = df.withColumn("resource_resolution", F.when(named.isNull(), F.lit("not_applicable")).when(
        F.col("_res_uid").isNull(), F.lit("uncatalogued")).otherwise(F.col("_res_resolution")))
    return df.select(*columns, *(["_table"] if "_table" in df.columns else []))


def split_changes(df: DataFrame, table: str) -> DataFrame:
    """`account` or `entitlement` rows of the combined change builders."""
    return df.where(F.col("_table") == table).drop("_table")

