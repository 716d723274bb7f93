"""The twelve labelled scenarios, each with a benign look-alike, and the plan that places them.

Each scenario writes its events through the day's writers and returns labels:
`scenario, kind (attack | benign_lookalike), identity, device, start, end, event_ids`, where
event_ids are the bronze `_event_id` values of every event involved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ztlake.generator import sources as S
from ztlake.generator.org import (
    DEPARTMENTS,
    DOMAIN,
    ROLE_GROUPS,
    Device,
    Person,
    guid,
    person,
    rng,
    stable_id,
)

if TYPE_CHECKING:
    from ztlake.generator import Day

BAD_IP = "185.220.101.47"
EXPIRED_BAD_IP = "45.95.147.9"
SINGAPORE = ("Singapore", "SG", 1.352, 103.82, "103.6.84", 8, 0)
NEW_YORK = ("New York", "US", 40.713, -74.006, "64.233.160", -5, 20)
SCENARIO_NAMES = (
    "unmanaged_device_export", "impossible_travel_privileged_role", "phish_token_privesc", "mfa_fatigue",
    "dormant_account_active", "iam_enumeration", "peer_outlier_entitlement", "ghost_device",
    "threat_intel_ip_signin", "leaver_still_active", "long_lived_key_new_location", "off_hours_mass_download",
)
# Scenarios start on the fourth night (index 3): three nights of routine first, so baselines and the
# first models exist before anything is judged against them.
FIRST_SCENARIO_NIGHT = 3
# The label kind, beside the planted `attack` and `benign_lookalike`, of an attack pattern the routine
# org produced by itself (a leaver still working while deprovisioning lags): right to alert on, never
# a scenario to catch.
INCIDENTAL = "incidental"
# The alert budget the scenarios are judged at (issue 6): 1% of a night's identity-days, at least one.
ALERT_BUDGET = 0.01


def alerts_per_night(identities: int, budget: float = ALERT_BUDGET) -> int:
    """How many alerts a night's budget holds (benchmarks/decision_catch.py reads it the same way)."""
    return max(1, math.ceil(budget * identities))


def nights_to_fit_budget(identities: int, budget: float = ALERT_BUDGET) -> int:
    """The fewest nights that spread the twelve attacks so no night holds more than its budget:
    200 identities (2 alerts a night) need 3 + 6 = 9; 1,000 (10 a night) need 3 + 2 = 5."""
    return FIRST_SCENARIO_NIGHT + math.ceil(len(SCENARIO_NAMES) / alerts_per_night(identities, budget))
# Who plays each scenario: (attack actor's department, title or None), (look-alike's).
CASTING: dict[str, tuple[tuple[str, str | None], tuple[str, str | None]]] = {
    "unmanaged_device_export": (("Finance", None), ("Finance", None)),
    "impossible_travel_privileged_role": (("IT", "IT Administrator"), ("IT", "IT Administrator")),
    "phish_token_privesc": (("Engineering", None), ("Engineering", None)),
    "mfa_fatigue": (("Sales", None), ("Sales", None)),
    "dormant_account_active": (("Marketing", None), ("Marketing", None)),
    "iam_enumeration": (("Engineering", None), ("IT", "Security Engineer")),
    "peer_outlier_entitlement": (("Finance", "Financial Analyst"), ("IT", "IT Administrator")),
    "ghost_device": (("Engineering", None), ("Engineering", None)),
    "threat_intel_ip_signin": (("Sales", None), ("Sales", None)),
    "leaver_still_active": (("HR", None), ("HR", None)),
    "long_lived_key_new_location": (("", None), ("", None)),  # a workload: svc-reporting
    "off_hours_mass_download": (("Marketing", None), ("", None)),  # look-alike: the nightly ETL
}


def label(scenario: str, kind: str, identity: str, device: str | None, start: dt.datetime, end: dt.datetime,
          event_ids: list[str]) -> dict:
    return {"scenario": scenario, "kind": kind, "identity": identity, "device": device,
            "start": S.iso(start, millis=False), "end": S.iso(end, millis=False), "event_ids": event_ids}


