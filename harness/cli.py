"""The `zarr-conformance` command line.

Exit codes (scripts and CI depend on them): 0 every outcome as expected,
1 some outcome unexpected, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from .matrix import ConfigError


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
    _findings_args(r)
    r.add_argument("--resume", action="store_true", help="keep the cells already in --out and run the rest")
    r.add_argument("--write-mode", choices=["local", "native"], default="local",
                   help="native: writers also write straight into each S3 store through their own S3 support")
    _runner_args(r)
    r.add_argument("--quiet", "-q", action="store_true")

    ls = sub.add_parser("list", help="list implementations, cases or stores")
    ls.add_argument("what", choices=["implementations", "cases", "stores", "profiles"])
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--profile", help="cases of this profile's tier only")

    rep = sub.add_parser("report", help="judge a run again against the findings and render report.html, "
                                        "junit.xml, summary.md and run.json's counts")
    rep.add_argument("dir")
    _findings_args(rep)

    pub = sub.add_parser("publish", help="build the published compatibility report, a static site, from runs "
                                         "(judged against the findings of now), with history and diffs")
    pub.add_argument("runs", nargs="+", metavar="RUN", help="run directories (or runs of a published site: data/runs/ID)")
    pub.add_argument("--out", required=True, help="the site's directory (replaced; it must be new, empty or a site)")
    pub.add_argument("--history", metavar="SITE", help="a site published before (a directory or its URL): its runs "
                                                       "become the history of this one")
    pub.add_argument("--keep-cells", type=int, default=3, metavar="N",
                     help="the newest N runs keep their cells in the site (older ones a summary; default 3)")
    pub.add_argument("--repro", action="store_true", help="also ship a reproducer bundle (.tar.gz) per finding, "
                                                          "made from the newest run's datasets")
    pub.add_argument("--repro-max-kib", type=int, default=4096, help="largest bundle shipped (default 4096 KiB)")
    pub.add_argument("--repro-total-mib", type=int, default=24, help="all bundles together (default 24 MiB)")
    _findings_args(pub)

    e = sub.add_parser("expectations", help="propose findings for a run's unexpected outcomes")
    esub = e.add_subparsers(dest="ecmd", required=True, parser_class=_Parser)
    eu = esub.add_parser("update", help="cluster a run's unexpected cells into proposed findings; "
                                        "write only what is accepted, or a file to review")
    eu.add_argument("dir", nargs="?", default=None, help="run directory (default: reports/latest)")
    _findings_args(eu)
    how = eu.add_mutually_exclusive_group()
    how.add_argument("--write", metavar="FILE", help="write the proposals to FILE for review (the default, "
                                                     "as DIR/proposed-findings.yaml, when not on a terminal)")
    how.add_argument("--interactive", "-i", action="store_true", help="ask for each proposal")
    how.add_argument("--accept-all", action="store_true", help="add every proposal to findings/ as proposed")

    fd = sub.add_parser("findings", help="check and list the findings")
    fsub = fd.add_subparsers(dest="fcmd", required=True, parser_class=_Parser)
    fc = fsub.add_parser("check", help="validate every findings file; with a run, also list stale findings")
    fc.add_argument("--run", help="a run directory: findings that match none of its cells are stale")
    _findings_args(fc)
    fl = fsub.add_parser("list", help="every finding, gravest first")
    _findings_args(fl)
    fl.add_argument("--json", action="store_true")

    rp = sub.add_parser("repro", help="a self-contained reproducer of a finding or a cell (dataset, a script "
                                      "that uses the library alone, expected and actual values)")
    rp.add_argument("what", help="a finding id, or a cell writer/case/store/reader[access] of the run")
    rp.add_argument("--run", dest="run_dir", default=None, help="run directory (default: reports/latest)")
    rp.add_argument("--out", help="bundle directory (default: repro/<name> in the run directory)")
    rp.add_argument("--execute", action="store_true", help="run the reproducer after writing it and show its output")
    _findings_args(rp)

    s = sub.add_parser("setup", help="build the adapters' environments (cached; rebuilt when inputs change)")
    s.add_argument("impls", nargs="*", help="implementations (default: all in the matrix)")
    _runner_args(s)

    c = sub.add_parser("ci", help="a development build of one implementation against all the others: only the "
                                   "cells that involve it, judged against the findings and a baseline")
    c.add_argument("--target", required=True, help="NAME@dev (with --source), or NAME@VERSION of an overlay")
    c.add_argument("--source", help="the dev build: a checkout, source archive, wheel, jar or install prefix")
    c.add_argument("--base", help="the released version the dev build starts from and is compared with "
                                  "(default: the first version of the implementation in the matrix)")
    c.add_argument("--overlay", help="a YAML file that adds implementations (an adapter command and build) or versions")
    c.add_argument("--profile", help="a profile of the matrix (default: its default_profile)")
    c.add_argument("--cases", type=_csv, help="case id globs")
    c.add_argument("--stores", type=_csv, help="stores")
    c.add_argument("--writers", type=_csv, help="the implementations whose datasets the target reads (default: all)")
    c.add_argument("--readers", type=_csv, help="the implementations that read the target's datasets (default: all)")
    c.add_argument("--baseline", default="run", help="results of the released version: run (the default: read in "
                                                     "this run, or kept from a run with all the same inputs), fresh "
                                                     "(read in this run), a results.jsonl[.gz], a run directory, a "
                                                     "URL, or none")
    c.add_argument("--out", help="run directory (default: reports/<timestamp>)")
    c.add_argument("--jobs", "-j", type=int, default=None)
    c.add_argument("--runner", choices=["local", "docker"], default="local")
    c.add_argument("--quiet", "-q", action="store_true")
    _findings_args(c)

    im = sub.add_parser("images", help="container images of the adapters (for --runner docker)")
    isub = im.add_subparsers(dest="icmd", required=True, parser_class=_Parser)
    ib = isub.add_parser("build", help="build the base image and one image per adapter (cached by input hash)")
    ib.add_argument("impls", nargs="*", help="implementations (default: all in the matrix)")
    ib.add_argument("--base-image", help="start from this image instead of the one made with debootstrap")
    ib.add_argument("--force", action="store_true", help="rebuild the adapters' images even when up to date")
    il = isub.add_parser("list", help="the adapters' images and whether they are built and up to date")
    il.add_argument("impls", nargs="*")
    il.add_argument("--base-image", help="the base image the images were built from")

    v = sub.add_parser("versions", help="every pinned version beside the newest release its registry serves; "
                                         "exit 1 when a pin lags, 2 when a registry could not be asked")
    v.add_argument("impls", nargs="*", help="implementations (default: all in the matrix, the unavailable too)")
    v.add_argument("--json", action="store_true", help="print the verdicts and the registries' answers as JSON")
    v.add_argument("--offline-answers", metavar="FILE", help="judge recorded answers (a versions --json output, "
                                                               "or a mapping kind:package -> answer) instead of asking")
    v.add_argument("--apt-update", action="store_true", help="run apt-get update before asking apt for Debian's versions")
    v.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for one answer (default: 20)")
    v.add_argument("--retries", type=int, default=2, help="retries on connection errors, 429 and 5xx (default: 2)")
    v.add_argument("--jobs", "-j", type=int, default=8, help="registry queries in parallel (default: 8)")

    d = sub.add_parser("docs", help="regenerate docs/cases.md and docs/implementations.md")
    d.add_argument("--check", action="store_true", help="fail when the committed docs are out of date")
    d.add_argument("--record", metavar="RUN_DIR", help="first keep this run's handshakes and write support")
    d.add_argument("--merge", action="store_true", help="with --record: add the run's implementations that the "
                   "recorded data lacks, keep the rest as recorded")
    d.add_argument("--measure-stores", action="store_true", help="first probe every endpoint kind anew")
    return p


def _findings_args(p) -> None:
    p.add_argument("--findings", help="findings directory or file (default: findings/ of the project)")
    p.add_argument("--no-findings", action="store_true", help="judge without findings: expect every cell to pass")


def _runner_args(p) -> None:
    p.add_argument("--runner", choices=["local", "docker"], default="local",
                   help="run each adapter as a host process (local) or in its own container (docker)")
    p.add_argument("--base-image", help="with --runner docker: images start from this image")


def _findings_path(args, matrix_path=None) -> str | None:
    from .findings import default_findings

    if args.no_findings:
        return None
    default = default_findings(matrix_path or args.matrix)
    return args.findings or (str(default) if default else None)


def _load_findings(args, matrix_path=None):
    from .findings import Findings
    from .matrix import load_matrix

    return Findings.load(_findings_path(args, matrix_path), set(load_matrix(matrix_path).implementations))


def _run_matrix(args, run_dir: Path) -> str | None:
    """The matrix a run was made with (run.json), unless --matrix names another."""
    if args.matrix:
        return args.matrix
    try:
        path = json.loads((run_dir / "run.json").read_text())["matrix"]["path"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path if path != "matrix.yaml" and Path(path).exists() else None


def _run_dir(value: str | None) -> Path:
    from .artifacts import reports_root

    return Path(value) if value else reports_root() / "latest"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A terminated harness (a cancelled CI job, `kill`) and one started in the background, where the
    # shell ignores SIGINT, stop as on Ctrl-C: workers, containers and servers stopped, results kept.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"zarr-conformance: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args) -> int:
    if args.cmd == "run":
        from .plan import Selection
        from .run import RunOptions, run

        sel = Selection(matrix=args.matrix, profile=args.profile, writers=_tuple(args.writers),
                        readers=_tuple(args.readers), cases=_tuple(args.cases), stores=_tuple(args.stores),
                        write_mode=args.write_mode)
        opts = RunOptions(selection=sel, out=args.out, findings=_findings_path(args), resume=args.resume,
                          quiet=args.quiet, runner=args.runner,
                          runner_options={"base_image": args.base_image} if args.base_image else None)
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
        return _report(Path(args.dir), _load_findings(args, _run_matrix(args, Path(args.dir))))
    if args.cmd == "expectations":
        return _propose(args)
    if args.cmd == "publish":
        return _publish(args)
    if args.cmd == "findings":
        return _findings(args)
    if args.cmd == "repro":
        from .repro import repro

        run_dir = _run_dir(args.run_dir)
        matrix = _run_matrix(args, run_dir)
        return repro(args.what, run_dir, _load_findings(args, matrix), args.out, execute=args.execute,
                     matrix_path=matrix)
    if args.cmd == "ci":
        from .ci import CiOptions, ci

        opts = CiOptions(target=args.target, source=args.source, base=args.base, overlay=args.overlay,
                         matrix=args.matrix, profile=args.profile, cases=_tuple(args.cases),
                         stores=_tuple(args.stores), writers=_tuple(args.writers), readers=_tuple(args.readers),
                         baseline=args.baseline, out=args.out,
                         findings=_findings_path(args), runner=args.runner, quiet=args.quiet)
        if args.jobs:
            opts.jobs = args.jobs
        return ci(opts)
    if args.cmd == "setup":
        return _setup(args)
    if args.cmd == "images":
        from .images import images_command

        return images_command(args)
    if args.cmd == "versions":
        from .versions import Settings, versions_command

        if args.jobs < 1 or args.retries < 0 or args.timeout <= 0:
            raise ConfigError("--jobs must be at least 1, --retries at least 0 and --timeout positive")
        return versions_command(args.matrix, args.impls or None, as_json=args.json, offline=args.offline_answers,
                                settings=Settings(timeout=args.timeout, retries=args.retries, jobs=args.jobs,
                                                  apt_update=args.apt_update))
    if args.cmd == "docs":
        from .docs import write_docs

        return write_docs(check=args.check, matrix_path=args.matrix, record_dir=args.record, measure=args.measure_stores,
                          merge=args.merge)
    return 2


def _tuple(v):
    return tuple(v) if v else None


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
        from .environments import readiness

        rows = [{"id": iv.id, "name": iv.name, "version": iv.version, "language": iv.language,
                 "adapter": iv.adapter, "description": iv.description, "stores": iv.spec.stores,
                 "formats": iv.spec.formats, "status": readiness(iv)}
                for iv in m.impl_versions()]
        # The implementations listed as not to be had here, with the reason (matrix.yaml's `unavailable:`).
        rows += [{"id": f"{name}@{ver}", "name": name, "version": ver, "language": impl.language, "adapter": None,
                  "description": impl.description, "stores": None, "formats": None,
                  "status": f"not available: {' '.join(impl.unavailable.split())}"}
                 for name, impl in m.implementations.items() if impl.unavailable for ver in impl.versions]
        for r in rows:
            r["available"] = r["status"] == "available"
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            for r in rows:
                print(f"{r['id']:32s} {r['language']:11s} {r['status'].partition(':')[0]:14s} {r['description']}")
            for r in rows:  # why, under the table
                if not r["available"]:
                    print(f"\n{r['id']}: {r['status']}")
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


def _report(run_dir: Path, findings) -> int:
    from .artifacts import load_run, render

    records, writes, info = load_run(run_dir)
    info = render(run_dir, records, writes, info, findings)
    print(f"{run_dir / 'report.html'}: {sum(info['counts'].values())} cells, {info['unexpected']} unexpected, "
          f"{info['unexpected_writes']} unexpected writes, {len(info['findings']['stale'])} stale findings")
    return 1 if info["unexpected"] or info["unexpected_writes"] else 0


def _publish(args) -> int:
    from .matrix import load_matrix
    from .site.build import PublishOptions, publish

    if args.keep_cells < 1:
        raise ConfigError("--keep-cells must be at least 1")
    matrix_path = args.matrix or _run_matrix(args, Path(args.runs[-1]))
    findings = _load_findings(args, matrix_path)
    source = "none" if args.no_findings else (Path(args.findings).name + "/" if args.findings else "findings/")
    stats = publish(PublishOptions(
        runs=[Path(r) for r in args.runs], out=Path(args.out), findings=findings, matrix=load_matrix(matrix_path),
        matrix_path=matrix_path, findings_source=source, history=args.history, keep_cells=args.keep_cells,
        repro=args.repro, repro_max_bytes=args.repro_max_kib << 10, repro_total_bytes=args.repro_total_mib << 20))
    print(f"{stats['out']}/index.html: {stats['pages']} pages from {stats['runs']} runs (latest {stats['latest']}), "
          f"{stats['bytes'] / (1 << 20):.1f} MiB; landing page {stats['landing_bytes'] / 1024:.0f} KiB"
          + (f"; {stats['repro']} reproducer bundles" if args.repro else ""))
    return 0


def _propose(args) -> int:
    from .artifacts import load_run
    from .findings import findings_dir_of
    from .judge import rejudge
    from .propose import append_to, as_yaml, describe, propose

    run_dir = _run_dir(args.dir)
    findings = _load_findings(args, _run_matrix(args, run_dir))
    records, writes, _ = load_run(run_dir)
    records, writes = rejudge(records, writes, findings)
    proposals = propose(records, writes, findings)
    holds_no_more = [r for r in records if r.get("unexpected") and r["outcome"] == "pass"]
    if holds_no_more:
        print(f"{len(holds_no_more)} cells now pass where a finding predicts a failure: narrow or retire those "
              f"findings by hand (never done here)")
    if not proposals:
        print("nothing unexpected: no finding to propose")
        return 0
    target = Path(args.findings) if args.findings else findings_dir_of(args.matrix)
    if args.accept_all or args.interactive:
        taken = set(findings.by_id)
        added = 0
        for p in proposals:
            print(describe(p))
            if args.interactive:
                answer = input("add this finding? [y]es / [n]o / [q]uit: ").strip().lower()
                if answer.startswith("q"):
                    break
                if not answer.startswith("y"):
                    continue
            target.mkdir(parents=True, exist_ok=True)
            path = append_to(target, p.implementation, p.finding(taken))
            added += 1
            print(f"  added to {path}")
        print(f"{added} of {len(proposals)} proposals added; edit their titles, severities and upstream links")
        return 0
    out = Path(args.write) if args.write else run_dir / "proposed-findings.yaml"
    out.write_text(as_yaml(proposals, findings), encoding="utf-8")
    for p in proposals:
        print(describe(p))
    print(f"{len(proposals)} proposed findings for {sum(len(p.cells) for p in proposals)} unexpected cells and writes "
          f"written to {out}: review them, then move the accepted ones into findings/")
    return 0


def _findings(args) -> int:
    from .findings import SEVERITIES

    findings = _load_findings(args, args.matrix)
    if args.fcmd == "check":
        print(f"{len(findings)} findings in {len(set(findings.sources.values()))} files: valid")
        if args.run:
            from .artifacts import load_run
            from .judge import stale

            records, writes, _ = load_run(Path(args.run))
            gone = stale(findings, records, writes)
            for fid, why in sorted(gone.items()):
                print(f"stale: {fid}: {why}")
            return 1 if gone else 0
        return 0
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = sorted(findings.all, key=lambda f: (rank[f.severity], f.implementation, f.id))
    if args.json:
        print(json.dumps([f.model_dump(exclude_none=True) for f in rows], indent=1, ensure_ascii=False))
    else:
        for f in rows:
            print(f"{f.severity:13s} {f.implementation:15s} {f.id:45s} {f.title}")
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
    if args.runner == "docker":
        from .images import build_images

        failed += build_images(ivs, base_image=args.base_image)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
