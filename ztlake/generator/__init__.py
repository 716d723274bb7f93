"""`ztlake generate`: a deterministic synthetic enterprise, written in vendors' own log formats,
with labelled attack scenarios and benign look-alikes.

Same seed, same bytes. Output streams day by day; each person is derived from its index.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ztlake.generator import sources as S
from ztlake.generator.org import (
    AWS_ACCOUNTS,
    DOMAIN,
    ROLE_GROUPS,
    Person,
    guid,
    permission_sets,
    rng,
    stable_id,
)
from ztlake.generator.scenarios import (
    ALERT_BUDGET,
    INCIDENTAL,
    SCENARIOS,
    Plan,
    alerts_per_night,
    nights_to_fit_budget,
    plan_scenarios,
)
from ztlake.generator.scenarios import label as episode


@dataclass
class GenerationSummary:
    out: Path
    identities: int
    days: int
    files: int = 0
    records: dict[str, int] = field(default_factory=dict)
    malformed: int = 0
    labels: int = 0
    incidental: int = 0  # labelled after the fact: attack patterns the routine org produced unplanned
    attacks_per_night: dict[str, int] = field(default_factory=dict)  # landing night -> labelled attacks on it

    def crowded_nights(self) -> dict[str, int]:
        """Nights holding more attacks than a 1% alert budget can: no ranking catches them all."""
        cap = alerts_per_night(self.identities)
        return {night: n for night, n in sorted(self.attacks_per_night.items()) if n > cap}

    def __str__(self) -> str:
        total = sum(self.records.values())
        per = ", ".join(f"{k}={v}" for k, v in sorted(self.records.items()))
        text = (f"generated {total} records in {self.files} files under {self.out} ({self.identities} identities x "
                f"{self.days} days; {self.malformed} deliberately malformed; {self.labels} labelled scenarios"
                f"{f', {self.incidental} incidental' if self.incidental else ''}): {per}")
        crowded = self.crowded_nights()
        if crowded:
            nights = ", ".join(f"{n} on {night}" for night, n in crowded.items())
            text += (f"\nnote: a {ALERT_BUDGET:.0%} alert budget of {self.identities} identities holds "
                     f"{alerts_per_night(self.identities)} alert(s) a night, but the attacks fall {nights}: no ranking "
                     f"can catch every scenario on its night. --days {nights_to_fit_budget(self.identities)} "
                     f"spreads them to fit.")
        return text


class Writer:
    """One landing file of JSON lines (optionally gzip, with a fixed mtime: byte-identical)."""

    def __init__(self, path: Path, gz: bool = False):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = path.open("wb")
        self._fh = gzip.GzipFile(fileobj=self._raw, mode="wb", mtime=0, filename="") if gz else self._raw
        self.count = 0

    def record(self, obj: dict) -> str:
        text = json.dumps(obj, separators=(",", ":"))
        self.line(text)
        return text

    def line(self, text: str) -> None:
        self._fh.write(text.encode() + b"\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not self._raw:
            self._fh.close()
        self._raw.close()


# (file name, gzip) per source; the formats vary on purpose (JSON lines, gzip, documents, CSV).
FILES = {
    "okta": ("okta_system_log.jsonl", False), "cloudtrail": ("cloudtrail.jsonl.gz", True),
    "entra_signin": ("graph_signins.jsonl", False), "entra_audit": ("graph_directory_audits.jsonl", False),
    "windows_security": ("security.jsonl.gz", True), "scim_users": ("scim_users.jsonl", False),
    "scim_groups": ("scim_groups.jsonl", False), "aws_iam": ("authorization_details.json", False),
    "intune_devices": ("managed_devices.jsonl", False), "edr_hosts": ("falcon_hosts.jsonl", False),
    "zeek_dns": ("dns.log.jsonl.gz", True), "zeek_conn": ("conn.log.jsonl.gz", True),
    "data_access": ("datastore_activity.jsonl", False), "threat_intel": ("indicators.json", False),
    "resource_catalog": ("catalog.csv", False), "soc_cases": ("incident_findings.jsonl", False),
    "okta_users": ("okta_users.jsonl", False),
}


class Day:
    """The writers of one landing date, and the bronze event ids of what they wrote."""

    def __init__(self, out: Path, day: dt.date, index: int, logins: dict[str, str] | None = None):
        self.day, self.index = day, index
        self.logins = {} if logins is None else logins  # Okta user id -> last successful session start (ISO)
        self.writers = {src: Writer(out / src / day.isoformat() / name, gz) for src, (name, gz) in FILES.items()
                        if not name.endswith((".json", ".csv"))}
        self.out = out
        self.win_record = 1000 * (index + 1)
        self.trace: list[str] | None = None  # when a list, every emitted event id is appended to it

    def emit(self, source: str, obj: dict) -> str:
        """Write one record; return its bronze `_event_id`."""
        text = self.writers[source].record(obj)
        if source == "okta" and obj["eventType"] == "user.session.start" and obj["outcome"]["result"] == "SUCCESS":
            who = obj["actor"]["id"]
            self.logins[who] = max(self.logins.get(who, ""), obj["published"])
        eid = event_id(source, obj, text, self.day)
        if self.trace is not None:
            self.trace.append(eid)
        return eid

    def document(self, source: str, doc: dict | str) -> None:
        name, _ = FILES[source]
        path = self.out / source / self.day.isoformat() / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=1))

    def next_record(self) -> int:
        self.win_record += 1
        return self.win_record


def event_id(source: str, obj: dict, text: str, day: dt.date) -> str:
    """The `_event_id` the landing framework gives this record (see each source's spec)."""
    if source == "okta":
        return obj["uuid"]
    if source == "cloudtrail":
        return obj["eventID"]
    if source in ("entra_signin", "entra_audit"):
        return obj["id"]
    if source == "windows_security":
        return f"{obj['Hostname']}|{obj['Channel']}|{obj['RecordNumber']}"
    if source == "zeek_conn":
        return obj["uid"]
    if source == "data_access":
        return obj["metadata"]["uid"]
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def generate(out: Path, identities: int, days: int, start: dt.date, seed: int = 7, labels: Path | None = None,
             density: int | None = None) -> GenerationSummary:
    """Write `<out>/<source>/<YYYY-MM-DD>/<file>` for every source and day, and the labels.

    `density`: records per working person per day, for volume tests. The routine behaviour writes
    about 15; the rest is background DNS and network traffic from the person's laptop (what real
    enterprises log most of), drawn from its own random stream, so every other record is the same
    bytes as without it. Default: no background traffic."""
    if identities < 40:
        raise ValueError("--identities must be at least 40 (the scenarios need actors and look-alikes)")
    if days < 1:
        raise ValueError("--days must be at least 1")
    plan = plan_scenarios(seed, identities, days)
    summary = GenerationSummary(out=out, identities=identities, days=days)
    found: list[dict] = []
    cases: dict[dt.date, list[dict]] = {}
    logins = prior_logins(seed, identities, plan, start)
    for d in range(days):
        day = Day(out, start + dt.timedelta(days=d), d, logins)
        for i in range(identities):
            p = plan.person(i)
            if p.idp_active_on(d) and not plan.quiet(i, d):
                if p.active_on(d):
                    daily_behaviour(seed, p, day, density)
                else:
                    found += after_termination(seed, p, day)
            lifecycle(seed, p, day)
        services(seed, day)
        snapshots(seed, identities, plan, day)
        for scenario in SCENARIOS:
            for label in scenario.emit(seed, plan, day):
                # The landing night the episode's events are in (an evening in an office west of UTC
                # is the next UTC date): models and policies score that night.
                label["night"] = day.day.isoformat()
                found.append(label)
                for update in soc_case(seed, label):
                    cases.setdefault(dt.datetime.fromtimestamp(update["time"] / 1000, dt.UTC).date(), []).append(update)
        for update in sorted(cases.pop(day.day, []), key=lambda u: u["time"]):
            day.emit("soc_cases", update)
        okta_users(seed, identities, plan, day)  # exported after the day: lastLogin includes its sign-ins
        # Real-world mess: a truncated line in two sources every night.
        r = rng(seed, "mess", d)
        day.writers["okta"].line('{"uuid": "' + stable_id(seed, "bad", r.random(), 16) + '", "published": "' + day.day.isoformat())
        day.writers["zeek_dns"].line('{"ts": 17' + str(r.randrange(10**8)) + ', "uid": "Cx", "id.orig_h"')
        summary.malformed += 2
        for source, w in day.writers.items():
            w.close()
            summary.records[source] = summary.records.get(source, 0) + w.count
        summary.files += len(list((out).glob(f"*/{day.day.isoformat()}/*")))
    summary.labels = sum(1 for label in found if label["kind"] != INCIDENTAL)
    summary.incidental = len(found) - summary.labels
    for label in found:
        if label["kind"] == "attack":
            summary.attacks_per_night[label["night"]] = summary.attacks_per_night.get(label["night"], 0) + 1
    if labels is not None:
        labels.parent.mkdir(parents=True, exist_ok=True)
        with labels.open("w") as fh:
            for label in sorted(found, key=lambda x: (x["start"], x["scenario"], x["kind"])):
                fh.write(json.dumps(label, sort_keys=False) + "\n")
    return summary


def after_termination(seed: int, p: Person, day: Day) -> list[dict]:
    """A leaver whose account is not yet deprovisioned goes on working as before. Nobody planted it,
    but it is `leaver_still_active` all the same, so it is labelled `incidental`: alerting on it is
    right (backtests do not count it a false positive), and it is no scenario to catch. The events,
    and every other byte the generator writes, are the same as without the label."""
    day.trace = []
    try:
        daily_behaviour(seed, p, day)
        ids = day.trace
    finally:
        day.trace = None
    if not ids:
        return []  # a day off or a weekend: nothing happened
    night = dt.datetime.combine(day.day, dt.time(), dt.UTC)
    out = episode("leaver_still_active", INCIDENTAL, p.email, p.devices[0].hostname, night, night + dt.timedelta(days=1), ids)
    out["night"] = day.day.isoformat()
    return [out]


def soc_case(seed: int, label: dict) -> list[dict]:
    """The SOC's case on a labelled episode, as OCSF Incident Finding (2005) updates: created within
    three hours, acknowledged within two more, resolved within a day and a half. Attacks close as
    true positives; every other look-alike gets a case that closes as a false positive."""
    r = rng(seed, "soc", label["scenario"], label["kind"])
    if label["kind"] != "attack" and r.random() < 0.5:
        return []
    end = dt.datetime.fromisoformat(label["end"].replace("Z", "+00:00"))
    created = end + dt.timedelta(minutes=r.randint(20, 180))
    acked = created + dt.timedelta(minutes=r.randint(10, 120))
    resolved = acked + dt.timedelta(hours=r.randint(2, 30), minutes=r.randint(0, 59))
    case = "SOC-" + stable_id(seed, "case", f"{label['scenario']}|{label['kind']}", 8).upper()
    tp = label["kind"] == "attack"
    base: dict[str, Any] = {"class_uid": 2005, "category_uid": 2, "severity_id": 4 if tp else 2,
            "finding_info_list": [{"uid": case, "title": label["scenario"].replace("_", " "),
                                   "created_time": int(created.timestamp() * 1000)}],
            "observables": [{"name": "user.email_addr", "type_id": 5, "type": "Email Address", "value": label["identity"]}],
            "metadata": {"version": "1.3.0", "correlation_uid": case, "product": {"name": "Case Desk", "vendor_name": "Example SOAR"}}}
    steps = [(created, 1, "Create", 1, "New", None, None), (acked, 2, "Update", 2, "In Progress", None, None),
             (resolved, 3, "Close", 4, "Resolved", 2 if tp else 1, "True Positive" if tp else "False Positive")]
    out = []
    for k, (t, act, act_name, status_id, status, verdict_id, verdict) in enumerate(steps):
        u: dict[str, Any] = {**base, "metadata": {**base["metadata"], "uid": guid(seed, "case", f"{case}|{k}")}, "time": int(t.timestamp() * 1000),
             "activity_id": act, "activity_name": act_name, "type_uid": 200500 + act, "status_id": status_id, "status": status}
        if k:
            u["assignee"] = {"uid": "soc-analyst-1", "name": "SOC Analyst", "email_addr": "soc-analyst@" + DOMAIN}
        if verdict_id:
            u["verdict_id"], u["verdict"] = verdict_id, verdict
        out.append(u)
    return out


ROUTINE_RECORDS = 15  # about what `daily_behaviour` writes for a working person


def background_traffic(seed: int, p: Person, day: Day, ts: dt.datetime, lan: str, records: int) -> None:
    """`records` DNS lookups and connections from a person's laptop over the working day."""
    r = rng(seed, "bulk", day.index, p.index)
    for _ in range(records):
        t = ts + dt.timedelta(seconds=r.randint(0, 8 * 3600))
        if r.random() < 0.65:
            day.emit("zeek_dns", S.zeek_dns(r, t, lan, r.choice(S.DNS_NAMES)))
        else:
            day.emit("zeek_conn", S.zeek_conn(r, t, lan, f"52.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}", 443,
                                              "ssl", r.randint(500, 200000)))


def daily_behaviour(seed: int, p: Person, day: Day, density: int | None = None) -> None:
    r = rng(seed, "day", day.index, p.index)
    if day.day.weekday() >= 5 and r.random() > 0.08:
        return
    if r.random() < 0.04:  # a day off
        return
    laptop_ix = 0
    dev = p.devices[laptop_ix]
    ts = S.work_time(p, day.day, r)
    ip = S.public_ip(p, r)
    if density and density > ROUTINE_RECORDS:
        background_traffic(seed, p, day, ts, S.internal_ip(p, laptop_ix, day.index), density - ROUTINE_RECORDS)
    # Real-world mess: some people type their login with capitals.
    alt = p.email.title() if p.index % 37 == 5 else None
    for ev in S.okta_signin(r, p, ts, ip, dev, apps=tuple(r.sample(("Slack", "Workday", "Salesforce", "Tableau", "GitHub"), k=2)),
                            alternate_id=alt):
        day.emit("okta", ev)
    if len(p.devices) > 1 and r.random() < 0.5:
        mob = p.devices[1]
        for ev in S.okta_signin(r, p, ts + dt.timedelta(hours=r.uniform(1, 6)), ip, mob, apps=("Slack",)):
            day.emit("okta", ev)
    if r.random() < 0.6:
        day.emit("entra_signin", S.entra_signin(r, p, ts + dt.timedelta(minutes=r.randint(5, 120)), ip, dev, "Office 365 Exchange Online"))
    lan = S.internal_ip(p, laptop_ix, day.index)
    if dev.os == "Windows":
        day.emit("windows_security", S.windows_event(p, dev, ts - dt.timedelta(minutes=2), 4624, day.next_record(), lan,
                                                     LogonType=r.choice((2, 11)), LogonProcessName="User32",
                                                     AuthenticationPackageName="Negotiate", WorkstationName=dev.hostname))
    for _ in range(r.randint(6, 12)):
        day.emit("zeek_dns", S.zeek_dns(r, ts + dt.timedelta(minutes=r.randint(0, 480)), lan, r.choice(S.DNS_NAMES)))
    for _ in range(r.randint(2, 4)):
        day.emit("zeek_conn", S.zeek_conn(r, ts + dt.timedelta(minutes=r.randint(0, 480)), lan,
                                          f"52.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}", 443, "ssl",
                                          r.randint(500, 200000)))
    groups = p.groups
    sets = permission_sets(groups)
    if sets and r.random() < 0.7:
        account, ps = sets[0] if len(sets) == 1 or r.random() < 0.8 else sets[1]
        t = ts + dt.timedelta(minutes=r.randint(10, 200))
        ev, identity = S.ct_assume_sso(r, p, account, ps, t, ip)
        day.emit("cloudtrail", ev)
        for _ in range(r.randint(2, 10)):
            source, name = r.choice(S.READS)
            day.emit("cloudtrail", S.ct_call(r, identity, t + dt.timedelta(seconds=r.randint(30, 5400)), ip, source, name))
        if p.title == "Security Engineer" and day.index % 3 == 1:  # routine IAM reviews (benign IAM bursts happen)
            for k in range(12):
                day.emit("cloudtrail", S.ct_call(r, identity, t + dt.timedelta(seconds=60 + 7 * k), ip, "iam.amazonaws.com",
                                                 S.IAM_READS[k % len(S.IAM_READS)]))
    if any(g in groups for g in ("bi-analysts", "finance-all", "sales-all")) and r.random() < 0.7:
        store = "finance_dw" if "finance-all" in groups else "sales_dw"
        for _ in range(r.randint(1, 4)):
            act = r.choice(("query", "query", "read", "export"))
            rows = r.randint(10, 5000) if act != "export" else r.randint(100, 20000)
            day.emit("data_access", S.data_access(r, p.email, p.okta_id, ts + dt.timedelta(minutes=r.randint(20, 400)), activity=act,
                                                  datastore=store, table=r.choice(("orders", "accounts", "forecast", "ledger")),
                                                  rows=rows, nbytes=rows * 180, hostname=dev.hostname, ip=lan, tool="Tableau"))


SERVICE_ETL = "svc-etl@" + DOMAIN


def lifecycle(seed: int, p: Person, day: Day) -> None:
    """Directory changes as Entra audits them: joiners, movers, terminations, deprovisioning."""
    r = rng(seed, "life", day.index, p.index)
    t = dt.datetime.combine(day.day, dt.time(8, 30)) + dt.timedelta(minutes=r.randint(0, 120))
    events: list[tuple[str, str, list]] = []
    if p.join_day == day.index:
        events.append(("Add user", "UserManagement", []))
    if p.mover_day == day.index and p.mover_to:
        events.append(("Update user", "UserManagement",
                       [{"displayName": "Department", "oldValue": json.dumps([p.department]), "newValue": json.dumps([p.mover_to])}]))
    if p.leave_day is not None and p.leave_day + p.deprovision_lag == day.index:
        events.append(("Disable account", "UserManagement",
                       [{"displayName": "AccountEnabled", "oldValue": "[true]", "newValue": "[false]"}]))
    for activity, category, props in events:
        day.emit("entra_audit", S.entra_audit(r, t, activity, category, p, "User", p.email, p.entra_id, props))


def services(seed: int, day: Day) -> None:
    """Workloads: the nightly ETL reading the warehouse, CI deploying through an assumed role, and a
    reporting job using a long-lived IAM access key."""
    r = rng(seed, "services", day.index)
    etl_ts = dt.datetime.combine(day.day, dt.time(2, 5))
    for table in ("customers", "orders", "ledger"):
        day.emit("data_access", S.data_access(r, SERVICE_ETL, "svc-etl", etl_ts + dt.timedelta(minutes=r.randint(0, 30)),
                                              activity="read", datastore="customer_pii" if table == "customers" else "finance_dw",
                                              table=table, rows=r.randint(800000, 1200000), nbytes=r.randint(2, 3) * 10**9,
                                              hostname="etl-runner-01", ip="10.50.0.21", tool="Airflow"))
    ci = {"type": "AssumedRole", "principalId": "AROACIDEPLOY:github-actions", "accountId": AWS_ACCOUNTS["prod"],
          "arn": f"arn:aws:sts::{AWS_ACCOUNTS['prod']}:assumed-role/ci-deployer/github-actions",
          "accessKeyId": "ASIA" + stable_id(seed, "cikey", day.index, 16).upper(),
          "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROACIDEPLOY", "accountId": AWS_ACCOUNTS["prod"],
                                               "arn": f"arn:aws:iam::{AWS_ACCOUNTS['prod']}:role/ci-deployer", "userName": "ci-deployer"},
                             "webIdFederationData": {"federatedProvider": f"arn:aws:iam::{AWS_ACCOUNTS['prod']}:oidc-provider/token.actions.githubusercontent.com"},
                             "attributes": {"creationDate": S.iso(etl_ts, False), "mfaAuthenticated": "false"}}}
    for k in range(r.randint(3, 6)):
        day.emit("cloudtrail", S.ct_call(r, ci, etl_ts + dt.timedelta(hours=9, minutes=15 * k), "20.42.0.17", "ecs.amazonaws.com",
                                         "UpdateService", read_only=False))
    reporting = reporting_identity()
    day.emit("cloudtrail", S.ct_call(r, reporting, etl_ts + dt.timedelta(hours=4), "81.2.69.200", "s3.amazonaws.com", "GetObject"))