@dataclass
class Plan:
    seed: int
    n: int
    days: int
    day_of: dict[str, int] = field(default_factory=dict)
    actors: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    overrides: dict[int, Person] = field(default_factory=dict)
    quiet_until: dict[int, int] = field(default_factory=dict)  # person -> first active day
    idle_days_before: dict[int, int] = field(default_factory=dict)  # person -> days between last login and the first day
    quiet_window: dict[int, tuple[int, int]] = field(default_factory=dict)
    extra_groups: dict[int, tuple[str, ...]] = field(default_factory=dict)
    device_from: dict[tuple[int, int], int] = field(default_factory=dict)  # (person, device) -> first day

    def person(self, i: int) -> Person:
        return self.overrides.get(i) or person(self.seed, i, self.n, self.days)

    def quiet(self, i: int, d: int) -> bool:
        if i in self.quiet_until and d < self.quiet_until[i]:
            return True
        lo_hi = self.quiet_window.get(i)
        return bool(lo_hi and lo_hi[0] <= d < lo_hi[1])

    def groups_on(self, i: int, d: int) -> tuple[str, ...]:
        return self.person(i).groups + self.extra_groups.get(i, ())

    def has_device(self, i: int, k: int, d: int) -> bool:
        return d >= self.device_from.get((i, k), 0)

    def stix_bundle(self, seed: int, day: Day) -> str:
        start = day.day - dt.timedelta(days=day.index)
        objects: list[dict[str, object]] = [{"type": "identity", "spec_version": "2.1", "id": "identity--" + guid(seed, "ti", "org"),
                    "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "ExampleCorp TI",
                    "identity_class": "organization"}]
        feed = [(BAD_IP, start - dt.timedelta(days=30), None, 85, "tor-exit"),
                (EXPIRED_BAD_IP, start - dt.timedelta(days=90), start - dt.timedelta(days=1), 60, "scanner")]
        feed += [(f"198.51.100.{k}", start - dt.timedelta(days=k), None, 50 + k, "botnet") for k in range(1, 21)]
        for ip, valid_from, valid_until, confidence, kind in feed:
            ind = {"type": "indicator", "spec_version": "2.1", "id": "indicator--" + guid(seed, "ind", ip),
                   "created": S.iso(dt.datetime.combine(valid_from, dt.time())),
                   "modified": S.iso(dt.datetime.combine(valid_from, dt.time())), "name": f"{kind} {ip}",
                   "indicator_types": ["malicious-activity"], "pattern": f"[ipv4-addr:value = '{ip}']", "pattern_type": "stix",
                   "valid_from": S.iso(dt.datetime.combine(valid_from, dt.time())), "confidence": confidence,
                   "labels": [kind], "created_by_ref": objects[0]["id"]}
            if valid_until:
                ind["valid_until"] = S.iso(dt.datetime.combine(valid_until, dt.time()))
            objects.append(ind)
        return json.dumps({"type": "bundle", "id": "bundle--" + guid(seed, "bundle", day.index), "objects": objects}, indent=1)


def _must(ix: int | None) -> int:
    assert ix is not None
    return ix


