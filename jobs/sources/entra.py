"""Microsoft Entra ID sign-ins and directory audits.

Both arrive as Microsoft Graph resources (`signIn`, `directoryAudit`) or in the Azure
diagnostic-settings shape (`time`, `category`, `properties` = the Graph resource).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BooleanType, DoubleType, IntegerType, StringType, StructField

from jobs.landing.spec import SourceSpec, envelope, struct

DIAGNOSTIC = struct(
    "time", "category", "operationName", "operationVersion", "resultType", "resultSignature", "resultDescription",
    "callerIpAddress", "tenantId", "correlationId", "durationMs", "Level", "identity",
)

# Graph `signIn` (https://learn.microsoft.com/graph/api/resources/signin)
SIGN_IN = struct(
    "id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "userType", "appId", "appDisplayName",
    "ipAddress", "clientAppUsed", "userAgent", "correlationId", "sessionId", "conditionalAccessStatus",
    StructField("isInteractive", BooleanType()),
    "riskDetail", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState",
    StructField("riskEventTypes_v2", ArrayType(StringType())),
    "resourceDisplayName", "resourceId", "servicePrincipalId", "servicePrincipalName", "authenticationRequirement",
    "authenticationProtocol", "incomingTokenType", "tokenIssuerType", "uniqueTokenIdentifier",
    StructField("autonomousSystemNumber", IntegerType()),
    StructField("signInEventTypes", ArrayType(StringType())),
    StructField("status", struct(StructField("errorCode", IntegerType()), "failureReason", "additionalDetails")),
    StructField(
        "deviceDetail",
        struct("deviceId", "displayName", "operatingSystem", "browser", StructField("isCompliant", BooleanType()),
               StructField("isManaged", BooleanType()), "trustType"),
    ),
    StructField(
        "location",
        struct("city", "state", "countryOrRegion",
               StructField("geoCoordinates", struct(StructField("latitude", DoubleType()), StructField("longitude", DoubleType())))),
    ),
    StructField(
        "authenticationDetails",
        ArrayType(struct("authenticationMethod", "authenticationMethodDetail", StructField("succeeded", BooleanType()),
                         "authenticationStepDateTime", "authenticationStepResultDetail")),
    ),
    StructField("mfaDetail", struct("authMethod", "authDetail")),
    StructField("appliedConditionalAccessPolicies", ArrayType(struct("id", "displayName", "result"))),
)

# Graph `directoryAudit` (https://learn.microsoft.com/graph/api/resources/directoryaudit)
IDENTITY = struct(
    StructField("user", struct("id", "displayName", "userPrincipalName", "ipAddress")),
    StructField("app", struct("appId", "displayName", "servicePrincipalId", "servicePrincipalName")),
)
DIRECTORY_AUDIT = struct(
    "id", "category", "correlationId", "result", "resultReason", "activityDisplayName", "activityDateTime",
    "loggedByService", "operationType",
    StructField("initiatedBy", IDENTITY),
    StructField(
        "targetResources",
        ArrayType(struct("id", "displayName", "type", "userPrincipalName", "groupType",
                         StructField("modifiedProperties", ArrayType(struct("displayName", "oldValue", "newValue"))))),
    ),
    StructField("additionalDetails", ArrayType(struct("key", "value"))),
)

SIGN_IN_CATEGORIES = ("SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs")


def _category_check(sign_in: bool, other_source: str, principal: tuple[str, ...] = ()) -> Callable[[Column], Column]:
    """Diagnostic records carry their log category: sign-in categories belong to `entra_signin`,
    every other category (AuditLogs and its sub-categories) to `entra_audit`."""

    def reject(p: Column) -> Column:
        is_sign_in = F.coalesce(p.getField("diagnostic_category"), F.lit("")).isin(*SIGN_IN_CATEGORIES)
        wrong = p.getField("diagnostic_time").isNotNull() & (~is_sign_in if sign_in else is_sign_in)
        reason = F.when(
            wrong,
            F.concat(F.lit("diagnostic category '"), F.coalesce(p.getField("diagnostic_category"), F.lit("null")),
                     F.lit(f"' does not belong to this source; land it under `{other_source}`")),
        )
        if principal:
            nobody = F.coalesce(*[p.getField(f) for f in principal]).isNull()
            reason = reason.when(nobody, F.lit(f"names no principal (none of {', '.join(principal)})"))
        return reason

    return reject


_signin_schema, _signin_columns = envelope(SIGN_IN, DIAGNOSTIC)
SIGNIN_SPEC = SourceSpec(
    name="entra_signin",
    schema=_signin_schema,
    columns=_signin_columns,
    explode={"value": None},  # Graph list responses
    id_fields=("id",),
    time_fields=("createdDateTime", "diagnostic_time"),
    reject=_category_check(True, "entra_audit", ("userId", "userPrincipalName", "servicePrincipalId", "appId")),
)

_audit_schema, _audit_columns = envelope(DIRECTORY_AUDIT, DIAGNOSTIC)
AUDIT_SPEC = SourceSpec(
    name="entra_audit",
    schema=_audit_schema,
    columns=_audit_columns,
    explode={"value": None},
    id_fields=("id",),
    time_fields=("activityDateTime", "diagnostic_time"),
    required=("activityDisplayName",),
    reject=_category_check(False, "entra_signin"),
)