def reporting_identity() -> dict:
    account = AWS_ACCOUNTS["data"]
    return {"type": "IAMUser", "principalId": "AIDASVCREPORTING01", "arn": f"arn:aws:iam::{account}:user/svc-reporting",
            "accountId": account, "accessKeyId": "AKIASVCREPORTING0001", "userName": "svc-reporting"}


CATALOG = [
    ("res-okta", "Okta", "idp", "it-owner@example.com", "critical", "gateway", "confidential"),
    ("res-o365", "Office 365 Exchange Online", "saas", "it-owner@example.com", "high", "gateway", "confidential"),
    ("res-slack", "Slack", "saas", "it-owner@example.com", "medium", "gateway", "internal"),
    ("res-workday", "Workday", "saas", "hr-owner@example.com", "high", "gateway", "restricted"),
    ("res-salesforce", "Salesforce", "saas", "sales-owner@example.com", "high", "gateway", "confidential"),
    ("res-github", "GitHub", "saas", "eng-owner@example.com", "high", "gateway", "confidential"),
    ("res-tableau", "Tableau", "bi", "data-owner@example.com", "high", "ztna", "confidential"),
    ("res-sales_dw", "sales_dw", "warehouse", "data-owner@example.com", "medium", "ztna", "internal"),
    ("res-finance_dw", "finance_dw", "warehouse", "finance-owner@example.com", "high", "ztna", "restricted"),
    ("res-customer_pii", "customer_pii", "warehouse", "data-owner@example.com", "critical", "network", "restricted"),
    ("res-payroll", "payroll", "warehouse", "finance-owner@example.com", "critical", "ztna", "restricted"),
    ("res-aws-prod", "AWS prod (111111111111)", "cloud_account", "platform-owner@example.com", "critical", "gateway", "confidential"),
    ("res-aws-dev", "AWS dev (222222222222)", "cloud_account", "platform-owner@example.com", "medium", "gateway", "internal"),
    ("res-aws-data", "AWS data (333333333333)", "cloud_account", "data-owner@example.com", "high", "gateway", "restricted"),
    ("res-wiki", "wiki.example.com", "web", "it-owner@example.com", "low", "network", "internal"),
    ("res-fileserver", "fs01.corp.example.com", "file_share", "it-owner@example.com", "high", "network", "confidential"),
]