def plan_scenarios(seed: int, n: int, days: int) -> Plan:
    plan = Plan(seed, n, days)
    used: set[int] = set()

    def cast(dept: str, title: str | None, offset: int) -> int | None:
        if not dept:
            return None
        for j in range(n):
            i = (offset * 7919 + j) % n
            p = person(seed, i, n, days)
            if i in used or p.join_day is not None or p.leave_day is not None or p.mover_day is not None:
                continue
            if p.department == dept and (title is None or p.title == title):
                used.add(i)
                return i
        for j in range(n):  # nobody free with that role: move someone into it
            i = (offset * 104729 + j) % n
            p = person(seed, i, n, days)
            if i not in used and p.join_day is None and p.leave_day is None and p.mover_day is None:
                used.add(i)
                groups = tuple(g for g, _ in ROLE_GROUPS[dept])
                plan.overrides[i] = dataclasses.replace(p, department=dept, title=title or DEPARTMENTS[dept][0], groups=groups)
                return i
        raise ValueError(f"the org is too small to cast a {dept} {title or ''} actor")

    span = max(1, days - FIRST_SCENARIO_NIGHT)
    for k, name in enumerate(SCENARIO_NAMES):
        plan.day_of[name] = min(days - 1, FIRST_SCENARIO_NIGHT + k % span) if days > FIRST_SCENARIO_NIGHT else days - 1
        (ad, at), (bd, bt) = CASTING[name]
        plan.actors[name] = (cast(ad, at, 2 * k + 1), cast(bd, bt, 2 * k + 2))
    d = plan.day_of
    a = {name: (_must(x), _must(y)) for name, (x, y) in plan.actors.items() if x is not None and y is not None}
    # The dormant account has been silent the whole period; the look-alike took a few days off.
    plan.quiet_until[a["dormant_account_active"][0]] = d["dormant_account_active"]
    plan.idle_days_before[a["dormant_account_active"][0]] = rng(seed, "dormant-idle").randint(60, 240)  # Okta lastLogin: months ago
    plan.quiet_window[a["dormant_account_active"][1]] = (max(0, d["dormant_account_active"] - 4), d["dormant_account_active"])
    # The leaver was terminated the day before but is still in Okta (late deprovisioning); the
    # look-alike leaves on the scenario day and was last active the day before.
    att, ben = a["leaver_still_active"]
    plan.overrides[att] = dataclasses.replace(plan.person(att), leave_day=max(0, d["leaver_still_active"] - 1), deprovision_lag=6)
    plan.overrides[ben] = dataclasses.replace(plan.person(ben), leave_day=d["leaver_still_active"], deprovision_lag=0)
    plan.quiet_until[att] = d["leaver_still_active"] + 1  # nothing routine after leaving: only the scenario's events
    # The real traveller is on a plane: on the travel day only the scenario's sign-ins (departure,
    # arrival) exist, no routine activity from the home office.
    traveller = a["impossible_travel_privileged_role"][1]
    plan.quiet_window[traveller] = (d["impossible_travel_privileged_role"], d["impossible_travel_privileged_role"] + 1)
    # The finance analyst holds admin in the dev AWS account.
    plan.extra_groups[a["peer_outlier_entitlement"][0]] = ("aws-dev-admin",)
    # New devices: an unmanaged one (attack) and a newly enrolled managed laptop (look-alikes).
    for name, managed_new in (("unmanaged_device_export", True), ("ghost_device", True)):
        ix = a[name][1]
        p = plan.person(ix)
        dev = Device(hostname=f"LT-NEW{ix:05d}", serial=stable_id(seed, "newserial", ix, 12).upper(), os="Windows", kind="laptop",
                     managed=managed_new, encrypted=True, edr=True, edr_stale_days=0, jailbroken=False,
                     entra_device_id=guid(seed, "newdev", ix), mac=":".join(stable_id(seed, "newmac", ix, 12)[j:j + 2] for j in range(0, 12, 2)))
        plan.overrides[ix] = dataclasses.replace(p, devices=p.devices + (dev,))
        plan.device_from[(ix, len(p.devices))] = d[name]
    return plan


@dataclass(frozen=True)
class Scenario:
    name: str
    attack: Callable[[int, Plan, Day, Person], dict]
    benign: Callable[[int, Plan, Day, Person | None], dict]
    # The look-alike's night relative to the attack's. 0: the same night. -1: the night before, for
    # a look-alike that is the attacked identity itself (one service key used from its usual place):
    # on the same night it would share the attack's identity-day and could not be judged apart.
    benign_offset: int = 0

    def emit(self, seed: int, plan: Plan, day: Day) -> list[dict]:
        a, b = plan.actors[self.name]
        out = []
        if day.index == plan.day_of[self.name]:
            out.append(self.attack(seed, plan, day, plan.person(a) if a is not None else None))  # type: ignore[arg-type]
        if day.index == max(0, plan.day_of[self.name] + self.benign_offset):
            out.append(self.benign(seed, plan, day, plan.person(b) if b is not None else None))
        return out


