"""The synthetic organization: people, roles, devices. Deterministic from a seed.

Identities are derived from their index (`person(i)`), so generation streams: nothing holds the
whole org in memory.
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
# Weighted headcount share per department.
DEPT_WEIGHTS = (("Engineering", 35), ("Sales", 20), ("Finance", 12), ("Marketing", 12), ("IT", 11), ("HR", 10))
FIRST = ("alex", "sam", "jordan", "taylor", "morgan", "casey", "riley", "jamie", "drew", "avery", "quinn",
         "harper", "rowan", "emery", "kai", "noor", "li", "mateo", "sofia", "amara", "yuki", "omar", "ines", "lars")
LAST = ("smith", "garcia", "chen", "patel", "muller", "rossi", "kim", "nguyen", "silva", "haddad", "kowalski",
        "okafor", "dubois", "tanaka", "larsen", "novak", "costa", "singh", "ahmed", "walsh", "moreau", "fischer")
OFFICES = (  # city, country, lat, lon, egress /24
    ("London", "GB", 51.507, -0.128, "81.2.69"),
    ("New York", "US", 40.713, -74.006, "64.233.160"),
    ("Berlin", "DE", 52.520, 13.405, "85.214.132"),
)
AWS_ACCOUNTS = {"prod": "111111111111", "dev": "222222222222", "data": "333333333333"}


def _rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.sha256(("|".join(map(str, (seed, *parts)))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def stable_id(seed: int, kind: str, n: object, width: int = 20) -> str:
    return hashlib.sha256(f"{seed}|{kind}|{n}".encode()).hexdigest()[:width]


@dataclass(frozen=True)
class Device:
    hostname: str
    serial: str
    os: str
    ip_suffix: int
    managed: bool


@dataclass(frozen=True)
class Person:
    index: int
    email: str
    first: str
    last: str
    department: str
    title: str
    office: tuple[str, str, float, float, str]
    okta_id: str
    kind: str  # employee | contractor | service
    devices: tuple[Device, ...]
    mfa: str  # webauthn | push | sms
    aws_role: str  # permission set the person normally uses

    @property
    def sam(self) -> str:
        return f"{NETBIOS}\\{self.first}.{self.last}{self.index}"


def person(seed: int, i: int) -> Person:
    r = _rng(seed, "person", i)
    total = sum(w for _, w in DEPT_WEIGHTS)
    pick = r.randrange(total)
    dept = DEPT_WEIGHTS[-1][0]
    for name, weight in DEPT_WEIGHTS:
        if pick < weight:
            dept = name
            break
        pick -= weight
    first, last = r.choice(FIRST), r.choice(LAST)
    kind = "contractor" if r.random() < 0.08 else "employee"
    email = f"{first}.{last}{i}@{DOMAIN}"
    n_dev = 1 + (r.random() < 0.45) + (r.random() < 0.15)
    devices = []
    for d in range(n_dev):
        os_name = ("Windows", "macOS", "iOS", "Android")[0 if d == 0 and r.random() < 0.6 else r.randrange(4)]
        devices.append(
            Device(
                hostname=f"{'LT' if os_name in ('Windows', 'macOS') else 'MB'}-{first[:3].upper()}{i:05d}-{d}",
                serial=stable_id(seed, "serial", i * 10 + d, 12).upper(),
                os=os_name,
                ip_suffix=10 + (i * 3 + d) % 240,
                managed=not (d > 0 and r.random() < 0.3),
            )
        )
    mfa = r.choices(("webauthn", "push", "sms"), weights=(40, 50, 10))[0]
    role = {"Engineering": "DeveloperAccess", "IT": "AdministratorAccess"}.get(dept, "ReadOnlyAccess")
    return Person(
        index=i,
        email=email,
        first=first,
        last=last,
        department=dept,
        title=r.choice(DEPARTMENTS[dept]),
        office=OFFICES[i % len(OFFICES)],
        okta_id="00u" + stable_id(seed, "okta", i, 17),
        kind=kind,
        devices=tuple(devices),
        mfa=mfa,
        aws_role=role,
    )
