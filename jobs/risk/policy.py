"""Risk policy as code: load, validate (with the line of every problem) and version a policy file.

A policy's version is `<version>+<sha256 of the file, 12 hex>`: the human version string plus the
content hash, so an edit that forgot to bump the version is still a different policy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ztlake.spark import REPO_ROOT

CURRENT = REPO_ROOT / "policies" / "current.yaml"

DECISIONS = ("allow", "step_up", "read_only", "managed_device_required", "export_limited", "deny")
LADDER = DECISIONS[1:]  # thresholds, in this order, strictly increasing
LOOKALIKE_OK = DECISIONS[:2]  # what a benign look-alike may get (issue 6): allow or step-up
ACTIONS = ("access", "export", "role_assumption")
SENSITIVITIES = ("low", "medium", "high", "critical")
# Factor name -> the parameters it takes (besides `weight`) and whether each is required.
FACTORS: dict[str, dict[str, bool]] = {
    "new_device": {"healthy_severity": False}, "unmanaged_device": {"known_device_severity": False, "known_device_request_severity": False},
    "edr_unhealthy": {"known_device_severity": False, "known_device_request_severity": False},
    "unknown_device": {}, "impossible_travel": {}, "known_bad_ip": {},
    "rare_resource": {}, "peer_outlier_entitlement": {"full_at": True}, "behaviour_anomaly": {"from_percentile": True},
    "token_age": {"from_hours": True, "full_at": True}, "dormant_account": {"from_days": True},
    "activity_after_termination": {}, "large_export": {"from_ratio": True, "full_at": True, "floor_bytes": False},
    "mfa_denial_burst": {"from_count": True}, "iam_burst": {"from_ratio": True, "min_count": True, "allowed_severity": False},
    "long_lived_key_new_network": {}, "off_hours_sensitive": {"from_share": True, "max_baseline_share": False, "travel_severity": False},
    "ghost_device": {}, "outlier_entitlement_used": {"below_coverage": True}, "iam_denied": {"from_count": True},
    "large_read": {"from_ratio": True, "full_at": True, "floor_rows": False},
    "off_hours_bulk_read": {"from_rows": True, "from_share": True, "max_baseline_share": False, "travel_severity": False},
}
# Every factor may set `sensitivity_share` (0..1, default 1): how much of a request's sensitivity
# multiplier it takes. 0 keeps a signal about the identity's whole night (a model's percentile) from
# growing with the resource one request touched.
FACTORS = {name: {**params, "sensitivity_share": False} for name, params in FACTORS.items()}


# Parameters that are shares or severities: 0..1.
SHARES = frozenset({"known_device_severity", "known_device_request_severity", "healthy_severity", "allowed_severity", "sensitivity_share",
                    "travel_severity", "from_share", "max_baseline_share", "below_coverage"})

# Access-review factors (`access_review.factors`): name -> the parameters each takes besides `weight`.
REVIEW_FACTORS: dict[str, dict[str, bool]] = {
    "never_used": {}, "unused": {"full_at_days": True}, "privileged": {}, "standing_privileged": {}, "network_only": {},
    "peer_rare": {"below_coverage": True}, "leaver": {}, "mover": {"within_days": True}, "dormant": {"from_days": True},
}
# Recommendation thresholds (`access_review.recommend`).
REVIEW_RECOMMEND = ("keep_below", "revoke_from", "revoke_unused_days")
RECOMMENDATIONS = ("revoke", "convert_to_jit", "review", "keep")


@dataclass(frozen=True)
class AccessReview:
    weights: dict[str, float]
    params: dict[str, dict[str, float]]
    recommend: dict[str, float]

    def param(self, factor: str, key: str) -> float:
        return self.params[factor][key]


# Steps a sequence can chain (score.sequence_steps defines each from tonight's silver events).
STEPS = ("impossible_travel", "privileged_role_assumption", "new_or_unmanaged_device_signin", "sensitive_export",
         "oauth_consent_or_mfa_enrollment", "token_use", "privilege_escalation")


class PolicyError(ValueError):
    """A policy that cannot be used: `file:line: key: reason` for each problem."""


@dataclass(frozen=True)
class Override:
    name: str
    decision: str
    detail: str
    action: str | None = None
    resource: str | None = None
    factors_any: tuple[str, ...] = ()


SEQUENCE_KEYS = ("name", "steps", "within_hours", "weight", "same_device", "healthy_device_severity")


@dataclass(frozen=True)
class Sequence:
    name: str
    steps: tuple[str, ...]
    within_hours: float
    weight: float
    same_device: bool = False  # every step must come from the first step's device
    healthy_device_severity: float = 1.0  # a chain on a new but managed, EDR-healthy device counts this much


@dataclass(frozen=True)
class Policy:
    name: str
    version: str  # human version + content hash
    mode: str
    weights: dict[str, float]
    params: dict[str, dict[str, float]]
    sensitivity: dict[str, float]
    ladder: dict[str, float]
    overrides: tuple[Override, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    pilot_departments: tuple[str, ...] = ()
    pilot_emails: tuple[str, ...] = ()
    access_review: AccessReview | None = None
    incident_min_score: float = 45.0  # a row scoring this or more joins its identity's incident
    incident_window_days: int = 3     # a later high-risk night within this many days updates the incident
    warmup_days: int = 0              # novelty factors (new device, rare resource) count from this many baseline days
    text: str = field(default="", repr=False)

    def param(self, factor: str, key: str) -> float:
        return self.params[factor][key]


class _Check:
    def __init__(self, path: Path) -> None:
        self.path, self.problems = path, []  # type: ignore[var-annotated]

    def fail(self, node: yaml.Node | None, key: str, reason: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(f"{self.path}:{line}: {key}: {reason}")


def _mapping(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    return {k.value: (k, v) for k, v in node.value} if isinstance(node, yaml.MappingNode) else {}


def _number(c: _Check, node: yaml.Node, key: str, lo: float, hi: float) -> float:
    if isinstance(node, yaml.ScalarNode):
        try:
            v = float(node.value)
            if lo <= v <= hi:
                return v
        except ValueError:
            pass
    c.fail(node, key, f"must be a number from {lo:g} to {hi:g}, got {getattr(node, 'value', node)!r}")
    return 0.0


def _strings(c: _Check, node: yaml.Node, key: str) -> tuple[str, ...]:
    if isinstance(node, yaml.SequenceNode) and all(isinstance(x, yaml.ScalarNode) for x in node.value):
        return tuple(str(x.value) for x in node.value)
    c.fail(node, key, "must be a list of strings")
    return ()


def _factors(c: _Check, node: yaml.Node | None, known: dict[str, dict[str, bool]],
             where: str) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """`name: {weight: W, param: V}` entries: weights and parameters, every problem reported."""
    weights: dict[str, float] = {}
    params: dict[str, dict[str, float]] = {}
    for name, (kn, vn) in _mapping(node).items() if node is not None else []:
        if name not in known:
            c.fail(kn, f"{where}.{name}", f"unknown factor (known: {', '.join(known)})")
            continue
        spec = _mapping(vn)
        if "weight" not in spec:
            c.fail(vn, f"{where}.{name}.weight", "required")
        for key, (pk, pv) in spec.items():
            if key == "weight":
                weights[name] = _number(c, pv, f"{where}.{name}.weight", 0, 100)
            elif key in known[name]:
                params.setdefault(name, {})[key] = _number(c, pv, f"{where}.{name}.{key}", 0, 1 if key in SHARES else 1e12)
            else:
                c.fail(pk, f"{where}.{name}.{key}", f"unknown parameter (takes: weight{''.join(', ' + p for p in known[name])})")
        for key, required in known[name].items():
            if required and key not in spec:
                c.fail(vn, f"{where}.{name}.{key}", "required")
    return weights, params


def _named_numbers(c: _Check, node: yaml.Node, known: tuple[str, ...], where: str, lo: float, hi: float,
                   unknown: str = "unknown key") -> dict[str, float]:
    """`{name: number}` where every name is known and every known name is required."""
    m = _mapping(node)
    out: dict[str, float] = {}
    for k, (kn, vn) in m.items():
        if k not in known:
            c.fail(kn, f"{where}.{k}", f"{unknown} (allowed: {', '.join(known)})")
        else:
            out[k] = _number(c, vn, f"{where}.{k}", lo, hi)
    for k in known:
        if k not in m:
            c.fail(node, f"{where}.{k}", "required")
    return out


def _access_review(c: _Check, node: yaml.Node) -> AccessReview:
    """`access_review: {factors: {...}, recommend: {...}}`: every factor and threshold is required,
    so a reviewer sees the whole ranking rule in the file."""
    m = _mapping(node)
    for k, (kn, _) in m.items():
        if k not in ("factors", "recommend"):
            c.fail(kn, f"access_review.{k}", "unknown key (allowed: factors, recommend)")
    weights, params = _factors(c, m["factors"][1] if "factors" in m else None, REVIEW_FACTORS, "access_review.factors")
    for name in REVIEW_FACTORS:
        if name not in weights and not any(f"access_review.factors.{name}" in p for p in c.problems):
            c.fail(m["factors"][1] if "factors" in m else node, f"access_review.factors.{name}", "required")
    rec = _named_numbers(c, m["recommend"][1] if "recommend" in m else node, REVIEW_RECOMMEND, "access_review.recommend", 0, 10000)
    if "keep_below" in rec and "revoke_from" in rec and rec["keep_below"] >= rec["revoke_from"]:
        c.fail(m["recommend"][1], "access_review.recommend", "keep_below must be below revoke_from")
    return AccessReview(weights, params, rec)


def parse(text: str, path: Path) -> Policy:
    """Validate a policy's text; raise PolicyError naming the line and the reason of every problem."""
    c = _Check(path)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise PolicyError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML: {getattr(e, 'problem', e)}") from e
    if not isinstance(root, yaml.MappingNode):
        raise PolicyError(f"{path}:1: a policy is a mapping of name, version, factors, sensitivity, ladder, overrides")
    top = _mapping(root)
    allowed = {"name", "version", "mode", "pilot", "factors", "sensitivity", "ladder", "overrides", "sequences", "access_review", "incidents", "warmup_days"}
    for k, (kn, _) in top.items():
        if k not in allowed:
            c.fail(kn, k, f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for req in ("name", "version", "factors", "ladder"):
        if req not in top:
            c.fail(root, req, "required")
    scalar = lambda k: str(top[k][1].value) if k in top and isinstance(top[k][1], yaml.ScalarNode) else ""  # noqa: E731
    mode = scalar("mode") or "enforce"
    if mode not in ("enforce", "monitor"):
        c.fail(top["mode"][1], "mode", "must be enforce or monitor")

    weights, params = _factors(c, top["factors"][1] if "factors" in top else None, FACTORS, "factors")
    sensitivity = {s: 1.0 for s in SENSITIVITIES}
    for s, (kn, vn) in _mapping(top["sensitivity"][1]).items() if "sensitivity" in top else []:
        if s not in SENSITIVITIES:
            c.fail(kn, f"sensitivity.{s}", f"unknown level (known: {', '.join(SENSITIVITIES)})")
        else:
            sensitivity[s] = _number(c, vn, f"sensitivity.{s}", 0, 10)

    ladder = _named_numbers(c, top["ladder"][1], LADDER, "ladder", 0, 100, "unknown decision") if "ladder" in top else {}
    values = [ladder[d] for d in LADDER if d in ladder]
    if len(values) == len(LADDER) and any(b <= a for a, b in zip(values, values[1:], strict=False)):
        c.fail(top["ladder"][1], "ladder", f"thresholds must increase in the order {' < '.join(LADDER)}")

    overrides = []
    if "overrides" in top:
        node = top["overrides"][1]
        if not isinstance(node, yaml.SequenceNode):
            c.fail(node, "overrides", "must be a list")
        for i, item in enumerate(node.value if isinstance(node, yaml.SequenceNode) else []):
            o = _mapping(item)
            key = f"overrides[{i}]"
            when = _mapping(o["when"][1]) if "when" in o else {}
            if "when" not in o or not when:
                c.fail(item, f"{key}.when", "required: action, resource and/or factors_any")
            decision = str(o["decision"][1].value) if "decision" in o else ""
            if decision not in DECISIONS:
                c.fail(o["decision"][1] if "decision" in o else item, f"{key}.decision", f"must be one of {', '.join(DECISIONS)}")
            action = str(when["action"][1].value) if "action" in when else None
            if action is not None and action not in ACTIONS:
                c.fail(when["action"][1], f"{key}.when.action", f"must be one of {', '.join(ACTIONS)}")
            anyf = _strings(c, when["factors_any"][1], f"{key}.when.factors_any") if "factors_any" in when else ()
            for f in anyf:
                if f not in FACTORS:
                    c.fail(when["factors_any"][1], f"{key}.when.factors_any", f"unknown factor {f!r}")
            overrides.append(Override(
                name=str(o["name"][1].value) if "name" in o else key, decision=decision,
                detail=str(o["detail"][1].value) if "detail" in o else decision.replace("_", " "), action=action,
                resource=str(when["resource"][1].value) if "resource" in when else None, factors_any=anyf))

    sequences = []
    if "sequences" in top:
        node = top["sequences"][1]
        if not isinstance(node, yaml.SequenceNode):
            c.fail(node, "sequences", "must be a list")
        for i, item in enumerate(node.value if isinstance(node, yaml.SequenceNode) else []):
            q = _mapping(item)
            key = f"sequences[{i}]"
            for req in ("name", "steps", "within_hours", "weight"):
                if req not in q:
                    c.fail(item, f"{key}.{req}", "required")
            steps = _strings(c, q["steps"][1], f"{key}.steps") if "steps" in q else ()
            if "steps" in q and not 2 <= len(steps) <= 3:
                c.fail(q["steps"][1], f"{key}.steps", "a sequence chains 2 or 3 steps")
            for st in steps:
                if st not in STEPS:
                    c.fail(q["steps"][1], f"{key}.steps", f"unknown step {st!r} (known: {', '.join(STEPS)})")
            same = str(q["same_device"][1].value).lower() if "same_device" in q else "false"
            if same not in ("true", "false"):
                c.fail(q["same_device"][1], f"{key}.same_device", "must be true or false")
            for k2, (kn2, _) in q.items():
                if k2 not in SEQUENCE_KEYS:
                    c.fail(kn2, f"{key}.{k2}", f"unknown key (allowed: {', '.join(SEQUENCE_KEYS)})")
            sequences.append(Sequence(
                str(q["name"][1].value) if "name" in q else key, steps,
                _number(c, q["within_hours"][1], f"{key}.within_hours", 0.01, 24 * 7) if "within_hours" in q else 1.0,
                _number(c, q["weight"][1], f"{key}.weight", 0, 100) if "weight" in q else 0.0, same == "true",
                _number(c, q["healthy_device_severity"][1], f"{key}.healthy_device_severity", 0, 1)
                if "healthy_device_severity" in q else 1.0))
    review = _access_review(c, top["access_review"][1]) if "access_review" in top else None
    inc = _mapping(top["incidents"][1]) if "incidents" in top else {}
    for k, (kn, _) in inc.items():
        if k not in ("min_score", "window_days"):
            c.fail(kn, f"incidents.{k}", "unknown key (allowed: min_score, window_days)")
    inc_min = _number(c, inc["min_score"][1], "incidents.min_score", 0, 100) if "min_score" in inc else 45.0
    inc_window = _number(c, inc["window_days"][1], "incidents.window_days", 1, 90) if "window_days" in inc else 3.0
    warmup = _number(c, top["warmup_days"][1], "warmup_days", 0, 90) if "warmup_days" in top else 0.0
    pilot = _mapping(top["pilot"][1]) if "pilot" in top else {}
    depts = _strings(c, pilot["departments"][1], "pilot.departments") if "departments" in pilot else ()
    emails = _strings(c, pilot["emails"][1], "pilot.emails") if "emails" in pilot else ()
    if c.problems:
        raise PolicyError("policy refused:\n  " + "\n  ".join(c.problems))
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Policy(scalar("name"), f"{scalar('version')}+{digest}", mode, weights, params, sensitivity, ladder, tuple(overrides),
                  tuple(sequences), depts, tuple(e.lower() for e in emails), review, inc_min, int(inc_window), int(warmup), text)


def load(path: str | Path | None = None) -> Policy:
    p = Path(path) if path else CURRENT
    try:
        text = p.read_text()
    except OSError as e:
        raise PolicyError(f"{p}: cannot read policy: {e}") from e
    return parse(text, p)


def as_dict(policy: Policy) -> dict[str, Any]:
    return yaml.safe_load(policy.text) or {}
