"""Per-source event writers for one person-day, in each vendor's documented record shape."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator

from ztlake.generator.org import AWS_ACCOUNTS, Person, stable_id

UTC_OFFSET = {"London": 0, "New York": -5, "Berlin": 1}
UA = {
    "Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "macOS": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
}
FACTOR = {"webauthn": ("FIDO2_WEBAUTHN", "webauthn"), "push": ("OKTA_VERIFY_PUSH", "push"), "sms": ("SMS", "sms")}


def uid(r: random.Random) -> str:
    return str(uuid.UUID(int=r.getrandbits(128), version=4))


def iso(ts: dt.datetime, millis: bool = True) -> str:
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{ts.microsecond // 1000:03d}Z" if millis else "Z")


def work_time(p: Person, day: dt.date, r: random.Random) -> dt.datetime:
    """A moment inside the person's local working hours, as UTC."""
    local_hour = r.gauss(11.5, 2.2)
    local_hour = min(max(local_hour, 7.0), 19.5)
    base = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=local_hour - UTC_OFFSET[p.office[0]])
    return base.replace(microsecond=r.randrange(1000) * 1000)


def egress_ip(p: Person, device_index: int) -> str:
    return f"{p.office[4]}.{p.devices[device_index].ip_suffix}"


def okta_event(
    r: random.Random, p: Person, ts: dt.datetime, event_type: str, ip: str, session: str, result: str = "SUCCESS",
    display: str = "", reason: str | None = None, factor: str | None = None, os_name: str = "Windows",
    device: dict | None = None, target: list | None = None, city: tuple | None = None,
) -> dict:
    c = city or p.office
    return {
        "uuid": uid(r),
        "published": iso(ts),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO" if result == "SUCCESS" else "WARN",
        "legacyEventType": None,
        "displayMessage": display or event_type,
        "actor": {"id": p.okta_id, "type": "User", "alternateId": p.email, "displayName": f"{p.first.title()} {p.last.title()}", "detailEntry": None},
        "client": {
            "userAgent": {"rawUserAgent": UA[os_name], "os": os_name, "browser": "CHROME"},
            "zone": "null",
            "device": "Computer" if os_name in ("Windows", "macOS") else "Mobile",
            "id": None,
            "ipAddress": ip,
            "geographicalContext": {"city": c[0], "state": None, "country": c[1], "postalCode": None,
                                    "geolocation": {"lat": c[2], "lon": c[3]}},
        },
        "device": device,
        "authenticationContext": {
            "authenticationProvider": "FACTOR_PROVIDER" if factor else None,
            "credentialProvider": "OKTA_CREDENTIAL_PROVIDER",
            "credentialType": factor,
            "issuer": None,
            "interface": None,
            "authenticationStep": 0,
            "rootSessionId": session,
            "externalSessionId": session,
        },
        "outcome": {"result": result, "reason": reason},
        "securityContext": {"asNumber": 2856, "asOrg": "corp isp", "isp": "corp isp", "domain": None, "isProxy": False},
        "debugContext": {"debugData": {"requestId": stable_id(r.getrandbits(32), "req", 0, 24)}},
        "transaction": {"type": "WEB", "id": stable_id(r.getrandbits(32), "tx", 0, 24), "detail": {}},
        "request": {"ipChain": [{"ip": ip, "geographicalContext": None, "version": "V4", "source": None}]},
        "target": target or [],
    }