def _r(seed: int, day: Day, *parts: object):
    return rng(seed, "scenario", day.index, *parts)


def _at(p: Person, day: Day, hour: float) -> dt.datetime:
    return S.local_time(p, day.day, hour)


def unmanaged_export(seed, plan, day, p):
    r = _r(seed, day, "ude")
    dev = Device(hostname=f"DESKTOP-{stable_id(seed, 'byod', p.index, 7).upper()}", serial="", os="Windows", kind="laptop",
                 managed=False, encrypted=False, edr=False, edr_stale_days=0, jailbroken=False, entra_device_id="", mac="")
    t = _at(p, day, 20.5)
    home = f"86.{r.randint(1, 200)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, home, dev, apps=("Tableau",))]
    ids.append(day.emit("data_access", S.data_access(r, p.email, p.okta_id, t + dt.timedelta(minutes=12), activity="export",
                                                     datastore="finance_dw", table="ledger", rows=2_400_000, nbytes=2_400_000 * 220,
                                                     hostname=dev.hostname, ip=home, tool="Tableau")))
    return label("unmanaged_device_export", "attack", p.email, dev.hostname, t, t + dt.timedelta(minutes=13), ids)


def managed_new_export(seed, plan, day, p):
    r = _r(seed, day, "ude-b")
    dev = p.devices[-1]
    t = _at(p, day, 10.5)
    ip = S.public_ip(p, r)
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, ip, dev, apps=("Tableau",))]
    ids.append(day.emit("data_access", S.data_access(r, p.email, p.okta_id, t + dt.timedelta(minutes=20), activity="export",
                                                     datastore="finance_dw", table="forecast", rows=4_000, nbytes=4_000 * 180,
                                                     hostname=dev.hostname, ip=S.internal_ip(p, len(p.devices) - 1, day.index), tool="Tableau")))
    return label("unmanaged_device_export", "benign_lookalike", p.email, dev.hostname, t, t + dt.timedelta(minutes=21), ids)


def impossible_travel(seed, plan, day, p):
    r = _r(seed, day, "itp")
    t = _at(p, day, 9.0)
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, S.public_ip(p, r), p.devices[0])]
    t2 = t + dt.timedelta(minutes=50)
    sg_ip = f"{SINGAPORE[4]}.{r.randint(2, 250)}"
    ids += [day.emit("okta", e) for e in S.okta_signin(r, p, t2, sg_ip, p.devices[0], geo=SINGAPORE)]
    ev, ident = S.ct_assume_sso(r, p, "prod", "AdministratorAccess", t2 + dt.timedelta(minutes=6), sg_ip)
    ids.append(day.emit("cloudtrail", ev))
    ids.append(day.emit("cloudtrail", S.ct_call(r, ident, t2 + dt.timedelta(minutes=9), sg_ip, "iam.amazonaws.com", "CreateAccessKey",
                                                read_only=False, params={"userName": "break-glass"})))
    return label("impossible_travel_privileged_role", "attack", p.email, p.devices[0].hostname, t, t2 + dt.timedelta(minutes=9), ids)


def real_travel(seed, plan, day, p):
    r = _r(seed, day, "itp-b")
    t = _at(p, day, 7.0)
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, S.public_ip(p, r), p.devices[0])]
    t2 = t + dt.timedelta(hours=10)  # London -> New York is a 7-8 hour flight
    ny_ip = f"{NEW_YORK[4]}.{r.randint(100, 250)}"
    ids += [day.emit("okta", e) for e in S.okta_signin(r, p, t2, ny_ip, p.devices[0], geo=NEW_YORK)]
    ev, ident = S.ct_assume_sso(r, p, "prod", "AdministratorAccess", t2 + dt.timedelta(minutes=20), ny_ip)
    ids.append(day.emit("cloudtrail", ev))
    ids.append(day.emit("cloudtrail", S.ct_call(r, ident, t2 + dt.timedelta(minutes=25), ny_ip, "ec2.amazonaws.com", "DescribeInstances")))
    return label("impossible_travel_privileged_role", "benign_lookalike", p.email, p.devices[0].hostname, t, t2 + dt.timedelta(minutes=25), ids)


