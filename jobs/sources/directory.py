"""The directory of record (SCIM 2.0, RFC 7643) and AWS IAM authorization details: who exists, what
they hold. Both are snapshots: each night's rows are the state as of that night."""

from __future__ import annotations

from pyspark.sql.types import ArrayType, BooleanType, IntegerType, StringType, StructField

from jobs.landing.spec import SourceSpec, struct

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
META = struct("resourceType", "created", "lastModified", "version", "location")

SCIM_USER = struct(
    StructField("schemas", ArrayType(StringType())), "id", "externalId", "userName",
    StructField("name", struct("formatted", "givenName", "familyName")),
    "displayName", "title", "userType", StructField("active", BooleanType()),
    StructField("emails", ArrayType(struct("value", "type", StructField("primary", BooleanType())))),
    StructField("groups", ArrayType(struct("value", "display"))),
    StructField(ENTERPRISE, struct("employeeNumber", "department", "division", "organization", "costCenter",
                                   StructField("manager", struct("value", "displayName")))),
    StructField("meta", META),
)
SCIM_USERS_SPEC = SourceSpec(
    name="scim_users",
    schema=SCIM_USER,
    columns={
        **{f.name: (f.name,) for f in SCIM_USER.fields if f.name != ENTERPRISE},
        "enterprise": ((ENTERPRISE,),),
    },
    explode={"Resources": None},  # ListResponse pages
    id_fields=("id",),
    required=("id", "userName"),
    snapshot=True,
)

SCIM_GROUP = struct(
    StructField("schemas", ArrayType(StringType())), "id", "externalId", "displayName",
    StructField("members", ArrayType(struct("value", "display", "type"))),
    StructField("meta", META),
)
SCIM_GROUPS_SPEC = SourceSpec(
    name="scim_groups",
    schema=SCIM_GROUP,
    explode={"Resources": None},
    id_fields=("id",),
    required=("id", "displayName"),
    snapshot=True,
)

# `aws iam get-account-authorization-details`: one record per user, group, role and managed policy.
POLICY_REF = struct("PolicyName", "PolicyArn")
INLINE = struct("PolicyName", "PolicyDocument")
AWS_IAM = struct(
    "EntryType", "Path", "Arn", "CreateDate",
    "UserName", "UserId", StructField("GroupList", ArrayType(StringType())), StructField("UserPolicyList", ArrayType(INLINE)),
    "GroupName", "GroupId", StructField("GroupPolicyList", ArrayType(INLINE)),
    "RoleName", "RoleId", "AssumeRolePolicyDocument", "Description", StructField("MaxSessionDuration", IntegerType()),
    StructField("RolePolicyList", ArrayType(INLINE)), StructField("RoleLastUsed", struct("LastUsedDate", "Region")),
    StructField("AttachedManagedPolicies", ArrayType(POLICY_REF)),
    StructField("Tags", ArrayType(struct("Key", "Value"))),
    "PolicyName", "PolicyId", "DefaultVersionId", StructField("AttachmentCount", IntegerType()),
    StructField("IsAttachable", BooleanType()), "UpdateDate",
    StructField("PolicyVersionList", ArrayType(struct("Document", "VersionId", StructField("IsDefaultVersion", BooleanType()), "CreateDate"))),
)
AWS_IAM_SPEC = SourceSpec(
    name="aws_iam",
    schema=AWS_IAM,
    explode={"UserDetailList": "user", "GroupDetailList": "group", "RoleDetailList": "role", "Policies": "policy"},
    kind_field="EntryType",
    id_fields=("Arn",),
    required=("EntryType", "Arn"),
    snapshot=True,
)
