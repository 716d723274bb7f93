"""The nightly leadership report: one static HTML page at `<lake>/reports/<date>/index.html`.

Readable on its own: no script, no external asset (charts are inline SVG, styles inline), and a
Content-Security-Policy that forbids scripts and remote loads, so a string from a log can never run.
Every value taken from the lake is HTML-escaped. Identities are pseudonymized by default.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import functions as F

from expectations.gate import RESULTS_SCHEMA
from jobs.insights import outcomes as OM
from jobs.insights import pseudonym as PS
from jobs.insights.access_review import REVIEW_DDL
from jobs.insights.blast_radius import BLAST_DDL
from jobs.insights.build import tonight, window
from jobs.risk.incidents import INCIDENTS_DDL
from jobs.silver.build import Night
from ztlake.tables import (
    ACCESS_REVIEW_PRIORITIES,
    BLAST_RADIUS,
    INCIDENTS,
    OUTCOME_METRICS,
    VALIDATION_RESULTS,
    report_path,
)

TREND_DAYS = 30
TOP_INCIDENTS = 10
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
TITLES = {
    "privileged_phishing_resistant_mfa_share": "Privileged accounts on phishing-resistant MFA",
    "long_lived_credentials": "Long-lived credentials",
    "long_lived_credentials_eliminated": "Long-lived credentials eliminated since yesterday",
    "deprovision_days_median": "Time to deprovision a leaver (median)",
    "deprovision_days_p95": "Time to deprovision a leaver (95th percentile)",
    "alert_to_incident_ratio": "High-risk rows per incident",
    "mtta_hours": "Mean time to acknowledge (MTTA)",
    "mttc_hours": "Mean time to contain (MTTC)",
    "false_positive_rate_step_up_deny": "False positives among step-up and deny",
    "apps_behind_controls_share": "Apps behind resource-level controls",
    "standing_admin_roles": "Standing admin roles",
    "reachable_resources_mean": "Resources reachable per identity (mean)",
    "reachable_resources_p95": "Resources reachable per identity (95th percentile)",
    "step_up_prompts_per_user_week": "Step-up prompts per user per week",
    "time_to_regain_compliant_access_days": "Time to regain compliant access",
}
# Lower is better for these; higher for the rest (arrows in the report).
LOWER_IS_BETTER = {"long_lived_credentials", "deprovision_days_median", "deprovision_days_p95", "alert_to_incident_ratio",
                   "mtta_hours", "mttc_hours", "false_positive_rate_step_up_deny", "standing_admin_roles", "reachable_resources_mean",
                   "reachable_resources_p95", "step_up_prompts_per_user_week", "time_to_regain_compliant_access_days"}


@dataclass
class ReportData:
    night: dt.date
    metrics: list[dict]                                  # outcome_metrics rows of the trend window
    incidents: list[dict]                                # tonight's open incidents, riskiest first
    blast_now: dict | None                               # organization row tonight
    blast_before: dict | None                            # organization row the previous night
    blast_movers: list[dict] = field(default_factory=list)  # identities whose reach changed most
    reviews: dict[str, int] = field(default_factory=dict)   # recommendation -> count
    quality: list[dict] = field(default_factory=list)       # per silver table: passed, failed blocking checks
    pseudonymized: bool = True


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.1f} {unit}"


def sparkline(points: list[tuple[dt.date, float | None]], width: int = 240, height: int = 48) -> str:
    """An inline SVG line of the measured values (gaps where not measured), with the last point marked."""
    vals = [v for _, v in points if v is not None]
    label = f"{len(vals)} measured night(s)"
    if not vals:
        return (f'<svg class="chart empty" role="img" aria-label="no measurements" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}"><text x="4" y="{height // 2}" font-size="11" fill="#888">not measured</text></svg>')
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    n = max(len(points) - 1, 1)
    xy = [(4 + (width - 8) * k / n, height - 6 - (height - 12) * ((v - lo) / span)) for k, (_, v) in enumerate(points) if v is not None]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    lx, ly = xy[-1]
    return (f'<svg class="chart" role="img" aria-label="{e(label)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<line x1="4" y1="{height - 6}" x2="{width - 4}" y2="{height - 6}" stroke="#ddd"/>'
            f'<polyline fill="none" stroke="#2b6cb0" stroke-width="2" points="{line}"/>'
            f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3" fill="#2b6cb0"/></svg>')


def _trend_cell(metric: str, rows: list[dict], night: dt.date) -> tuple[str, str]:
    by_date = {r["date"]: r for r in rows if r["metric"] == metric}
    days = [night - dt.timedelta(days=TREND_DAYS - 1 - k) for k in range(TREND_DAYS)]
    first = min(by_date) if by_date else night
    pts = [(d, by_date[d]["value"] if d in by_date and by_date[d]["status"] == OM.MEASURED else None) for d in days if d >= first]
    now = by_date.get(night)
    prev = [by_date[d] for d in sorted(by_date) if d < night and by_date[d]["status"] == OM.MEASURED]
    arrow = ""
    if now and now["status"] == OM.MEASURED and prev and now["value"] is not None and prev[-1]["value"] is not None:
        delta = now["value"] - prev[-1]["value"]
        if abs(delta) > 1e-9:
            better = (delta < 0) == (metric in LOWER_IS_BETTER)
            arrow = f' <span class="{"good" if better else "bad"}">{"▲" if delta > 0 else "▼"}</span>'
    return sparkline(pts), arrow


def render(d: ReportData) -> str:
    night = d.night
    rows = [r for r in d.metrics if r["date"] <= night]
    tonight_rows = {r["metric"]: r for r in rows if r["date"] == night}
    out: list[str] = []
    add = out.append
    add("<!doctype html><html lang='en'><head><meta charset='utf-8'>")
    add(f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">")
    add(f"<title>ztlake report {e(night)}</title><style>{STYLE}</style></head><body>")
    add(f"<header><h1>Zero Trust outcomes, night of {e(night)}</h1>"
        f"<p class='sub'>Generated by ztlake from the lake's gold tables. Identities are "
        f"{'pseudonymized (keyed, stable)' if d.pseudonymized else 'shown in clear'}. "
        f"Definitions: docs/metrics.md ({e(OM.DEFINITIONS_VERSION)}).</p></header>")
    # The gate's verdict first: numbers from data that failed it are not to be trusted.
    failed = [q for q in d.quality if q["failed"]]
    status = "no gate results for this night" if not d.quality else (
        f"{len(failed)} table(s) failed the joinability gate" if failed else f"all {len(d.quality)} silver tables passed the joinability gate")
    add(f"<p id='gate' class='banner {'bad' if failed or not d.quality else 'good'}'>Data quality: {e(status)}</p>")
    add("<section id='outcomes'><h2>Outcome metrics</h2><table class='metrics'><thead><tr><th>metric</th><th>tonight</th>"
        f"<th>last {TREND_DAYS} nights</th><th>how it was measured</th></tr></thead><tbody>")
    category = ""
    for cat, metric, unit in OM.METRICS:
        if cat != category:
            category = cat
            add(f"<tr class='cat'><td colspan='4'>{e(cat.replace('_', ' ').capitalize())}</td></tr>")
        r = tonight_rows.get(metric)
        chart, arrow = _trend_cell(metric, rows, night)
        if r is None:
            value, detail = "—", "no row tonight"
        elif r["status"] != OM.MEASURED:
            value, detail = f"<span class='nm'>{e(r['status'])}</span>", ""
        else:
            value, detail = e(_fmt(r["value"], unit)) + arrow, r["detail"]
        add(f"<tr data-metric='{e(metric)}'><td>{e(TITLES.get(metric, metric))}</td><td class='v'>{value}</td><td>{chart}</td>"
            f"<td class='d'>{e(detail)}</td></tr>")
    add("</tbody></table></section>")
    add("<section id='incidents'><h2>Top incidents</h2><table class='incidents'><thead><tr><th>severity</th><th>identity</th>"
        "<th>score</th><th>first / last seen</th><th>why</th><th>next steps</th></tr></thead><tbody>")
    if not d.incidents:
        add("<tr><td colspan='6'>no open incidents tonight</td></tr>")
    for i in d.incidents:
        add(f"<tr><td class='sev {e(i['severity'])}'>{e(i['severity'])}</td><td>{e(i['identity'])}</td><td>{i['max_score'] or 0:.0f}</td>"
            f"<td>{e(i['first_seen'])} / {e(i['last_seen'])}</td><td>{e('; '.join(i['factors']))}</td>"
            f"<td>{e('; '.join(i['next_steps']))}</td></tr>")
    add("</tbody></table></section>")
    add("<section id='blast'><h2>Blast radius</h2>")
    if d.blast_now:
        b, p = d.blast_now, d.blast_before or {}
        add("<table class='blast'><thead><tr><th>organization</th><th>tonight</th><th>previous night</th></tr></thead><tbody>")
        for key, title, unit in (("apps_behind_controls_share", "apps behind gateway, ZTNA or mesh", "share"),
                                 ("standing_admin_roles", "standing admin roles", "count"),
                                 ("jit_admin_roles", "just-in-time admin roles", "count"),
                                 ("mean_reachable", "resources reachable per identity, mean", ""),
                                 ("p95_reachable", "resources reachable per identity, 95th percentile", "")):
            add(f"<tr><td>{e(title)}</td><td>{e(_fmt(b.get(key), unit).strip())}</td><td>{e(_fmt(p.get(key), unit).strip())}</td></tr>")
        add("</tbody></table>")
        add("<h3>Identities whose reach changed most</h3><table class='movers'><thead><tr><th>identity</th><th>reachable</th>"
            "<th>sensitive</th><th>change</th></tr></thead><tbody>")
        for m in d.blast_movers or []:
            add(f"<tr><td>{e(m['identity'])}</td><td>{e(m['reachable_resources'])}</td><td>{e(m['reachable_sensitive'])}</td>"
                f"<td>{m['reachable_change'] or 0:+d}</td></tr>")
        if not d.blast_movers:
            add("<tr><td colspan='4'>no identity's reach changed since the previous night</td></tr>")
        add("</tbody></table>")
    else:
        add("<p>not measured: no blast_radius for this night</p>")
    add("</section>")
    add("<section id='reviews'><h2>Access reviews</h2><p>")
    add(e("reviewable grants: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(d.reviews.items()))
          if d.reviews else "no access-review priorities tonight"))
    add("</p><p class='sub'>IAM teams: <code>ztlake export access-reviews --date "
        f"{e(night)} --out reviews.csv --per-owner</code></p></section>")
    add("<section id='quality'><h2>Data quality (joinability gate)</h2>")
    add("<table class='quality'><thead><tr><th>silver table</th><th>checks passed</th><th>blocking checks failed</th></tr></thead><tbody>")
    for q in d.quality:
        add(f"<tr><td>{e(q['table'])}</td><td>{e(q['passed'])}</td><td>{e(', '.join(q['failed']) or '—')}</td></tr>")
    if not d.quality:
        add("<tr><td colspan='3'>no gate results for this night</td></tr>")
    add("</tbody></table></section>")
    add("</body></html>")
    return "\n".join(out)


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#1a202c;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
h3{font-size:14px}.banner{padding:8px 12px;border-radius:4px;background:#f7fafc;font-weight:600}
table.metrics td:first-child{width:24%}table.metrics td.v{width:22%;white-space:normal}table.metrics td:nth-child(3){width:250px}.sub{color:#4a5568;font-size:12px}table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #edf2f7;vertical-align:middle}th{background:#f7fafc;font-weight:600}
tr.cat td{background:#edf2f7;font-weight:600}td.v{font-weight:600}td.d{color:#4a5568;font-size:12px}
.good{color:#2f855a}.bad{color:#c53030}.nm{color:#a0aec0;font-weight:400}td.sev.critical{color:#c53030;font-weight:700}
td.sev.high{color:#dd6b20;font-weight:700}code{background:#f7fafc;padding:1px 4px}
"""