def phish_chain(seed, plan, day, p):
    r = _r(seed, day, "ptp")
    t = _at(p, day, 10.0)
    ip = f"102.{r.randint(1, 200)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    ids = [day.emit("entra_audit", S.entra_audit(r, t, "Consent to application", "ApplicationManagement", p, "ServicePrincipal",
                                                 "Mail Sync Pro", guid(seed, "app", "mailsync"),
                                                 [{"displayName": "ConsentAction.Permissions", "oldValue": None,
                                                   "newValue": "Mail.Read Files.Read.All offline_access"}], ip))]
    session = "102" + stable_id(seed, "phs", p.index, 22)
    ids.append(day.emit("okta", S.okta_event(r, p, t + dt.timedelta(minutes=3), "user.mfa.factor.activate", ip, session,
                                             display="User set up SMS factor", factor="SMS", device=p.devices[0])))
    ids += [day.emit("okta", e) for e in S.okta_signin(r, p, t + dt.timedelta(minutes=20), ip, p.devices[0], apps=("AWS IAM Identity Center",))]
    ev, ident = S.ct_assume_sso(r, p, "dev", "DeveloperAccess", t + dt.timedelta(minutes=25), ip)
    ids.append(day.emit("cloudtrail", ev))
    ids.append(day.emit("cloudtrail", S.ct_call(r, ident, t + dt.timedelta(minutes=31), ip, "iam.amazonaws.com", "AttachRolePolicy",
                                                read_only=False, params={"roleName": "ci-deployer",
                                                                         "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})))
    return label("phish_token_privesc", "attack", p.email, p.devices[0].hostname, t, t + dt.timedelta(minutes=31), ids)


def new_phone(seed, plan, day, p):
    r = _r(seed, day, "ptp-b")
    t = _at(p, day, 9.5)
    ip = S.public_ip(p, r)
    session = "102" + stable_id(seed, "phb", p.index, 22)
    ids = [day.emit("okta", S.okta_event(r, p, t, "user.mfa.factor.activate", ip, session, display="User set up OKTA_VERIFY_PUSH factor",
                                         factor="OKTA_VERIFY_PUSH", device=p.devices[0]))]
    ids += [day.emit("okta", e) for e in S.okta_signin(r, p, t + dt.timedelta(minutes=5), ip, p.devices[0], apps=("GitHub",))]
    return label("phish_token_privesc", "benign_lookalike", p.email, p.devices[0].hostname, t, t + dt.timedelta(minutes=30), ids)


def mfa_fatigue(seed, plan, day, p):
    r = _r(seed, day, "mfa")
    t = _at(p, day, 23.2)
    ip = f"91.{r.randint(1, 200)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    session = "102" + stable_id(seed, "mfa", p.index, 22)
    ids = []
    for k in range(14):
        ids.append(day.emit("okta", S.okta_event(r, p, t + dt.timedelta(seconds=40 * k), "user.authentication.auth_via_mfa", ip, session,
                                                 result="FAILURE", reason="User rejected Okta push verify",
                                                 factor="OKTA_VERIFY_PUSH", display="Authentication of user via MFA")))
    ids.append(day.emit("okta", S.okta_event(r, p, t + dt.timedelta(seconds=600), "user.authentication.auth_via_mfa", ip, session,
                                             factor="OKTA_VERIFY_PUSH", display="Authentication of user via MFA")))
    return label("mfa_fatigue", "attack", p.email, None, t, t + dt.timedelta(seconds=600), ids)


def mfa_fumble(seed, plan, day, p):
    r = _r(seed, day, "mfa-b")
    t = _at(p, day, 9.1)
    ip = S.public_ip(p, r)
    session = "102" + stable_id(seed, "mfb", p.index, 22)
    ids = [day.emit("okta", S.okta_event(r, p, t + dt.timedelta(seconds=60 * k), "user.authentication.auth_via_mfa", ip, session,
                                         result="FAILURE", reason="Verify push timed out", factor="OKTA_VERIFY_PUSH",
                                         device=p.devices[0])) for k in range(2)]
    ids.append(day.emit("okta", S.okta_event(r, p, t + dt.timedelta(seconds=150), "user.authentication.auth_via_mfa", ip, session,
                                             factor="OKTA_VERIFY_PUSH", device=p.devices[0])))
    return label("mfa_fatigue", "benign_lookalike", p.email, p.devices[0].hostname, t, t + dt.timedelta(seconds=150), ids)


def dormant(seed, plan, day, p):
    r = _r(seed, day, "dor")
    t = _at(p, day, 14.0)
    ip = f"77.{r.randint(1, 200)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, ip, p.devices[0], apps=("Tableau",))]
    ids.append(day.emit("data_access", S.data_access(r, p.email, p.okta_id, t + dt.timedelta(minutes=15), activity="read",
                                                     datastore="customer_pii", table="customers", rows=150_000, nbytes=150_000 * 300,
                                                     hostname=p.devices[0].hostname, ip=ip, tool="Tableau")))
    return label("dormant_account_active", "attack", p.email, p.devices[0].hostname, t, t + dt.timedelta(minutes=15), ids)


def back_from_leave(seed, plan, day, p):
    r = _r(seed, day, "dor-b")
    t = _at(p, day, 9.0)
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, S.public_ip(p, r), p.devices[0], apps=("Slack", "Workday"))]
    return label("dormant_account_active", "benign_lookalike", p.email, p.devices[0].hostname, t, t + dt.timedelta(minutes=60), ids)


def iam_enum(seed, plan, day, p):
    r = _r(seed, day, "iam")
    t = _at(p, day, 16.0)
    ip = S.public_ip(p, r)
    ev, ident = S.ct_assume_sso(r, p, "dev", "DeveloperAccess", t, ip)
    ids = [day.emit("cloudtrail", ev)]
    for k in range(60):
        name = S.IAM_READS[k % len(S.IAM_READS)]
        ids.append(day.emit("cloudtrail", S.ct_call(r, ident, t + dt.timedelta(seconds=20 + 3 * k), ip, "iam.amazonaws.com", name,
                                                    error="AccessDenied" if k % 3 == 0 else None)))
    return label("iam_enumeration", "attack", p.email, p.devices[0].hostname, t, t + dt.timedelta(seconds=200), ids)


def iam_review(seed, plan, day, p):
    r = _r(seed, day, "iam-b")
    t = _at(p, day, 11.0)
    ip = S.public_ip(p, r)
    ev, ident = S.ct_assume_sso(r, p, "prod", "AdministratorAccess", t, ip)
    ids = [day.emit("cloudtrail", ev)]
    for k in range(40):
        ids.append(day.emit("cloudtrail", S.ct_call(r, ident, t + dt.timedelta(seconds=30 + 6 * k), ip, "iam.amazonaws.com",
                                                    S.IAM_READS[k % len(S.IAM_READS)])))
    return label("iam_enumeration", "benign_lookalike", p.email, p.devices[0].hostname, t, t + dt.timedelta(seconds=300), ids)


def outlier_entitlement(seed, plan, day, p):
    r = _r(seed, day, "peer")
    t = _at(p, day, 15.0)
    ip = S.public_ip(p, r)
    ev, ident = S.ct_assume_sso(r, p, "dev", "AdministratorAccess", t, ip)
    ids = [day.emit("cloudtrail", ev),
           day.emit("cloudtrail", S.ct_call(r, ident, t + dt.timedelta(minutes=2), ip, "ec2.amazonaws.com", "DescribeInstances"))]
    return label("peer_outlier_entitlement", "attack", p.email, None, t, t + dt.timedelta(minutes=2), ids)


def admin_peer(seed, plan, day, p):
    r = _r(seed, day, "peer-b")
    t = _at(p, day, 10.0)
    ip = S.public_ip(p, r)
    ev, ident = S.ct_assume_sso(r, p, "dev", "AdministratorAccess", t, ip)
    ids = [day.emit("cloudtrail", ev),
           day.emit("cloudtrail", S.ct_call(r, ident, t + dt.timedelta(minutes=3), ip, "ec2.amazonaws.com", "DescribeInstances"))]
    return label("peer_outlier_entitlement", "benign_lookalike", p.email, None, t, t + dt.timedelta(minutes=3), ids)


def _device_traffic(seed, day, p, r, hostname, ip, t):
    ids = [day.emit("zeek_dns", S.zeek_dns(r, t + dt.timedelta(minutes=k), ip, r.choice(S.DNS_NAMES))) for k in range(6)]
    fs = Device(hostname="FS01", serial="", os="Windows", kind="server", managed=True, encrypted=True, edr=True,
                edr_stale_days=0, jailbroken=False, entra_device_id="", mac="")
    ids.append(day.emit("windows_security", S.windows_event(p, fs, t + dt.timedelta(minutes=8), 4624, day.next_record(), ip,
                                                            LogonType=3, LogonProcessName="NtLmSsp", AuthenticationPackageName="NTLM",
                                                            WorkstationName=hostname)))
    return ids


def ghost(seed, plan, day, p):
    r = _r(seed, day, "ghost")
    hostname = f"DESKTOP-{stable_id(seed, 'ghost', p.index, 7).upper()}"
    ip = f"10.{p.office[6]}.251.{66 + p.index % 100}"
    t = _at(p, day, 13.0)
    return label("ghost_device", "attack", p.email, hostname, t, t + dt.timedelta(minutes=8),
                 _device_traffic(seed, day, p, r, hostname, ip, t))


def new_laptop(seed, plan, day, p):
    r = _r(seed, day, "ghost-b")
    k = len(p.devices) - 1
    t = _at(p, day, 11.0)
    return label("ghost_device", "benign_lookalike", p.email, p.devices[k].hostname, t, t + dt.timedelta(minutes=8),
                 _device_traffic(seed, day, p, r, p.devices[k].hostname, S.internal_ip(p, k, day.index), t))


def bad_ip(seed, plan, day, p):
    r = _r(seed, day, "ti")
    t = _at(p, day, 12.0)
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, BAD_IP, p.devices[0], apps=("Salesforce",))]
    return label("threat_intel_ip_signin", "attack", p.email, p.devices[0].hostname, t, t + dt.timedelta(minutes=30), ids)