def snapshots(seed: int, n: int, plan: Plan, day: Day) -> None:
    """Directory, entitlements and inventories, as each system exports them every night."""
    d = day.index
    members: dict[str, list[Person]] = {}
    page: list[dict] = []
    intune: list[dict] = []
    falcon: list[dict] = []
    for i in range(n):
        p = plan.person(i)
        if p.join_day is not None and d < p.join_day:
            continue
        active = p.active_on(d)
        dept = p.department_on(d)
        groups = plan.groups_on(i, d)
        for g in groups:
            if p.idp_active_on(d):
                members.setdefault(g, []).append(p)
        page.append(scim_user(seed, p, dept, active, day.day))
        if len(page) == 200:
            day.writers["scim_users"].record(list_response(page))
            page = []
        for k, dev in enumerate(p.devices):
            if not plan.has_device(i, k, d):
                continue
            if dev.managed:
                intune.append(managed_device(seed, p, dev, day.day))
            if dev.edr:
                falcon.append(falcon_host(seed, p, k, dev, day))
    for svc, title in ((SERVICE_ETL, "Nightly warehouse ETL"), ("svc-reporting@" + DOMAIN, "Reporting job (AWS IAM user)")):
        page.append({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": guid(seed, "scim", svc), "userName": svc,
                     "displayName": svc.split("@")[0], "title": title, "userType": "Service", "active": True,
                     "emails": [{"value": svc, "type": "work", "primary": True}],
                     "meta": {"resourceType": "User", "lastModified": "2024-01-01T00:00:00Z"}})
    if page:
        day.writers["scim_users"].record(list_response(page))
    all_groups = sorted({g for gs in ROLE_GROUPS.values() for g, _ in gs} | set(members))
    day.writers["scim_groups"].record(list_response([
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": guid(seed, "group", g), "displayName": g,
         "members": [{"value": guid(seed, "scim", m.index), "display": m.email, "type": "User"} for m in members.get(g, [])],
         "meta": {"resourceType": "Group", "lastModified": S.iso(dt.datetime.combine(day.day, dt.time()), False)}}
        for g in all_groups]))
    for k in range(0, len(intune), 100):
        day.writers["intune_devices"].record({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices",
                                              "value": intune[k:k + 100]})
    for k in range(0, len(falcon), 100):
        day.writers["edr_hosts"].record({"meta": {"query_time": 0.01}, "resources": falcon[k:k + 100], "errors": []})
    day.document("aws_iam", authorization_details(seed))
    day.document("resource_catalog", "resource_id,name,type,owner_email,sensitivity,access_path,data_classification\n"
                 + "".join(",".join(row) + "\n" for row in CATALOG))
    day.document("threat_intel", plan.stix_bundle(seed, day))