def _identity(value: str | None, k: bytes | None) -> str | None:
    return PS.pseudonym(value, k) if k is not None else value


def _scrub(text: str | None, k: bytes | None) -> str:
    """Replace every email address in a free-text field by its pseudonym."""
    if text is None:
        return ""
    return EMAIL.sub(lambda m: PS.pseudonym(m.group(0), k) or "", text) if k is not None else text


def collect(n: Night, pseudonymize: bool = True) -> ReportData:
    k = PS.key() if pseudonymize else None
    metrics = [r.asDict() for r in window(n, OUTCOME_METRICS, OM.OUTCOME_DDL, TREND_DAYS).collect()]
    inc = tonight(n, INCIDENTS, INCIDENTS_DDL).where(F.col("status") == "open").orderBy(F.desc("max_score"), "incident_id").limit(
        TOP_INCIDENTS).collect()
    incidents = [{"severity": r["severity"], "identity": _identity(r["email"], k), "max_score": r["max_score"],
                  "first_seen": r["first_seen"], "last_seen": r["last_seen"],
                  "factors": [_scrub(f["detail"] or f["name"], k) for f in (r["factors"] or [])[:4]],
                  "next_steps": list(r["next_steps"] or [])} for r in inc]
    blast = window(n, BLAST_RADIUS, BLAST_DDL, 2)
    orgs = {r["date"]: r.asDict() for r in blast.where(F.col("grain") == "organization").collect()}
    movers = blast.where((F.col("date") == F.lit(n.night)) & (F.col("grain") == "identity") & (F.col("reachable_change") != 0)) \
        .orderBy(F.desc(F.abs("reachable_change")), "email").limit(10).collect()
    reviews = {r["recommendation"]: r["count"] for r in
               tonight(n, ACCESS_REVIEW_PRIORITIES, REVIEW_DDL).where(F.col("granted_by").isNull()).groupBy("recommendation").count().collect()}
    q = tonight(n, VALIDATION_RESULTS, RESULTS_SCHEMA)
    latest = q.groupBy("table").agg(F.max("validated_at").alias("validated_at"))
    quality = [{"table": r["table"], "passed": r["passed"], "failed": list(r["failed"])} for r in
               q.join(latest, ["table", "validated_at"]).groupBy("table").agg(
                   F.sum(F.col("passed").cast("int")).alias("passed"),
                   F.collect_list(F.when(~F.col("passed") & F.col("blocking"), F.col("expectation"))).alias("failed"))
               .orderBy("table").collect()]
    return ReportData(
        night=n.night, metrics=metrics, incidents=incidents, blast_now=orgs.get(n.night),
        blast_before=orgs.get(n.night - dt.timedelta(days=1)),
        blast_movers=[{"identity": _identity(r["email"] or r["user_uid"], k), "reachable_resources": r["reachable_resources"],
                       "reachable_sensitive": r["reachable_sensitive"], "reachable_change": r["reachable_change"]} for r in movers],
        reviews=reviews, quality=quality, pseudonymized=pseudonymize)


def write_report(n: Night, pseudonymize: bool = True) -> str:
    path = report_path(n.lake, n.night.isoformat())
    text = render(collect(n, pseudonymize))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")
    return path