def expired_ip(seed, plan, day, p):
    r = _r(seed, day, "ti-b")
    t = _at(p, day, 12.0)
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, EXPIRED_BAD_IP, p.devices[0], apps=("Salesforce",))]
    return label("threat_intel_ip_signin", "benign_lookalike", p.email, p.devices[0].hostname, t, t + dt.timedelta(minutes=30), ids)


def leaver(seed, plan, day, p):
    r = _r(seed, day, "lv")
    t = _at(p, day, 19.0)
    ip = f"88.{r.randint(1, 200)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, ip, p.devices[0], apps=("Workday",))]
    ids.append(day.emit("data_access", S.data_access(r, p.email, p.okta_id, t + dt.timedelta(minutes=10), activity="export",
                                                     datastore="payroll", table="salaries", rows=3_200, nbytes=3_200 * 400,
                                                     hostname=p.devices[0].hostname, ip=ip, tool="Workday")))
    return label("leaver_still_active", "attack", p.email, p.devices[0].hostname, t, t + dt.timedelta(minutes=10), ids)


def last_day(seed, plan, day, p):
    r = _r(seed, day, "lv-b")
    t = S.local_time(p, day.day - dt.timedelta(days=1), 16.0)
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t, S.public_ip(p, r), p.devices[0], apps=("Workday",))]
    return label("leaver_still_active", "benign_lookalike", p.email, p.devices[0].hostname, t, t + dt.timedelta(minutes=40), ids)


