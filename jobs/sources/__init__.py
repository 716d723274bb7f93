"""One module per vendor family: documented schemas (declared once) and landing specs."""

from __future__ import annotations

from jobs.landing.spec import SourceSpec
from jobs.sources import activity, cloudtrail, devices, directory, entra, network, okta, soc, windows_security

SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        okta.SPEC,
        okta.USERS_SPEC,
        cloudtrail.SPEC,
        entra.SIGNIN_SPEC,
        entra.AUDIT_SPEC,
        windows_security.SPEC,
        directory.SCIM_USERS_SPEC,
        directory.SCIM_GROUPS_SPEC,
        directory.AWS_IAM_SPEC,
        devices.INTUNE_SPEC,
        devices.EDR_SPEC,
        network.DNS_SPEC,
        network.CONN_SPEC,
        activity.DATA_ACCESS_SPEC,
        activity.THREAT_INTEL_SPEC,
        activity.CATALOG_SPEC,
        soc.SOC_CASES_SPEC,
    )
}