def okta_day(seed: int, p: Person, day: dt.date, r: random.Random) -> Iterator[dict]:
    """Sign-ins on working days: session start, MFA, then SSO into apps."""
    if day.weekday() >= 5 and r.random() > 0.1:
        return
    for _ in range(1 + (r.random() < 0.3)):
        di = r.randrange(len(p.devices))
        dev = p.devices[di]
        ts = work_time(p, day, r)
        ip = egress_ip(p, di)
        session = "102" + stable_id(r.getrandbits(32), "sess", 0, 22)
        device = {"id": "guo" + stable_id(seed, "oktadev", dev.serial, 17), "name": dev.hostname,
                  "os_platform": dev.os.upper(), "os_version": None, "managed": dev.managed, "registered": True,
                  "device_integrator": None, "disk_encryption_type": "ALL_INTERNAL_VOLUMES", "screen_lock_type": "BIOMETRIC",
                  "jailbreak": False, "secure_hardware_present": True}
        yield okta_event(r, p, ts, "user.session.start", ip, session, display="User login to Okta", os_name=dev.os, device=device)
        factor, _ = FACTOR[p.mfa]
        yield okta_event(r, p, ts + dt.timedelta(seconds=r.randint(3, 30)), "user.authentication.auth_via_mfa", ip, session,
                         display="Authentication of user via MFA", factor=factor, os_name=dev.os, device=device)
        for app in r.sample(("Salesforce", "Workday", "Slack", "AWS IAM Identity Center", "Tableau"), k=r.randint(1, 3)):
            yield okta_event(r, p, ts + dt.timedelta(minutes=r.randint(1, 90)), "user.authentication.sso", ip, session,
                             display="User single sign on to app", os_name=dev.os, device=device,
                             target=[{"id": "0oa" + stable_id(seed, "app", app, 17), "type": "AppInstance",
                                      "alternateId": app, "displayName": app, "detailEntry": None}])


READS = (("ec2.amazonaws.com", "DescribeInstances"), ("s3.amazonaws.com", "ListBuckets"),
         ("s3.amazonaws.com", "GetObject"), ("logs.amazonaws.com", "FilterLogEvents"),
         ("cloudwatch.amazonaws.com", "GetMetricData"), ("lambda.amazonaws.com", "ListFunctions"))


def cloudtrail_day(seed: int, p: Person, day: dt.date, r: random.Random) -> Iterator[dict]:
    """Engineers and IT work in AWS through IAM Identity Center role sessions named by email."""
    if p.department not in ("Engineering", "IT") or day.weekday() >= 5 or r.random() < 0.3:
        return
    account = AWS_ACCOUNTS["dev" if p.department == "Engineering" and r.random() < 0.7 else "prod"]
    role = f"AWSReservedSSO_{p.aws_role}_{stable_id(seed, 'ps', len(p.aws_role), 16)}"
    ts = work_time(p, day, r)
    ip = egress_ip(p, 0)
    key = "ASIA" + stable_id(r.getrandbits(32), "key", 0, 16).upper()
    arn = f"arn:aws:sts::{account}:assumed-role/{role}/{p.email}"
    issuer = {"type": "Role", "principalId": "AROA" + stable_id(seed, "role", int(account[:3]), 17).upper(),
              "arn": f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{role}", "accountId": account, "userName": role}
    base = {"eventVersion": "1.09", "awsRegion": "eu-west-1", "sourceIPAddress": ip, "userAgent": "aws-cli/2.17.0",
            "recipientAccountId": account, "eventType": "AwsApiCall", "managementEvent": True, "eventCategory": "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "sts.amazonaws.com"}}
    yield {**base, "userIdentity": {"type": "SAMLUser", "principalId": f"{p.okta_id}:{p.email}", "userName": p.email,
                                   "identityProvider": f"arn:aws:iam::{account}:saml-provider/AWSSSO"},
           "eventTime": iso(ts, millis=False), "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithSAML",
           "requestParameters": {"roleArn": issuer["arn"], "principalArn": f"arn:aws:iam::{account}:saml-provider/AWSSSO", "durationSeconds": 3600},
           "responseElements": {"credentials": {"accessKeyId": key, "expiration": iso(ts + dt.timedelta(hours=1), millis=False)}},
           "requestID": uid(r), "eventID": uid(r), "readOnly": False}
    for _ in range(r.randint(2, 12)):
        source, name = r.choice(READS)
        t = ts + dt.timedelta(seconds=r.randint(30, 7200))
        yield {**base, "userIdentity": {"type": "AssumedRole", "principalId": f"{issuer['principalId']}:{p.email}", "arn": arn,
                                       "accountId": account, "accessKeyId": key,
                                       "sessionContext": {"sessionIssuer": issuer, "webIdFederationData": {},
                                                          "attributes": {"creationDate": iso(ts, millis=False), "mfaAuthenticated": "false"}}},
               "eventTime": iso(t, millis=False), "eventSource": source, "eventName": name, "requestParameters": None,
               "responseElements": None, "requestID": uid(r), "eventID": uid(r), "readOnly": True}