def key_new_location(seed, plan, day, _p):
    from ztlake.generator import reporting_identity

    r = _r(seed, day, "key")
    t = dt.datetime.combine(day.day, dt.time(1, 40))
    ident = reporting_identity()
    ids = [day.emit("cloudtrail", S.ct_call(r, ident, t + dt.timedelta(minutes=k), "45.133.1.20", "s3.amazonaws.com",
                                            ("ListBuckets", "GetObject")[k > 0])) for k in range(6)]
    return label("long_lived_key_new_location", "attack", "svc-reporting@" + DOMAIN, None, t, t + dt.timedelta(minutes=5), ids)


def key_usual_location(seed, plan, day, _p):
    from ztlake.generator import reporting_identity

    r = _r(seed, day, "key-b")
    t = dt.datetime.combine(day.day, dt.time(6, 10))
    ids = [day.emit("cloudtrail", S.ct_call(r, reporting_identity(), t, "81.2.69.200", "s3.amazonaws.com", "GetObject"))]
    return label("long_lived_key_new_location", "benign_lookalike", "svc-reporting@" + DOMAIN, None, t, t, ids)


def off_hours(seed, plan, day, p):
    r = _r(seed, day, "off")
    t = _at(p, day, 3.1)
    ip = S.internal_ip(p, 0, day.index)
    ids = [day.emit("okta", e) for e in S.okta_signin(r, p, t - dt.timedelta(minutes=5), S.public_ip(p, r), p.devices[0])]
    for k, table in enumerate(("customers", "customer_addresses", "customer_payments")):
        ids.append(day.emit("data_access", S.data_access(r, p.email, p.okta_id, t + dt.timedelta(minutes=4 * k), activity="read",
                                                         datastore="customer_pii", table=table, rows=1_800_000,
                                                         nbytes=1_800_000 * 350, hostname=p.devices[0].hostname, ip=ip, tool="DBeaver")))
    return label("off_hours_mass_download", "attack", p.email, p.devices[0].hostname, t - dt.timedelta(minutes=5), t + dt.timedelta(minutes=8), ids)


