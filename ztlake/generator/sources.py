"""Record builders for every source, in each vendor's documented shape."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from ztlake.generator.org import AWS_ACCOUNTS, DOMAIN, NETBIOS, Device, Person, guid, stable_id

UA = {
    "Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "macOS": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
}
FACTOR = {"webauthn": "FIDO2_WEBAUTHN", "push": "OKTA_VERIFY_PUSH", "sms": "SMS"}


def uid(r: random.Random) -> str:
    return str(uuid.UUID(int=r.getrandbits(128), version=4))


def iso(ts: dt.datetime, millis: bool = True) -> str:
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{ts.microsecond // 1000:03d}Z" if millis else "Z")


def local_time(p: Person, day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=hour - p.office[5])


def work_time(p: Person, day: dt.date, r: random.Random) -> dt.datetime:
    hour = min(max(r.gauss(11.5, 2.0), 7.5), 19.0)
    return local_time(p, day, hour).replace(microsecond=r.randrange(1000) * 1000)


def public_ip(p: Person, r: random.Random) -> str:
    return f"{p.office[4]}.{10 + r.randrange(40)}"


def internal_ip(p: Person, device_index: int, day_index: int) -> str:
    """DHCP: a device keeps its address for a day, and may get another one the next day."""
    return f"10.{p.office[6]}.{(p.index * 7 + day_index * 13) % 250 + 1}.{10 + device_index * 60 + p.index % 50}"


# --- Okta System Log -------------------------------------------------------------------------


def okta_event(r: random.Random, p: Person, ts: dt.datetime, event_type: str, ip: str, session: str, *,
               result: str = "SUCCESS", display: str = "", reason: str | None = None, factor: str | None = None,
               device: Device | None = None, target: list | None = None, geo: tuple | None = None,
               alternate_id: str | None = None) -> dict:
    c = geo or p.office
    os_name = device.os if device else "Windows"
    return {
        "uuid": uid(r), "published": iso(ts), "eventType": event_type, "version": "0",
        "severity": "INFO" if result == "SUCCESS" else "WARN", "legacyEventType": None,
        "displayMessage": display or event_type,
        "actor": {"id": p.okta_id, "type": "User", "alternateId": alternate_id or p.email,
                  "displayName": f"{p.first.title()} {p.last.title()}", "detailEntry": None},
        "client": {"userAgent": {"rawUserAgent": UA[os_name], "os": os_name, "browser": "CHROME"}, "zone": "null",
                   "device": "Computer" if os_name in ("Windows", "macOS") else "Mobile", "id": None, "ipAddress": ip,
                   "geographicalContext": {"city": c[0], "state": None, "country": c[1], "postalCode": None,
                                           "geolocation": {"lat": c[2], "lon": c[3]}}},
        "device": None if device is None else {
            "id": "guo" + stable_id(0, "oktadev", device.serial, 17), "name": device.hostname,
            "os_platform": device.os.upper(), "os_version": None, "managed": device.managed, "registered": device.managed,
            "device_integrator": None, "disk_encryption_type": "ALL_INTERNAL_VOLUMES" if device.encrypted else "NONE",
            "screen_lock_type": "BIOMETRIC", "jailbreak": device.jailbroken, "secure_hardware_present": device.kind == "laptop"},
        "authenticationContext": {"authenticationProvider": "FACTOR_PROVIDER" if factor else None,
                                  "credentialProvider": "OKTA_CREDENTIAL_PROVIDER", "credentialType": factor,
                                  "issuer": None, "interface": None, "authenticationStep": 0,
                                  "rootSessionId": session, "externalSessionId": session},
        "outcome": {"result": result, "reason": reason},
        "securityContext": {"asNumber": 2856, "asOrg": "corp isp", "isp": "corp isp", "domain": None, "isProxy": False},
        "debugContext": {"debugData": {"requestId": stable_id(0, "req", r.random(), 24)}},
        "transaction": {"type": "WEB", "id": stable_id(0, "tx", r.random(), 24), "detail": {}},
        "request": {"ipChain": [{"ip": ip, "geographicalContext": None, "version": "V4", "source": None}]},
        "target": target or [],
    }


def okta_app(app: str) -> list:
    return [{"id": "0oa" + stable_id(0, "app", app, 17), "type": "AppInstance", "alternateId": app, "displayName": app,
             "detailEntry": None}]


def okta_signin(r: random.Random, p: Person, ts: dt.datetime, ip: str, device: Device, *, geo: tuple | None = None,
                apps: tuple[str, ...] = (), alternate_id: str | None = None) -> list[dict]:
    """A session start, its MFA, then SSO into apps."""
    session = "102" + stable_id(0, "sess", r.random(), 22)
    out = [okta_event(r, p, ts, "user.session.start", ip, session, display="User login to Okta", device=device, geo=geo,
                      alternate_id=alternate_id),
           okta_event(r, p, ts + dt.timedelta(seconds=r.randint(3, 30)), "user.authentication.auth_via_mfa", ip, session,
                      display="Authentication of user via MFA", factor=FACTOR[p.mfa], device=device, geo=geo,
                      alternate_id=alternate_id)]
    for k, app in enumerate(apps):
        out.append(okta_event(r, p, ts + dt.timedelta(minutes=2 + 20 * k + r.randint(0, 15)), "user.authentication.sso", ip,
                              session, display="User single sign on to app", target=okta_app(app), device=device, geo=geo,
                              alternate_id=alternate_id))
    return out


# --- AWS CloudTrail --------------------------------------------------------------------------


def sso_role(permission_set: str) -> str:
    return f"AWSReservedSSO_{permission_set}_{stable_id(0, 'ps', permission_set, 16)}"


def ct_base(account: str, ip: str, ts: dt.datetime, source: str, name: str, r: random.Random, *,
            read_only: bool = True, error: str | None = None) -> dict:
    rec = {"eventVersion": "1.09", "eventTime": iso(ts, millis=False), "eventSource": source, "eventName": name,
           "awsRegion": "eu-west-1", "sourceIPAddress": ip, "userAgent": "aws-cli/2.17.0 Python/3.11",
           "requestParameters": None, "responseElements": None, "requestID": uid(r), "eventID": uid(r),
           "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
           "eventCategory": "Management",
           "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                          "clientProvidedHostHeader": source.replace(".amazonaws.com", ".eu-west-1.amazonaws.com")}}
    if error:
        rec["errorCode"], rec["errorMessage"] = error, "User is not authorized to perform this operation"
    return rec


def ct_assume_sso(r: random.Random, p: Person, account_name: str, permission_set: str, ts: dt.datetime, ip: str) -> tuple[dict, dict]:
    """AssumeRoleWithSAML through IAM Identity Center; returns (event, session identity for later calls)."""
    account = AWS_ACCOUNTS[account_name]
    role = sso_role(permission_set)
    role_arn = f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{role}"
    key = "ASIA" + stable_id(0, "key", r.random(), 16).upper()
    ev = ct_base(account, ip, ts, "sts.amazonaws.com", "AssumeRoleWithSAML", r, read_only=False)
    ev["userIdentity"] = {"type": "SAMLUser", "principalId": f"{p.okta_id}:{p.email}", "userName": p.email,
                          "identityProvider": f"arn:aws:iam::{account}:saml-provider/AWSSSO_okta"}
    ev["requestParameters"] = {"roleArn": role_arn, "principalArn": f"arn:aws:iam::{account}:saml-provider/AWSSSO_okta",
                               "durationSeconds": 3600}
    ev["responseElements"] = {"credentials": {"accessKeyId": key, "expiration": iso(ts + dt.timedelta(hours=1), False)},
                              "assumedRoleUser": {"arn": f"arn:aws:sts::{account}:assumed-role/{role}/{p.email}"}}
    ev["resources"] = [{"ARN": role_arn, "accountId": account, "type": "AWS::IAM::Role"}]
    issuer = {"type": "Role", "principalId": "AROA" + stable_id(0, "role", role_arn, 17).upper(), "arn": role_arn,
              "accountId": account, "userName": role}
    identity = {"type": "AssumedRole", "principalId": f"{issuer['principalId']}:{p.email}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{p.email}", "accountId": account, "accessKeyId": key,
                "sessionContext": {"sessionIssuer": issuer, "webIdFederationData": {},
                                   "attributes": {"creationDate": iso(ts, False), "mfaAuthenticated": "false"}}}
    return ev, identity


def ct_call(r: random.Random, identity: dict, ts: dt.datetime, ip: str, source: str, name: str, *,
            read_only: bool = True, params: dict | None = None, error: str | None = None) -> dict:
    ev = ct_base(identity["accountId"], ip, ts, source, name, r, read_only=read_only, error=error)
    ev["userIdentity"] = identity
    ev["requestParameters"] = params
    return ev


READS = (("ec2.amazonaws.com", "DescribeInstances"), ("s3.amazonaws.com", "ListBuckets"),
         ("s3.amazonaws.com", "GetObject"), ("logs.amazonaws.com", "FilterLogEvents"),
         ("cloudwatch.amazonaws.com", "GetMetricData"), ("lambda.amazonaws.com", "ListFunctions"),
         ("ecs.amazonaws.com", "DescribeServices"))
IAM_READS = ("ListUsers", "ListRoles", "ListPolicies", "GetAccountAuthorizationDetails", "ListAttachedRolePolicies",
             "GetRole", "GetPolicy", "GetPolicyVersion", "ListAccessKeys", "ListGroupsForUser", "GetUser", "ListMFADevices")


# --- Microsoft Entra ID ------------------------------------------------------------------------


def entra_signin(r: random.Random, p: Person, ts: dt.datetime, ip: str, device: Device, app: str,
                 upn: str | None = None) -> dict:
    return {
        "id": guid(0, "si", r.random()), "createdDateTime": iso(ts, millis=False), "userDisplayName": f"{p.first.title()} {p.last.title()}",
        "userPrincipalName": upn or p.email, "userId": p.entra_id, "userType": "member",
        "appId": guid(0, "app", app), "appDisplayName": app, "ipAddress": ip, "clientAppUsed": "Browser",
        "userAgent": UA[device.os], "correlationId": guid(0, "corr", r.random()), "conditionalAccessStatus": "success",
        "isInteractive": True, "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none",
        "riskState": "none", "resourceDisplayName": app, "resourceId": guid(0, "res", app),
        "authenticationRequirement": "multiFactorAuthentication",
        "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
        "deviceDetail": {"deviceId": device.entra_device_id if device.managed else "", "displayName": device.hostname if device.managed else "",
                         "operatingSystem": device.os, "browser": "Edge 131.0", "isCompliant": device.managed and device.encrypted,
                         "isManaged": device.managed, "trustType": "Azure AD joined" if device.managed else ""},
        "location": {"city": p.office[0], "state": None, "countryOrRegion": p.office[1],
                     "geoCoordinates": {"latitude": p.office[2], "longitude": p.office[3]}},
        "mfaDetail": {"authMethod": {"webauthn": "FIDO2 security key", "push": "Mobile app notification", "sms": "Text message"}[p.mfa],
                      "authDetail": None},
        "appliedConditionalAccessPolicies": [],
    }


def entra_audit(r: random.Random, ts: dt.datetime, activity: str, category: str, actor: Person, target_type: str,
                target_name: str, target_id: str, props: list | None = None, ip: str | None = None) -> dict:
    return {"id": "Directory_" + stable_id(0, "aud", r.random(), 24), "category": category,
            "correlationId": guid(0, "corr", r.random()), "result": "success", "resultReason": "",
            "activityDisplayName": activity, "activityDateTime": iso(ts, millis=False), "loggedByService": "Core Directory",
            "operationType": "Add",
            "initiatedBy": {"user": {"id": actor.entra_id, "displayName": actor.first.title(), "userPrincipalName": actor.email,
                                     "ipAddress": ip}, "app": None},
            "targetResources": [{"id": target_id, "displayName": target_name, "type": target_type,
                                 "userPrincipalName": None, "groupType": None, "modifiedProperties": props or []}],
            "additionalDetails": []}


# --- Windows Security (NXLog flat JSON) ------------------------------------------------------


def windows_event(p: Person, device: Device, ts: dt.datetime, event_id: int, record: int, ip: str, **fields: object) -> dict:
    base = {"EventID": event_id, "Hostname": f"{device.hostname}.corp.{DOMAIN}", "Channel": "Security",
            "SourceName": "Microsoft-Windows-Security-Auditing", "ProviderGuid": "{54849625-5478-4994-A5BA-3E3B0328C30D}",
            "RecordNumber": record, "@timestamp": iso(ts), "EventTime": (ts + dt.timedelta(hours=p.office[5])).strftime("%Y-%m-%d %H:%M:%S"),
            "Task": 12544, "Keywords": "-9214364837600034816", "EventType": "AUDIT_SUCCESS", "Severity": "INFO",
            "TargetUserName": p.sam, "TargetDomainName": NETBIOS, "TargetUserSid": p.sid, "IpAddress": ip, "IpPort": "0"}
    base.update(fields)
    return base


# --- Zeek -------------------------------------------------------------------------------------

DNS_NAMES = ("login.okta.com", "example.okta.com", "outlook.office365.com", "teams.microsoft.com", "github.com",
             "slack.com", "s3.eu-west-1.amazonaws.com", "tableau.example.com", "workday.com", "salesforce.com",
             "www.google.com", "update.microsoft.com", "falcon.crowdstrike.com")


def zeek_dns(r: random.Random, ts: dt.datetime, src: str, query: str) -> dict:
    return {"ts": round(ts.replace(tzinfo=dt.UTC).timestamp() + r.random(), 6), "uid": "C" + stable_id(0, "zuid", r.random(), 17),
            "id.orig_h": src, "id.orig_p": r.randint(49152, 65535), "id.resp_h": "10.0.0.53", "id.resp_p": 53,
            "proto": "udp", "trans_id": r.randint(1, 65535), "rtt": round(r.uniform(0.001, 0.05), 6), "query": query,
            "qclass": 1, "qclass_name": "C_INTERNET", "qtype": 1, "qtype_name": "A", "rcode": 0, "rcode_name": "NOERROR",
            "AA": False, "TC": False, "RD": True, "RA": True, "Z": 0,
            "answers": [f"52.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"], "TTLs": [300.0], "rejected": False}


def zeek_conn(r: random.Random, ts: dt.datetime, src: str, dst: str, port: int, service: str, out_bytes: int) -> dict:
    return {"ts": iso(ts), "uid": "C" + stable_id(0, "cuid", r.random(), 17), "id_orig_h": src,
            "id_orig_p": r.randint(49152, 65535), "id_resp_h": dst, "id_resp_p": port, "proto": "tcp", "service": service,
            "duration": round(r.uniform(0.1, 300), 3), "orig_bytes": out_bytes, "resp_bytes": r.randint(1000, 10**6),
            "conn_state": "SF", "local_orig": True, "local_resp": dst.startswith("10."), "missed_bytes": 0,
            "history": "ShADadFf", "orig_pkts": max(1, out_bytes // 1400), "orig_ip_bytes": out_bytes + 40,
            "resp_pkts": 20, "resp_ip_bytes": 20000}


# --- OCSF Datastore Activity (6005) ------------------------------------------------------------

ACTIVITY = {"read": (2, "Read"), "query": (6, "Query"), "export": (99, "Export")}


def data_access(r: random.Random, p_email: str, p_uid: str, ts: dt.datetime, *, activity: str, datastore: str,
                table: str, rows: int, nbytes: int, hostname: str | None, ip: str, tool: str) -> dict:
    act_id, act_name = ACTIVITY[activity]
    return {"metadata": {"uid": guid(0, "da", r.random()), "version": "1.1.0",
                         "product": {"name": tool, "vendor_name": "ExampleCorp"}},
            "time": int(ts.replace(tzinfo=dt.UTC).timestamp() * 1000), "class_uid": 6005, "category_uid": 6,
            "activity_id": act_id, "activity_name": act_name, "type_uid": 600500 + act_id, "severity_id": 1,
            "status": "Success", "status_id": 1,
            "actor": {"user": {"uid": p_uid, "name": p_email.split("@")[0], "email_addr": p_email, "type": "User"},
                      "session": {"uid": stable_id(0, "dsess", r.random(), 16), "created_time": None}},
            "src_endpoint": {"ip": ip, "hostname": hostname, "uid": None, "name": None},
            "database": {"name": datastore, "type": "Other", "uid": "res-" + datastore},
            "databucket": None, "table": {"name": table, "uid": None},
            "query_info": {"query_string": f"SELECT * FROM {table}", "bytes": nbytes, "uid": None},
            "unmapped": {"rows": rows, "object_path": None, "tool": tool}}
