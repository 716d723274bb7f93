"""AWS CloudTrail records (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).

Landed from JSON lines and from S3-delivery files (`{"Records": [...]}`), including records a
forwarder wrapped with extra keys (those keys are not part of the record and are ignored).
`requestParameters`, `responseElements` and `additionalEventData` are free-form per API, so they
are kept as JSON text.
"""

from __future__ import annotations

from pyspark.sql.types import ArrayType, BooleanType, MapType, StringType, StructField, StructType

from jobs.landing.spec import SourceSpec


def _s(name: str) -> StructField:
    return StructField(name, StringType())


SESSION_ISSUER = StructType([_s("type"), _s("principalId"), _s("arn"), _s("accountId"), _s("userName")])
USER_IDENTITY = StructType(
    [
        _s("type"),
        _s("principalId"),
        _s("arn"),
        _s("accountId"),
        _s("accessKeyId"),
        _s("userName"),
        _s("invokedBy"),
        _s("identityProvider"),
        _s("credentialId"),
        StructField(
            "sessionContext",
            StructType(
                [
                    StructField("sessionIssuer", SESSION_ISSUER),
                    StructField("webIdFederationData", MapType(StringType(), StringType())),
                    StructField("attributes", StructType([_s("creationDate"), _s("mfaAuthenticated")])),
                    _s("sourceIdentity"),
                    _s("ec2RoleDelivery"),
                    _s("assumedRoot"),
                ]
            ),
        ),
        StructField("onBehalfOf", StructType([_s("userId"), _s("identityStoreArn")])),
    ]
)

RECORD = StructType(
    [
        _s("eventVersion"),
        StructField("userIdentity", USER_IDENTITY),
        _s("eventTime"),
        _s("eventSource"),
        _s("eventName"),
        _s("awsRegion"),
        _s("sourceIPAddress"),
        _s("userAgent"),
        _s("errorCode"),
        _s("errorMessage"),
        _s("requestParameters"),
        _s("responseElements"),
        _s("additionalEventData"),
        _s("requestID"),
        _s("eventID"),
        _s("eventType"),
        _s("apiVersion"),
        StructField("managementEvent", BooleanType()),
        StructField("readOnly", BooleanType()),
        StructField("resources", ArrayType(StructType([_s("ARN"), _s("accountId"), _s("type")]))),
        _s("recipientAccountId"),
        _s("serviceEventDetails"),
        _s("sharedEventID"),
        _s("vpcEndpointId"),
        _s("vpcEndpointAccountId"),
        _s("eventCategory"),
        _s("sessionCredentialFromConsole"),
        StructField("tlsDetails", StructType([_s("tlsVersion"), _s("cipherSuite"), _s("clientProvidedHostHeader")])),
    ]
)

SPEC = SourceSpec(
    name="cloudtrail",
    schema=RECORD,
    id_fields=("eventID",),
    time_fields=("eventTime",),
    required=("eventName", "eventSource"),
)
