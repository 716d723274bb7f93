"""The synthetic organization: people, roles, devices, groups. Deterministic from a seed.

Identities are derived from their index (`person(seed, i)`), so generation streams: nothing holds
the whole org in memory.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

DOMAIN = "example.com"
NETBIOS = "CORP"
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Engineering Manager", "SRE"),
    "Finance": ("Financial Analyst", "Accountant", "Finance Manager"),
    "Sales": ("Account Executive", "Sales Engineer", "Sales Manager"),
    "HR": ("HR Generalist", "Recruiter", "HR Manager"),
    "IT": ("IT Administrator", "Helpdesk Analyst", "Security Engineer"),
    "Marketing": ("Marketing Specialist", "Content Writer", "Marketing Manager"),
}
DEPT_WEIGHTS = (("Engineering", 35), ("Sales", 20), ("Finance", 12), ("Marketing", 12), ("IT", 11), ("HR", 10))
FIRST = ("alex", "sam", "jordan", "taylor", "morgan", "casey", "riley", "jamie", "drew", "avery", "quinn",
         "harper", "rowan", "emery", "kai", "noor", "li", "mateo", "sofia", "amara", "yuki", "omar", "ines", "lars")
LAST = ("smith", "garcia", "chen", "patel", "muller", "rossi", "kim", "nguyen", "silva", "haddad", "kowalski",
        "okafor", "dubois", "tanaka", "larsen", "novak", "costa", "singh", "ahmed", "walsh", "moreau", "fischer")
# city, country, lat, lon, public egress /24, utc offset (hours), internal /16 second octet
OFFICES = (
    ("London", "GB", 51.507, -0.128, "81.2.69", 0, 10),
    ("New York", "US", 40.713, -74.006, "64.233.160", -5, 20),
    ("Berlin", "DE", 52.520, 13.405, "85.214.132", 1, 30),
)
AWS_ACCOUNTS = {"prod": "111111111111", "dev": "222222222222", "data": "333333333333"}

# Entitlement groups by department: (SCIM group, AWS permission set granted through it or None).
ROLE_GROUPS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "Engineering": (("eng-all", None), ("aws-dev-developer", "DeveloperAccess"), ("github-users", None)),
    "IT": (("it-all", None), ("aws-prod-admin", "AdministratorAccess"), ("aws-dev-admin", "AdministratorAccess"),
           ("okta-admins", None)),
    "Finance": (("finance-all", None), ("finance-payroll", None), ("bi-analysts", None)),
    "Sales": (("sales-all", None), ("crm-users", None)),
    "HR": (("hr-all", None), ("hris-users", None)),
    "Marketing": (("marketing-all", None), ("bi-analysts", None)),
}
PRIVILEGED_GROUPS = ("aws-prod-admin", "aws-dev-admin", "okta-admins")
DRIFT_GROUPS = ("bi-analysts", "crm-users", "github-users", "finance-payroll")


def rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def stable_id(seed: int, kind: str, n: object, width: int = 20) -> str:
    return hashlib.sha256(f"{seed}|{kind}|{n}".encode()).hexdigest()[:width]


def guid(seed: int, kind: str, n: object) -> str:
    h = stable_id(seed, kind, n, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class Device:
    hostname: str
    serial: str
    os: str
    kind: str  # laptop | phone
    managed: bool  # enrolled in Intune
    encrypted: bool
    edr: bool  # CrowdStrike sensor installed
    edr_stale_days: int  # days since the sensor last checked in (0 = healthy)
    jailbroken: bool
    entra_device_id: str
    mac: str


@dataclass(frozen=True)
class Person:
    index: int
    email: str
    first: str
    last: str
    department: str
    title: str
    office: tuple
    okta_id: str
    entra_id: str
    sid: str
    kind: str  # employee | contractor
    devices: tuple[Device, ...]
    mfa: str  # webauthn | push | sms
    groups: tuple[str, ...]
    manager: int | None
    join_day: int | None  # day index the person joins (None: before the period)
    leave_day: int | None  # day index of termination (None: stays)
    deprovision_lag: int  # days between termination and Okta/Entra deactivation
    mover_day: int | None
    mover_to: str | None

    @property
    def sam(self) -> str:
        return f"{self.first}.{self.last}{self.index}"

    @property
    def employee_number(self) -> str:
        return f"E{100000 + self.index}"

    def department_on(self, day: int) -> str:
        return self.mover_to if self.mover_day is not None and self.mover_to and day >= self.mover_day else self.department

    def active_on(self, day: int) -> bool:
        return (self.join_day is None or day >= self.join_day) and (self.leave_day is None or day < self.leave_day)

    def idp_active_on(self, day: int) -> bool:
        """Still able to sign in: deprovisioning can lag termination."""
        return (self.join_day is None or day >= self.join_day) and (
            self.leave_day is None or day < self.leave_day + self.deprovision_lag
        )


def _dept(r: random.Random) -> str:
    pick = r.randrange(sum(w for _, w in DEPT_WEIGHTS))
    for name, weight in DEPT_WEIGHTS:
        if pick < weight:
            return name
        pick -= weight
    return DEPT_WEIGHTS[-1][0]


def person(seed: int, i: int, n: int, days: int) -> Person:
    r = rng(seed, "person", i)
    dept = _dept(r)
    first, last = r.choice(FIRST), r.choice(LAST)
    kind = "contractor" if r.random() < 0.08 else "employee"
    devices = []
    n_dev = 1 + (r.random() < 0.5) + (r.random() < 0.15)
    for d in range(n_dev):
        laptop = d == 0 or r.random() < 0.3
        os_name = ("Windows" if r.random() < 0.65 else "macOS") if laptop else ("iOS" if r.random() < 0.55 else "Android")
        byod = d > 0 and r.random() < 0.35
        managed = not byod
        # A managed laptop without the EDR sensor is a Windows one: its own Security log then ties
        # its DHCP address to its host name (a Mac without EDR would have no network identity at all
        # in these sources, indistinguishable from a ghost).
        edr = laptop and managed and (r.random() > 0.04 or os_name != "Windows")
        devices.append(
            Device(
                hostname=(f"LT-{first[:3].upper()}{i:05d}-{d}" if laptop else f"MB-{first[:3].upper()}{i:05d}-{d}"),
                serial=stable_id(seed, "serial", (i, d), 12).upper(),
                os=os_name,
                kind="laptop" if laptop else "phone",
                managed=managed,
                encrypted=not (managed and r.random() < 0.05),
                edr=edr,
                edr_stale_days=(r.choice((9, 15, 30)) if edr and r.random() < 0.05 else 0),
                jailbroken=(not laptop and managed and r.random() < 0.03),
                entra_device_id=guid(seed, "entradev", (i, d)),
                mac=":".join(stable_id(seed, "mac", (i, d), 12)[k:k + 2] for k in range(0, 12, 2)),
            )
        )
    groups = [g for g, _ in ROLE_GROUPS[dept]]
    if r.random() < 0.08:  # realistic drift: an extra group from elsewhere
        groups.append(r.choice(DRIFT_GROUPS))
    leave_day = join_day = mover_day = None
    mover_to = None
    roll = r.random()
    if days >= 4 and roll < 0.02:
        leave_day = r.randrange(2, days)
    elif days >= 4 and roll < 0.035:
        join_day = r.randrange(1, days)
    elif days >= 4 and roll < 0.05:
        mover_day = r.randrange(2, days)
        mover_to = r.choice([d for d in DEPARTMENTS if d != dept])
    office = OFFICES[i % len(OFFICES)]
    return Person(
        index=i,
        email=f"{first}.{last}{i}@{DOMAIN}",
        first=first,
        last=last,
        department=dept,
        title=r.choice(DEPARTMENTS[dept]),
        office=office,
        okta_id="00u" + stable_id(seed, "okta", i, 17),
        entra_id=guid(seed, "entra", i),
        sid=f"S-1-5-21-3623811015-3361044348-30300820-{1000 + i}",
        kind=kind,
        devices=tuple(devices),
        mfa=r.choices(("webauthn", "push", "sms"), weights=(40, 50, 10))[0],
        groups=tuple(groups),
        manager=(i // 8) * 8 if i % 8 else (None if i < 8 else (i // 64) * 8),
        join_day=join_day,
        leave_day=leave_day,
        deprovision_lag=(r.choice((3, 5, 8)) if leave_day is not None and r.random() < 0.4 else 0),
        mover_day=mover_day,
        mover_to=mover_to,
    )


def permission_sets(groups: tuple[str, ...]) -> list[tuple[str, str]]:
    """(account name, permission set) pairs granted through the person's groups."""
    out = []
    for g in groups:
        if g.startswith("aws-"):
            account = g.split("-")[1]
            ps = "AdministratorAccess" if g.endswith("admin") else "DeveloperAccess"
            out.append((account, ps))
    return out
