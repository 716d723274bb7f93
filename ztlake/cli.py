"""The `ztlake` command line. Every command has --help; failures print a readable message and
exit non-zero (use --debug for the traceback)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from ztlake.tables import LAYERS


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _nights(first: dt.date, through: dt.date | None) -> list[dt.date]:
    last = through or first
    if last < first:
        raise UserError(f"--through {last} is before --date {first}")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def cmd_run(args: argparse.Namespace) -> int:
    from ztlake.nightly import run_nights

    landing = Path(args.landing)
    if "://" not in args.landing and not landing.is_dir():
        raise UserError(f"landing folder not found: {landing} (expected <landing>/<source>/<YYYY-MM-DD>/...)")
    layers = tuple(x.strip() for x in args.layers.split(",")) if args.layers else None
    if layers and set(layers) - set(LAYERS):
        raise UserError(f"unknown layer(s) {', '.join(sorted(set(layers) - set(LAYERS)))} in --layers; choose from {', '.join(LAYERS)}")
    results = run_nights(
        landing=args.landing,
        lake=args.lake,
        nights=_nights(args.date, args.through),
        master=args.master,
        dagster_home=args.dagster_home,
        layers=layers,
        labels=args.labels,
        retrain_every_days=args.retrain_every_days,
        echo=print,
    )
    failed = [r for r in results if not r.success]
    if failed:
        for r in failed:
            print(f"error: night {r.night} failed in step {r.failed_step}: {r.message}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ztlake.demo import run_demo
    from ztlake.generator.scenarios import nights_to_fit_budget

    days = args.days if args.days is not None else nights_to_fit_budget(args.identities)
    return run_demo(out=Path(args.out), identities=args.identities, days=days, start=args.start, seed=args.seed, echo=print)


def cmd_generate(args: argparse.Namespace) -> int:
    from ztlake.generator import generate

    summary = generate(
        out=Path(args.out),
        identities=args.identities,
        days=args.days,
        start=args.start,
        seed=args.seed,
        labels=Path(args.labels) if args.labels else None,
        density=args.density,
    )
    print(summary)
    return 0


def _policy_night(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from dagster_project.resources import LakeResource, SparkResource
    from jobs.silver.build import Night
    from jobs.silver.config import load as load_silver

    lake = LakeResource(root=args.lake).lake_root()
    return Night(SparkResource(master=args.master).session(), lake, args.date, load_silver())


def cmd_policy_check(args: argparse.Namespace) -> int:
    from jobs.risk.policy import PolicyError, load

    try:
        p = load(args.file)
    except PolicyError as e:
        raise UserError(str(e)) from e
    print(f"ok: {p.name} {p.version} ({p.mode}; {len(p.weights)} factors, {len(p.overrides)} overrides)")
    return 0


def cmd_policy_diff(args: argparse.Namespace) -> int:
    from jobs.risk.build import canary
    from jobs.risk.policy import PolicyError, load

    try:
        candidate = load(args.candidate)
        current = load(args.current) if args.current else None
    except PolicyError as e:
        raise UserError(str(e)) from e
    rows, s = canary(_policy_night(args), candidate, current)
    print(f"policy diff on {args.date}: current {s['current']} vs candidate {s['candidate']} (monitor only: nothing enforced)")
    print(f"{'decision':26} {'current':>8} {'candidate':>10}")
    for d, n in s["decisions_current"].items():  # type: ignore[attr-defined]
        print(f"{d:26} {n:>8} {s['decisions_candidate'][d]:>10}")  # type: ignore[index]
    print(f"changed decisions: {s['changed_decisions']} (plus {s['score_only_changes']} score-only changes)")
    print(f"step-ups added/removed: {s['step_ups_added']}/{s['step_ups_removed']}; denies added/removed: "
          f"{s['denies_added']}/{s['denies_removed']}")
    print(f"users affected: {', '.join(s['users_affected']) or 'none'}")  # type: ignore[arg-type]
    for r in rows.where("change != 'score only'").orderBy("email").limit(args.show).collect():
        print(f"  {r['email']} {r['grain']} {r['key']}: {r['current_decision']} -> {r['candidate_decision']} "
              f"({r['current_score']:.1f} -> {r['candidate_score']:.1f})")
    print(f"every change is in {args.lake.rstrip('/')}/gold/policy_canary")
    return 0


def cmd_export_access_reviews(args: argparse.Namespace) -> int:
    from dagster_project.resources import LakeResource, SparkResource
    from jobs.insights.build import export_access_reviews

    lake = LakeResource(root=args.lake).lake_root()
    try:
        written = export_access_reviews(SparkResource(master=args.master).session(), lake, args.date, Path(args.out),
                                        pseudonymize=args.pseudonymize, per_owner=args.per_owner)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(str(e)) from e
    for path, rows in written:
        print(f"wrote {rows} rows to {path}")
    if args.pseudonymize:
        print("identities are keyed pseudonyms (the key is not in the file)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from dagster_project.resources import LakeResource
    from ztlake.tables import report_path

    lake = LakeResource(root=args.lake).lake_root()
    path = report_path(lake, args.date.isoformat())
    if args.rebuild or not Path(path).exists():
        if not args.rebuild:
            raise UserError(f"no report for {args.date} at {path}: the nightly run writes it (or use --rebuild)")
        from dagster_project.resources import SparkResource
        from jobs.insights.report import write_report
        from jobs.silver.build import Night
        from jobs.silver.config import load as load_silver

        path = write_report(Night(SparkResource(master=args.master).session(), lake, args.date, load_silver()),
                            pseudonymize=not args.clear_identities)
    print(path)
    return 0


def cmd_policy_promote(args: argparse.Namespace) -> int:
    from dagster_project.resources import LakeResource, SparkResource
    from jobs.risk.build import promote
    from jobs.risk.policy import CURRENT, PolicyError

    try:
        p = promote(SparkResource(master=args.master).session(), LakeResource(root=args.lake).lake_root(), Path(args.candidate),
                    Path(args.current) if args.current else CURRENT)
    except PolicyError as e:
        raise UserError(str(e)) from e
    print(f"promoted {p.name} {p.version} to enforced; logged in {args.lake.rstrip('/')}/quality/policy_log")
    return 0


def _org_arguments(parser: argparse.ArgumentParser, days: int | None, start: dt.date | None) -> None:
    """The size and shape of a generated organization (`demo` and `generate`). `days=None`: as many
    nights as spread the twelve attacks within a 1% alert budget (9 for 200 identities)."""
    parser.add_argument("--identities", type=int, default=200, help="people in the organization (at least 40)")
    if days is None:
        parser.add_argument("--days", type=int, help="nights to generate (default: the fewest that put no more attacks "
                            "on a night than a 1%% alert budget holds: 3 nights of baseline, then the twelve scenarios "
                            "at 1%% of the identities a night; 9 for 200 identities)")
    else:
        parser.add_argument("--days", type=int, default=days, help=f"nights to generate (default {days})")
    if start is None:
        parser.add_argument("--start", type=_date, required=True, help="first day (YYYY-MM-DD)")
    else:
        parser.add_argument("--start", type=_date, default=start, help=f"first day (default {start})")
    parser.add_argument("--seed", type=int, default=7, help="same seed gives byte-identical output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ztlake", description="Zero Trust risk analytics on a Delta Lake.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="materialize nightly partition(s) through Dagster",
        description="Materialize the nightly partition(s) in date order through the Dagster `nightly` job "
        "(the same job the nightly schedule runs), in one process and one Spark session.",
    )
    run.add_argument("--landing", required=True, help="landing root: <landing>/<source>/<YYYY-MM-DD>/<files>")
    run.add_argument("--lake", required=True, help="lake root: tables at <lake>/<layer>/<table>")
    run.add_argument("--date", required=True, type=_date, help="first night (YYYY-MM-DD)")
    run.add_argument("--through", type=_date, help="last night, inclusive (default: --date)")
    run.add_argument("--master", default="local[*]", help="Spark master (default local[*]; e.g. spark://host:7077)")
    run.add_argument("--layers", help="only these layers, comma-separated (e.g. bronze to land without normalizing); "
                     "default: the whole nightly job")
    run.add_argument("--dagster-home", help="Dagster instance folder, so runs show in the UI (default: $DAGSTER_HOME)")
    run.add_argument("--labels", help="labelled episodes (JSON lines, as `ztlake generate --labels` writes) for the models' "
                     "backtests (default: $ZTLAKE_LABELS; without labels backtests say 'not measured')")
    run.add_argument("--retrain-every-days", type=int, help="retrain the models when the champion is this many nights old "
                     "(default: config/models.yaml, weekly)")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser(
        "demo",
        help="generate the demo enterprise and run every night of it",
        description="Generate the built-in demo enterprise, run every night through Dagster, and print what "
        "was produced and how to open the Dagster and MLflow UIs.",
    )
    demo.add_argument("--out", default="demo", help="demo folder (landing/, lake/, dagster_home/)")
    _org_arguments(demo, days=None, start=dt.date(2026, 11, 1))
    demo.set_defaults(func=cmd_demo)

    gen = sub.add_parser(
        "generate",
        help="write a synthetic enterprise's vendor logs into a landing tree",
        description="Write a deterministic synthetic enterprise's logs, in vendor formats, into "
        "<out>/<source>/<YYYY-MM-DD>/, plus labelled attack scenarios.",
    )
    gen.add_argument("--out", required=True)
    _org_arguments(gen, days=7, start=None)
    gen.add_argument("--labels", help="write scenario ground truth here (JSON lines)")
    gen.add_argument("--density", type=int, help="records per working person per day, for volume tests (routine "
                     "behaviour writes about 15; the rest is background DNS and network traffic)")
    gen.set_defaults(func=cmd_generate)

    pol = sub.add_parser("policy", help="check, canary (diff) and promote risk policies",
                         description="Risk policies are versioned YAML files (policies/current.yaml is enforced).")
    psub = pol.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    chk = psub.add_parser("check", help="validate a policy file; print its version or every problem with its line")
    chk.add_argument("file", nargs="?", help="policy file (default policies/current.yaml)")
    chk.set_defaults(func=cmd_policy_check)
    diff = psub.add_parser("diff", help="score a night with a candidate policy beside the current one (monitor only)",
                           description="Writes every decision that would change to <lake>/gold/policy_canary and prints a summary.")
    diff.add_argument("--candidate", required=True)
    diff.add_argument("--current", help="default: policies/current.yaml")
    diff.add_argument("--date", required=True, type=_date)
    diff.add_argument("--lake", required=True)
    diff.add_argument("--master", default="local[*]")
    diff.add_argument("--show", type=int, default=20, help="changed decisions to print (default 20)")
    diff.set_defaults(func=cmd_policy_diff)
    prom = psub.add_parser("promote", help="make a candidate the enforced policy, and log it")
    prom.add_argument("--candidate", required=True)
    prom.add_argument("--current", help="the enforced policy file to replace (default policies/current.yaml)")
    prom.add_argument("--lake", required=True)
    prom.add_argument("--master", default="local[*]")
    prom.set_defaults(func=cmd_policy_promote)

    exp = sub.add_parser("export", help="export tables for people outside the lake (CSV)")
    esub = exp.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    ar = esub.add_parser("access-reviews", help="the night's access-review priorities as CSV, combined or per resource owner",
                         description="Rank 1 = review first. With --pseudonymize, emails and user ids are replaced by keyed, stable "
                                     "pseudonyms (key: $ZTLAKE_PSEUDONYM_KEY, or the file $ZTLAKE_PSEUDONYM_KEY_FILE, default "
                                     "~/.ztlake/pseudonym.key); the key is never written to the output.")
    ar.add_argument("--date", required=True, type=_date)
    ar.add_argument("--out", required=True, help="CSV file (with --per-owner: <stem>.<owner>.csv beside it)")
    ar.add_argument("--pseudonymize", action="store_true", help="replace identities with keyed pseudonyms")
    ar.add_argument("--per-owner", action="store_true", help="one file per resource owner")
    ar.add_argument("--lake", help="lake root (default $ZTLAKE_LAKE, else demo/lake)")
    ar.add_argument("--master", default="local[*]")
    ar.set_defaults(func=cmd_export_access_reviews)

    rep = sub.add_parser("report", help="print the path of a night's leadership report (HTML)",
                         description="The nightly run writes <lake>/reports/<date>/index.html; this prints its path.")
    rep.add_argument("--date", required=True, type=_date)
    rep.add_argument("--lake", help="lake root (default $ZTLAKE_LAKE, else demo/lake)")
    rep.add_argument("--rebuild", action="store_true", help="render the report again from the gold tables")
    rep.add_argument("--clear-identities", action="store_true", help="with --rebuild: show emails instead of pseudonyms")
    rep.add_argument("--master", default="local[*]")
    rep.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a readable line, not a bare traceback
        if args.debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0][:2000], file=sys.stderr)
        print("(run with --debug for the full traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