def prior_logins(seed: int, n: int, plan: Plan, start: dt.date) -> dict[str, str]:
    """Okta `lastLogin` before the first generated day: the previous workday for most people, months
    ago for a dormant account, never for someone who joins during the period."""
    out: dict[str, str] = {}
    for i in range(n):
        p = plan.person(i)
        if p.join_day is not None:
            continue
        r = rng(seed, "lastlogin", i)
        back = plan.idle_days_before.get(i) or next(k for k in range(1, 5) if (start - dt.timedelta(days=k)).weekday() < 5)
        out[p.okta_id] = S.iso(S.local_time(p, start - dt.timedelta(days=back), r.uniform(8.0, 10.5)))
    return out


def okta_users(seed: int, n: int, plan: Plan, day: Day) -> None:
    """The Okta Users API (`GET /api/v1/users`) as exported after the day: one user object per line,
    with `status` and `lastLogin` (the last successful sign-in; null if never)."""
    d = day.index
    for i in range(n):
        p = plan.person(i)
        if p.join_day is not None and d < p.join_day:
            continue
        created = "2023-01-01T00:00:00.000Z" if p.join_day is None else S.iso(dt.datetime.combine(day.day - dt.timedelta(days=d - p.join_day), dt.time(8)))
        gone = not p.idp_active_on(d)
        changed = (S.iso(dt.datetime.combine(day.day - dt.timedelta(days=d - p.leave_day - p.deprovision_lag), dt.time(9)))
                   if gone and p.leave_day is not None else created)
        day.emit("okta_users", {
            "id": p.okta_id, "status": "DEPROVISIONED" if gone else "ACTIVE", "created": created, "activated": created,
            "statusChanged": changed, "lastLogin": day.logins.get(p.okta_id), "lastUpdated": changed, "passwordChanged": created,
            "type": {"id": "oty" + stable_id(seed, "otype", 0, 17)},
            "profile": {"firstName": p.first.title(), "lastName": p.last.title(), "mobilePhone": None, "secondEmail": None,
                        "login": p.email, "email": p.email, "department": p.department_on(d), "title": p.title,
                        "employeeNumber": p.employee_number},
            "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"https://example.okta.com/api/v1/users/{p.okta_id}"}},
        })


