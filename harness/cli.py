"""The `zarr-conformance` command line.

Exit codes (scripts and CI depend on them): 0 every outcome as expected,
1 some outcome unexpected, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .matrix import ROOT, ConfigError


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2, as argparse does, with our wording
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="zarr-conformance", description="Cross-implementation conformance harness for Zarr.")
    p.add_argument("--matrix", help="matrix file (default: matrix.yaml of the project)")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run the matrix and write results and a report")
    r.add_argument("--writers", type=_csv, help="implementations that write (name or name@version, comma-separated)")
    r.add_argument("--readers", type=_csv, help="implementations that read")
    r.add_argument("--cases", type=_csv, help="case id globs, e.g. 'v3/*/shard-*' (all tiers)")
    r.add_argument("--stores", type=_csv, help="stores, e.g. local,s3-moto")
    r.add_argument("--profile", help="a profile of matrix.yaml (default: its default_profile)")
    r.add_argument("--jobs", "-j", type=int, default=None, help="cells in parallel (default: CPU count)")
    r.add_argument("--out", help="run directory (default: reports/<timestamp>, linked as reports/latest)")
    r.add_argument("--expectations", help="expectations file (default: expectations.yaml when present)")
    r.add_argument("--no-expectations", action="store_true", help="expect every cell to pass")
    r.add_argument("--resume", action="store_true", help="keep the cells already in --out and run the rest")
    r.add_argument("--write-mode", choices=["local", "native"], default="local",
                   help="native: writers also write straight into each S3 store through their own S3 support")
    r.add_argument("--quiet", "-q", action="store_true")

    ls = sub.add_parser("list", help="list implementations, cases or stores")
    ls.add_argument("what", choices=["implementations", "cases", "stores", "profiles"])
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--profile", help="cases of this profile's tier only")

    rep = sub.add_parser("report", help="(re)render report.html, junit.xml and summary.md of a run directory")
    rep.add_argument("dir")

    e = sub.add_parser("expectations", help="manage the expectations file")
    esub = e.add_subparsers(dest="ecmd", required=True, parser_class=_Parser)
    eu = esub.add_parser("update", help="write the expectations file from a run's outcomes")
    eu.add_argument("dir", nargs="?", default=str(ROOT / "reports" / "latest"))
    eu.add_argument("--file", default=str(ROOT / "expectations.yaml"))

    s = sub.add_parser("setup", help="build the adapters' environments (cached; rebuilt when inputs change)")
    s.add_argument("impls", nargs="*", help="implementations (default: all in the matrix)")

    d = sub.add_parser("docs", help="regenerate docs/cases.md and docs/implementations.md")
    d.add_argument("--check", action="store_true", help="fail when the committed docs are out of date")
    d.add_argument("--record", metavar="RUN_DIR", help="first keep this run's handshakes and write support")
    d.add_argument("--measure-stores", action="store_true", help="first probe every endpoint kind anew")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"zarr-conformance: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args) -> int:
    if args.cmd == "run":
        from .run import RunOptions, run

        exp = None if args.no_expectations else (args.expectations or _default_expectations())
        opts = RunOptions(matrix=args.matrix, profile=args.profile, writers=args.writers, readers=args.readers,
                          cases=args.cases, stores=args.stores, out=args.out, expectations=exp,
                          resume=args.resume, quiet=args.quiet, write_mode=args.write_mode)
        if args.jobs is not None:
            if args.jobs < 1:
                raise ConfigError("--jobs must be at least 1")
            opts.jobs = args.jobs
        if args.resume and not args.out:
            raise ConfigError("--resume needs --out DIR (the run directory to continue)")
        return run(opts)
    if args.cmd == "list":
        return _list(args)
    if args.cmd == "report":
        return _report(Path(args.dir))
    if args.cmd == "expectations":
        from .expectations import update
        from .results import latest_records, load_jsonl

        run_dir = Path(args.dir)
        if not (run_dir / "results.jsonl").exists():
            raise ConfigError(f"{run_dir}: no results.jsonl (run the matrix first)")
        n = update(Path(args.file), latest_records(load_jsonl(run_dir / "results.jsonl")))
        print(f"wrote {n} entries to {args.file}")
        return 0
    if args.cmd == "setup":
        return _setup(args)
    if args.cmd == "docs":
        from .docs import write_docs

        return write_docs(check=args.check, matrix_path=args.matrix, record_dir=args.record, measure=args.measure_stores)
    return 2


def _default_expectations() -> str | None:
    p = ROOT / "expectations.yaml"
    return str(p) if p.exists() else None


def _list(args) -> int:
    from .cases import catalogue, select
    from .matrix import load_matrix

    if args.what == "cases":
        m = load_matrix(args.matrix) if args.profile else None
        if m and args.profile not in m.profiles:
            from .matrix import did_you_mean

            raise ConfigError(f"unknown profile {args.profile!r}" + did_you_mean(args.profile, m.profiles))
        cases = select(None, m.profiles[args.profile].tier) if m else list(catalogue().values())
        if args.json:
            print(json.dumps([{**c.to_json(), "tier": c.tier, "description": c.description} for c in cases], indent=1))
        else:
            for c in cases:
                print(f"{c.id:55s} {c.tier:8s} {c.description}")
        return 0
    m = load_matrix(args.matrix)
    if args.what == "implementations":
        rows = [{"id": iv.id, "name": iv.name, "version": iv.version, "language": iv.impl.language,
                 "adapter": iv.impl.adapter, "description": iv.impl.description} for iv in m.impl_versions()]
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            for r in rows:
                print(f"{r['id']:32s} {r['language']:11s} {r['description']}")
        return 0
    if args.what == "stores":
        rows = [{"name": n, "kind": s.kind, "access": list(s.access), "description": s.description} for n, s in m.stores.items()]
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            for r in rows:
                print(f"{r['name']:12s} {r['kind']:10s} access: {', '.join(r['access']):20s} {r['description']}")
        return 0
    rows = [{"name": n, **p.model_dump()} for n, p in m.profiles.items()]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            print(f"{r['name']:10s} tier {r['tier']:8s} {r['description']}")
    return 0


def _report(run_dir: Path) -> int:
    from .report import write_report
    from .results import latest_records, load_jsonl, write_junit, write_summary

    if not (run_dir / "results.jsonl").exists():
        raise ConfigError(f"{run_dir}: no results.jsonl here")
    records = latest_records(load_jsonl(run_dir / "results.jsonl"))
    info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    write_junit(records, run_dir / "junit.xml")
    write_summary(records, info, run_dir / "summary.md")
    print(write_report(run_dir))
    return 0


def _setup(args) -> int:
    from .environments import NotAvailable, setup
    from .matrix import load_matrix

    m = load_matrix(args.matrix)
    ivs = m.resolve_impls(args.impls or None, "")
    failed = 0
    for iv in ivs:
        try:
            env = setup(iv)
            print(f"ready: {iv.id}: {' '.join(env.command)}")
        except NotAvailable as exc:
            failed += 1
            print(f"not available: {iv.id}: {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
