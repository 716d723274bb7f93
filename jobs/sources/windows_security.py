"""Windows Security-channel events as JSON: NXLog/Logstash flat records, or Winlogbeat
(`event_id`, `computer_name`, `event_data.*`). Both land in one set of columns."""

from __future__ import annotations

from pyspark.sql.types import ArrayType, IntegerType, LongType, StringType, StructField, StructType

from jobs.landing.spec import Path, SourceSpec, s

# Event ids whose fields get typed columns (logon, logoff, privileges, process creation,
# account and group management, Kerberos and NTLM).
TYPED_EVENT_IDS = (4624, 4625, 4634, 4647, 4648, 4672, 4688, *range(4720, 4768), 4768, 4769, 4771, 4776)

EVENT_DATA = (
    "SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId",
    "TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId", "TargetSid",
    "LogonType", "LogonProcessName", "AuthenticationPackageName", "WorkstationName", "LogonGuid",
    "IpAddress", "IpPort", "ElevatedToken", "ImpersonationLevel", "Status", "SubStatus", "FailureReason",
    "ProcessId", "ProcessName", "NewProcessName", "NewProcessId", "CommandLine", "ParentProcessName",
    "TokenElevationType", "PrivilegeList", "TargetServerName", "TargetInfo", "ServiceName", "ServiceSid",
    "TicketOptions", "TicketEncryptionType", "PreAuthType", "MemberName", "MemberSid", "SamAccountName",
    "UserPrincipalName", "UserAccountControl", "PackageName", "Workstation",
)
INT_FIELDS = {"LogonType"}

COMMON = StructType(
    [
        s("@timestamp"), s("EventTime"), s("TimeCreated"),
        StructField("EventID", IntegerType()), s("Hostname"), s("Channel"), s("SourceName"), s("ProviderGuid"),
        StructField("RecordNumber", LongType()), s("Task"), s("Category"), s("Keywords"), s("Level"),
        s("EventType"), s("Message"),
        # Winlogbeat 6
        StructField("event_id", IntegerType()), s("computer_name"), s("log_name"), s("source_name"),
        s("provider_guid"), StructField("record_number", LongType()), s("task"), s("level"), s("message"),
        StructField("keywords", ArrayType(StringType())),
    ]
)


def _typed(name: str) -> StructField:
    return StructField(name, IntegerType() if name in INT_FIELDS else StringType())


EVENT = StructType(
    [*COMMON.fields, *[_typed(n) for n in EVENT_DATA], StructField("event_data", StructType([_typed(n) for n in EVENT_DATA]))]
)

COLUMNS: dict[str, tuple[Path, ...]] = {
    "event_time_text": (("@timestamp",), "TimeCreated", "EventTime"),
    "EventID": ("EventID", "event_id"),
    "Hostname": ("Hostname", "computer_name"),
    "Channel": ("Channel", "log_name"),
    "ProviderName": ("SourceName", "source_name"),
    "ProviderGuid": ("ProviderGuid", "provider_guid"),
    "RecordNumber": ("RecordNumber", "record_number"),
    "Task": ("Task", "task"),
    "Category": ("Category",),
    "Keywords": ("Keywords",),
    "Level": ("Level", "level"),
    "EventType": ("EventType",),
    "Message": ("Message", "message"),
    **{n: (n, f"event_data.{n}") for n in EVENT_DATA},
}

SPEC = SourceSpec(
    name="windows_security",
    schema=EVENT,
    columns=COLUMNS,
    # A record number is unique per host and channel.
    id_fields=("Hostname", "Channel", "RecordNumber"),
    time_fields=("event_time_text",),
    required=("EventID", "Hostname"),
)