def list_response(resources: list[dict]) -> dict:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(resources),
            "itemsPerPage": len(resources), "startIndex": 1, "Resources": resources}


def scim_user(seed: int, p: Person, dept: str, active: bool, day: dt.date) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": guid(seed, "scim", p.index), "externalId": p.okta_id, "userName": p.email,
        "name": {"givenName": p.first.title(), "familyName": p.last.title(), "formatted": f"{p.first.title()} {p.last.title()}"},
        "displayName": f"{p.first.title()} {p.last.title()}", "title": p.title, "userType": p.kind.title(), "active": active,
        "emails": [{"value": p.email, "type": "work", "primary": True}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": p.employee_number, "department": dept, "organization": "Example Corp",
            "manager": None if p.manager is None else {"value": guid(seed, "scim", p.manager), "displayName": None}},
        "meta": {"resourceType": "User", "created": "2023-01-01T00:00:00Z",
                 "lastModified": S.iso(dt.datetime.combine(day, dt.time()), False)},
    }


def managed_device(seed: int, p: Person, dev, day: dt.date) -> dict:
    return {"id": guid(seed, "intune", dev.serial), "deviceName": dev.hostname, "userPrincipalName": p.email,
            "userId": p.entra_id, "emailAddress": p.email, "azureADDeviceId": dev.entra_device_id, "serialNumber": dev.serial,
            "operatingSystem": dev.os, "osVersion": {"Windows": "10.0.22631.4460", "macOS": "14.6.1", "iOS": "17.6", "Android": "14"}[dev.os],
            "complianceState": "compliant" if dev.encrypted and not dev.jailbroken else "noncompliant",
            "isEncrypted": dev.encrypted, "jailBroken": "True" if dev.jailbroken else "False",
            "managedDeviceOwnerType": "company", "managementAgent": "mdm",
            "lastSyncDateTime": S.iso(dt.datetime.combine(day, dt.time(1, 30)), False), "enrolledDateTime": "2024-03-01T09:00:00Z",
            "wiFiMacAddress": dev.mac.replace(":", "").upper(), "ethernetMacAddress": None, "model": "Latitude 7440",
            "manufacturer": "Dell", "isSupervised": False, "azureADRegistered": True, "deviceRegistrationState": "registered",
            "managementState": "managed"}


