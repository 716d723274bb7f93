"""Device inventories: Intune `managedDevice` and CrowdStrike Falcon hosts (devices API and the FDR
`aid_master` shape). Snapshots: each night's rows are the fleet as of that night."""

from __future__ import annotations

from pyspark.sql.types import BooleanType, StructField

from jobs.landing.spec import SourceSpec, struct

# https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
MANAGED_DEVICE = struct(
    "id", "deviceName", "userPrincipalName", "userId", "emailAddress", "azureADDeviceId", "serialNumber",
    "operatingSystem", "osVersion", "complianceState", StructField("isEncrypted", BooleanType()), "jailBroken",
    "managedDeviceOwnerType", "managementAgent", "lastSyncDateTime", "enrolledDateTime", "wiFiMacAddress",
    "ethernetMacAddress", "model", "manufacturer", StructField("isSupervised", BooleanType()),
    StructField("azureADRegistered", BooleanType()), "deviceRegistrationState", "managementState",
)
INTUNE_SPEC = SourceSpec(
    name="intune_devices",
    schema=MANAGED_DEVICE,
    explode={"value": None},
    id_fields=("id",),
    required=("id", "deviceName"),
    snapshot=True,
)

FALCON_HOST = struct(
    # devices API (https://falcon.crowdstrike.com/documentation: Hosts API, device details)
    "device_id", "cid", "hostname", "local_ip", "external_ip", "mac_address", "os_version", "platform_name",
    "agent_version", "first_seen", "last_seen", "status", "reduced_functionality_mode", "last_login_user",
    "last_login_timestamp", "serial_number", "machine_domain", "product_type_desc", "system_manufacturer",
    "system_product_name", "provision_status",
    # FDR aid_master
    "aid", "ComputerName", "AgentVersion", "FirstSeen", "Time", "Version", "MachineDomain", "aip",
    "ProductType", "SystemManufacturer", "SystemProductName", "event_platform", "City", "Country", "OU", "SiteName",
)
EDR_COLUMNS = {
    "device_id": ("device_id", "aid"),
    "cid": ("cid",),
    "hostname": ("hostname", "ComputerName"),
    "local_ip": ("local_ip",),
    "external_ip": ("external_ip", "aip"),
    "mac_address": ("mac_address",),
    "os_version": ("os_version", "Version"),
    "platform_name": ("platform_name", "event_platform"),
    "agent_version": ("agent_version", "AgentVersion"),
    "first_seen": ("first_seen", "FirstSeen"),
    "last_seen": ("last_seen", "Time"),
    "status": ("status",),
    "reduced_functionality_mode": ("reduced_functionality_mode",),
    "last_login_user": ("last_login_user",),
    "last_login_timestamp": ("last_login_timestamp",),
    "serial_number": ("serial_number",),
    "machine_domain": ("machine_domain", "MachineDomain"),
    "product_type": ("product_type_desc", "ProductType"),
    "system_manufacturer": ("system_manufacturer", "SystemManufacturer"),
    "system_product_name": ("system_product_name", "SystemProductName"),
    "city": ("City",),
    "country": ("Country",),
}
EDR_SPEC = SourceSpec(
    name="edr_hosts",
    schema=FALCON_HOST,
    columns=EDR_COLUMNS,
    explode={"resources": None},  # devices API responses
    # aid_master emits a new record whenever a host's details change: each version is kept.
    id_fields=("device_id", "last_seen"),
    required=("device_id", "hostname"),
    snapshot=True,
)