def nightly_etl(seed, plan, day, _p):
    from ztlake.generator import SERVICE_ETL

    r = _r(seed, day, "off-b")
    t = dt.datetime.combine(day.day, dt.time(2, 50))
    ids = [day.emit("data_access", S.data_access(r, SERVICE_ETL, "svc-etl", t, activity="read", datastore="customer_pii",
                                                 table="customers", rows=1_100_000, nbytes=2 * 10**9, hostname="etl-runner-01",
                                                 ip="10.50.0.21", tool="Airflow"))]
    return label("off_hours_mass_download", "benign_lookalike", SERVICE_ETL, "etl-runner-01", t, t, ids)


SCENARIOS = (
    Scenario("unmanaged_device_export", unmanaged_export, managed_new_export),
    Scenario("impossible_travel_privileged_role", impossible_travel, real_travel),
    Scenario("phish_token_privesc", phish_chain, new_phone),
    Scenario("mfa_fatigue", mfa_fatigue, mfa_fumble),
    Scenario("dormant_account_active", dormant, back_from_leave),
    Scenario("iam_enumeration", iam_enum, iam_review),
    Scenario("peer_outlier_entitlement", outlier_entitlement, admin_peer),
    Scenario("ghost_device", ghost, new_laptop),
    Scenario("threat_intel_ip_signin", bad_ip, expired_ip),
    Scenario("leaver_still_active", leaver, last_day),
    Scenario("long_lived_key_new_location", key_new_location, key_usual_location, benign_offset=-1),
    Scenario("off_hours_mass_download", off_hours, nightly_etl),
)
assert tuple(s.name for s in SCENARIOS) == SCENARIO_NAMES