def falcon_host(seed: int, p: Person, k: int, dev, day: Day) -> dict:
    last = dt.datetime.combine(day.day, dt.time(0, 30)) - dt.timedelta(days=dev.edr_stale_days)
    return {"device_id": stable_id(seed, "aid", dev.serial, 32), "cid": "c0ffee" + "0" * 26, "hostname": dev.hostname,
            "local_ip": S.internal_ip(p, k, day.index), "external_ip": f"{p.office[4]}.1", "mac_address": dev.mac.replace(":", "-"),
            "os_version": dev.os, "platform_name": "Windows" if dev.os == "Windows" else "Mac", "agent_version": "7.18.18607.0",
            "first_seen": "2024-03-01T09:05:00Z", "last_seen": S.iso(last, False),
            "status": "normal", "reduced_functionality_mode": "no", "last_login_user": p.sam,
            "serial_number": dev.serial, "machine_domain": f"corp.{DOMAIN}", "product_type_desc": "Workstation"}


def authorization_details(seed: int) -> dict:
    """`aws iam get-account-authorization-details` for the prod account."""
    account = AWS_ACCOUNTS["prod"]
    saml = f"arn:aws:iam::{account}:saml-provider/AWSSSO_okta"
    trust_saml = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": saml},
                                                                      "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]})
    roles = [{"Path": "/aws-reserved/sso.amazonaws.com/eu-west-1/", "RoleName": S.sso_role(ps), "RoleId": "AROA" + stable_id(seed, "r", ps, 17).upper(),
              "Arn": f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{S.sso_role(ps)}",
              "CreateDate": "2024-01-10T10:00:00Z", "AssumeRolePolicyDocument": trust_saml, "RolePolicyList": [],
              "AttachedManagedPolicies": [{"PolicyName": ps, "PolicyArn": f"arn:aws:iam::aws:policy/{'AdministratorAccess' if ps == 'AdministratorAccess' else 'PowerUserAccess'}"}],
              "Tags": [], "RoleLastUsed": {}} for ps in ("AdministratorAccess", "DeveloperAccess", "ReadOnlyAccess")]
    roles.append({"Path": "/", "RoleName": "ci-deployer", "RoleId": "AROACIDEPLOY", "Arn": f"arn:aws:iam::{account}:role/ci-deployer",
                  "CreateDate": "2024-02-01T10:00:00Z",
                  "AssumeRolePolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                      "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"},
                      "Action": "sts:AssumeRoleWithWebIdentity",
                      "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:example/*"}}}]}),
                  "RolePolicyList": [], "AttachedManagedPolicies": [{"PolicyName": "ECSDeploy", "PolicyArn": f"arn:aws:iam::{account}:policy/ECSDeploy"}],
                  "Tags": [{"Key": "owner", "Value": "platform"}], "RoleLastUsed": {}})
    roles.append({"Path": "/", "RoleName": "break-glass-admin", "RoleId": "AROABREAKGLASS", "Arn": f"arn:aws:iam::{account}:role/break-glass-admin",
                  "CreateDate": "2023-06-01T10:00:00Z",
                  "AssumeRolePolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                      "Principal": {"AWS": roles[0]["Arn"]}, "Action": "sts:AssumeRole"}]}),
                  "RolePolicyList": [], "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}],
                  "Tags": [], "RoleLastUsed": {}})
    users = [{"Path": "/service/", "UserName": "svc-reporting", "UserId": "AIDASVCREPORTING01",
              "Arn": f"arn:aws:iam::{AWS_ACCOUNTS['data']}:user/svc-reporting", "CreateDate": "2021-05-04T08:00:00Z",
              "GroupList": ["reporting"], "UserPolicyList": [], "AttachedManagedPolicies": [{"PolicyName": "AmazonS3ReadOnlyAccess",
              "PolicyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}], "Tags": [{"Key": "owner", "Value": SERVICE_ETL}]}]
    groups = [{"Path": "/", "GroupName": "reporting", "GroupId": "AGPAREPORTING", "Arn": f"arn:aws:iam::{account}:group/reporting",
               "CreateDate": "2021-05-04T08:00:00Z", "GroupPolicyList": [], "AttachedManagedPolicies": []}]
    policies = [{"PolicyName": "ECSDeploy", "PolicyId": "ANPAECSDEPLOY", "Arn": f"arn:aws:iam::{account}:policy/ECSDeploy", "Path": "/",
                 "DefaultVersionId": "v2", "AttachmentCount": 1, "IsAttachable": True, "CreateDate": "2024-02-01T10:00:00Z",
                 "UpdateDate": "2024-06-01T10:00:00Z",
                 "PolicyVersionList": [{"Document": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                        "Action": ["ecs:UpdateService", "ecs:Describe*"], "Resource": "*"}]}),
                                        "VersionId": "v2", "IsDefaultVersion": True, "CreateDate": "2024-06-01T10:00:00Z"}]}]
    return {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}
